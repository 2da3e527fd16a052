// `repairbench check-report` and `repairbench compare`: schema checks and
// regression diffs of JSON reports.
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "repairbench/core/error.h"
#include "repairbench/report/report_check.h"

namespace repairbench::cli {

int run_check_report(int argc, char** argv) {
  std::string path;
  po::options_description description("repairbench check-report");
  description.add_options()("help,h", "show this help")("report", po::value(&path)->required(), "report.json");
  po::positional_options_description positional;
  positional.add("report", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(description).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "Checks a report against the repairbench report schema.\n\n" << description << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    RB_FAIL(kUsage, e.what(), " (see --help)");
  }
  const auto problems = report::check_report(report::load_report(path), std::filesystem::path(path).parent_path().string());
  if (problems.empty()) {
    std::cout << path << ": ok\n";
    return 0;
  }
  std::string all;
  for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
  RB_FAIL(kUsage, path, " does not follow the report schema: ", all);
}

int run_compare(int argc, char** argv) {
  std::string old_path, new_path;
  double tolerance = 0.0;
  po::options_description description("repairbench compare");
  description.add_options()("help,h", "show this help")
      ("old", po::value(&old_path)->required(), "the earlier report")
      ("new", po::value(&new_path)->required(), "the later report")
      ("tolerance", po::value(&tolerance)->default_value(tolerance),
       "numbers that move by more than this count as changed (exit 1)");
  po::positional_options_description positional;
  positional.add("old", 1).add("new", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(description).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "Shows what changed between the results of two reports.\n\n" << description << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    RB_FAIL(kUsage, e.what(), " (see --help)");
  }
  const auto changes = report::compare_reports(report::load_report(old_path), report::load_report(new_path), tolerance);
  size_t significant = 0;
  for (const auto& c : changes) {
    if (!c.significant) continue;
    ++significant;
    std::cout << c.path << ": " << c.old_value << " -> " << c.new_value;
    if (c.difference != 0) std::cout << " (" << std::showpos << c.difference << std::noshowpos << ")";
    std::cout << "\n";
  }
  std::cout << significant << " change(s) beyond tolerance " << tolerance << ", " << changes.size() - significant
            << " within it\n";
  return significant == 0 ? 0 : 1;
}

}  // namespace repairbench::cli
