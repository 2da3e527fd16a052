// `repairbench check-report`, `repairbench compare` and `repairbench report
// merge`: schema checks, regression diffs and collating a sharded sweep.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>

#include "cli_common.h"
#include "commands.h"
#include "harness/sweep.h"
#include "repairbench/core/error.h"
#include "repairbench/report/report_check.h"

extern char** environ;

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
  const auto problems =
      report::check_report(report::load_report(path), std::filesystem::path(path).parent_path().string());
  if (problems.empty()) {
    std::cout << path << ": ok\n";
    return 0;
  }
  std::string all;
  for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
  RB_FAIL(kUsage, path, " does not follow the report schema: ", all);
}

int run_compare(int argc, char** argv) {
  std::string old_path, new_path, tolerances_path;
  double tolerance = 0.0;
  po::options_description description("repairbench compare");
  description.add_options()("help,h", "show this help")("old", po::value(&old_path)->required(), "the earlier report")(
      "new", po::value(&new_path)->required(), "the later report")(
      "tolerance", po::value(&tolerance)->default_value(tolerance),
      "numbers that move by more than this count as changed (exit 1)")(
      "tolerances", po::value(&tolerances_path),
      "per-metric rules instead, a JSON file {\"rules\": [{\"pattern\", \"abs\", \"rel\", \"why\"}]} "
      "(e.g. tests/regression/tolerances.json)");
  po::positional_options_description positional;
  positional.add("old", 1).add("new", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(description).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "Shows what changed between the results of two reports. Exit status: 0 no change beyond the "
                   "tolerance,\n1 the reports differ, 2 usage, 6 a report or tolerances file that cannot be read, "
                   "70 internal error.\n\n"
                << description << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    RB_FAIL(kUsage, e.what(), " (see --help)");
  }
  RB_CHECK(tolerances_path.empty() || vm["tolerance"].defaulted(), kUsage,
           "give --tolerance or --tolerances, not both");
  const report::Tolerances tolerances =
      tolerances_path.empty() ? report::uniform_tolerance(tolerance) : report::load_tolerances(tolerances_path);
  const nlohmann::json old_report = report::load_report(old_path), new_report = report::load_report(new_path);
  const auto changes = report::compare_reports(old_report, new_report, tolerances);
  size_t significant = 0;
  std::map<std::string, std::string> broken;  // rule pattern -> why, printed once after the changes
  for (const auto& c : changes) {
    if (!c.significant) continue;
    ++significant;
    std::cout << c.path << ": " << c.old_value << " -> " << c.new_value;
    if (c.difference != 0) std::cout << " (" << std::showpos << c.difference << std::noshowpos << ")";
    if (!tolerances_path.empty() && !c.rule.pattern.empty()) {
      std::cout << ", beyond rule '" << c.rule.pattern << "' (abs " << c.rule.abs << ", rel " << c.rule.rel << ")";
      broken[c.rule.pattern] = c.rule.why;
    }
    std::cout << "\n";
  }
  for (const auto& [pattern, why] : broken) std::cout << "rule '" << pattern << "': " << why << "\n";
  // Group by group, how much of the alignment two runs (or tools) share.
  size_t identical = 0;
  const auto agreements = report::permutation_agreement(old_report, new_report);
  for (const auto& p : agreements) {
    if (p.equal == p.size) {
      ++identical;
      continue;
    }
    std::cout << "permutation " << p.path << ": " << p.equal << " of " << p.size << " positions equal (" << std::fixed
              << std::setprecision(1) << 100.0 * static_cast<double>(p.equal) / static_cast<double>(p.size) << " %)\n"
              << std::defaultfloat;
  }
  if (!agreements.empty()) {
    std::cout << identical << " of " << agreements.size() << " group permutations identical\n";
  }
  std::cout << significant << " change(s) beyond ";
  if (tolerances_path.empty())
    std::cout << "tolerance " << tolerance;
  else
    std::cout << "the rules of " << tolerances_path;
  std::cout << ", " << changes.size() - significant << " within it\n";
  return significant == 0 ? 0 : 1;
}

namespace {

// The reproduction targets of this build (reproductions/CMakeLists.txt,
// REPAIRBENCH_TARGETS): the only programs `report merge` runs.
std::vector<std::string> target_table() {
  std::vector<std::string> names;
  std::string all = REPAIRBENCH_TARGETS;
  for (size_t start = 0; start <= all.size();) {
    const size_t comma = std::min(all.find(',', start), all.size());
    if (comma > start) names.push_back(all.substr(start, comma - start));
    start = comma + 1;
  }
  return names;
}

}  // namespace

int run_report(int argc, char** argv) {
  std::string action, shards_dir, binary;
  po::options_description description("repairbench report merge");
  description.add_options()("help,h", "show this help")("action", po::value(&action)->required(), "merge")(
      "shards", po::value(&shards_dir)->required(), "the shards' folder, <out-dir>/shards of the target")(
      "binary", po::value(&binary), "the target's executable (default: repro_<target> of this build)");
  po::positional_options_description positional;
  positional.add("action", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(description).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "Collates the shard reports of a sharded reproduction (--shard k/n) into the target's report "
                   "and plots,\nby running this build's target of the shards' name with --collate. A shard report "
                   "is data:\nit names the target, never a program, and its flags are read by the target's own "
                   "option table.\n\n"
                << description << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    RB_FAIL(kUsage, e.what(), " (see --help)");
  }
  RB_CHECK(action == "merge", kUsage, "unknown report action '", action, "'; expected merge");
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path shards_path = fs::weakly_canonical(fs::absolute(shards_dir), ec);
  RB_CHECK(!ec && shards_path.filename() == "shards", kUsage, "--shards ", shards_dir,
           " is not a folder named shards; give <out-dir>/shards of the sharded target");
  const auto shards = harness::load_shard_reports(shards_path.string());
  const std::string& target = shards.front().target;
  const auto table = target_table();
  RB_CHECK(std::find(table.begin(), table.end(), target) != table.end(), kUsage, "the shards in ", shards_dir,
           " name the target '", target, "', which this build does not have; the targets are ", REPAIRBENCH_TARGETS);
  // The build lays out apps/repairbench beside reproductions/repro_<target>.
  if (binary.empty()) {
    binary = (fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "reproductions" / ("repro_" + target))
                 .string();
  }
  RB_CHECK(::access(binary.c_str(), X_OK) == 0, kUsage, "cannot run the target's executable ", binary,
           "; build it (cmake --build build --target repro_", target, ") or give it with --binary");
  // Everything the child gets is ours: the sweep's flags stay in the shard
  // reports, where the target reads them (--collate with --out-dir alone).
  std::vector<std::string> args = {binary, "--collate", "--out-dir", shards_path.parent_path().string()};
  size_t runs = 0;
  for (const auto& shard : shards) runs += shard.runs.size();
  std::cerr << "collating " << shards.size() << " shard(s) of " << target << " (" << runs << " run(s)):";
  for (const auto& a : args) std::cerr << " " << a;
  std::cerr << "\n";
  std::vector<char*> child_argv;
  for (auto& a : args) child_argv.push_back(a.data());
  child_argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, binary.c_str(), nullptr, nullptr, child_argv.data(), environ);
  RB_CHECK(spawned == 0, kIo, "could not start ", binary, ": ", std::strerror(spawned));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    RB_CHECK(errno == EINTR, kIo, "waiting for ", binary, " failed: ", std::strerror(errno));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  RB_FAIL(kInternal, binary, " was killed by signal ", WTERMSIG(status));
}

}  // namespace repairbench::cli
