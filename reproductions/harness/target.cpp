#include "harness/target.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "repairbench/core/atomic_file.h"
#include "repairbench/core/clock.h"
#include "repairbench/core/error.h"
#include "repairbench/data/registry.h"
#include "repairbench/data/synthetic.h"
#include "repairbench/report/context.h"

namespace repairbench::harness {
namespace {

// Wall time of the whole run: the report is written at its end.
const auto kProcessStart = std::chrono::steady_clock::now();

// The folder holding every target's report folder: the parent of out_dir
// ("reports" for reports/<target>, "." for a bare relative folder name).
std::string reports_root(const TargetSettings& settings) {
  auto dir = std::filesystem::absolute(settings.out_dir).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "reports/x/" names the folder x
  return dir.parent_path().string();
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string number(const nlohmann::json& v) {
  if (!v.is_number()) return "";
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(2);
  s << v.get<double>();
  return s.str();
}

}  // namespace

data::DatasetSplits target_data(const TargetSettings& settings, const std::string& dataset) {
  // Small enough that the convolutional targets' smoke runs take seconds on one core.
  if (settings.smoke) return data::synthetic_splits(dataset, 256, 128, 7);
  return data::load_dataset(dataset, settings.data_dir);
}

void require_datasets(const TargetSettings& settings, const std::vector<std::string>& datasets) {
  // Collating reads the shards' results: nothing is trained or merged here.
  if (settings.smoke || settings.collate) return;
  for (const auto& name : datasets) {
    // load_dataset throws the one-line message that says where to get the data.
    if (!data::dataset_available(name, settings.data_dir)) data::load_dataset(name, settings.data_dir);
  }
}

double midpoint_accuracy(const pipeline::Curve& curve) {
  for (const auto& p : curve.points) {
    if (std::abs(p.alpha - 0.5) < 1e-9) return p.test.accuracy;
  }
  RB_FAIL(kInternal, "curve ", curve.name, " has no point at alpha 0.5");
}

std::string write_target_report(const TargetSettings& settings, nlohmann::json& report, const StageSeconds& stages,
                                int argc, char** argv) {
  nlohmann::json context = report::run_context(settings.device.str(), argc, argv);
  context["target"] = settings.target;
  context["preset"] = settings.preset;
  context["smoke"] = settings.smoke;
  context["pairs"] = settings.pairs;
  nlohmann::json seeds = nlohmann::json::array();
  for (int64_t k = 0; k < settings.pairs; ++k) seeds.push_back({2 * k + 1, 2 * k + 2});
  context["seeds"] = seeds;
  context["endpoint_cache"] = settings.cache_dir;
  // stage_seconds: this process's wall time per stage, so they add up to at
  // most the total. A resumed endpoint training's earlier sessions are
  // reported apart, so the two cannot be mixed up (issue #17).
  context["stage_seconds"] = to_json(stages);
  context["stage_seconds"]["total"] = seconds_since(kProcessStart);
  if (stages.training_cumulative > 0) context["endpoint_cumulative_training_seconds"] = stages.training_cumulative;
  report["format_version"] = 1;
  report["kind"] = "reproduction";
  report["context"] = context;
  const std::string path = settings.out_dir + "/report.json";
  write_file_atomic(path, report.dump(1) + "\n");
  write_reports_index(reports_root(settings));
  return path;
}

int finish_target(const TargetSettings& settings, nlohmann::json report, const StageSeconds& stages,
                  const std::vector<Check>& checks, const std::vector<std::string>& findings, const std::string& table,
                  bool fail_on_mismatch, int argc, char** argv, const std::string& mode) {
  const bool numbers = settings.judged_on_numbers();
  const auto verdict = make_verdict(!mode.empty() ? mode : (numbers ? "paper-numbers" : "qualitative"), checks);
  report["verdict"] = to_json(verdict);
  report["findings"] = findings;
  const std::string path = write_target_report(settings, report, stages, argc, argv);
  std::cout << table << "\nverdict (" << verdict.mode << "): " << verdict.result << ", " << verdict.summary << "\n";
  std::cout << std::fixed << std::setprecision(2);
  for (const auto& c : verdict.checks) {
    std::cout << "  [" << (c.pass ? "pass" : "FAIL") << "] " << c.metric << ": ours " << c.ours;
    if (c.ours_spread) std::cout << " +- " << *c.ours_spread;
    if (c.paper)
      std::cout << ", paper " << *c.paper << " (difference " << std::showpos << c.ours - *c.paper << std::noshowpos
                << ")";
    std::cout << "; " << c.rule << " " << c.threshold << " (" << c.reason << ")\n";
  }
  for (const auto& f : findings) std::cout << "finding: " << f << "\n";
  std::cout << "report: " << path << "\nplots:";
  for (const auto& p : report.value("plots", nlohmann::json::array())) {
    std::cout << " " << settings.out_dir << "/" << p.get<std::string>();
  }
  std::cout << "\nindex: " << reports_root(settings) << "/index.html\n";
  const auto& context = report["context"];
  std::cout << std::setprecision(1) << "time of this run:";
  std::cout << " training " << stages.training << " s, alignment " << stages.alignment << " s, repair_statistics "
            << stages.repair_statistics << " s, curves " << stages.curves << " s, total "
            << context["stage_seconds"]["total"].get<double>() << " s";
  if (stages.training_cumulative > stages.training + 0.05) {
    std::cout << "; the endpoints it trained took " << stages.training_cumulative
              << " s of training in all, earlier interrupted sessions included";
  }
  std::cout << "; peak memory " << std::setprecision(0) << context["peak_rss_mib"].get<double>() << " MiB\n";
  return (fail_on_mismatch && verdict.result == "fail") ? 1 : 0;
}

void write_reports_index(const std::string& root) {
  namespace fs = std::filesystem;
  std::vector<fs::path> reports;
  if (fs::is_directory(root)) {
    for (const auto& entry : fs::directory_iterator(root)) {
      if (fs::exists(entry.path() / "report.json")) reports.push_back(entry.path() / "report.json");
    }
  }
  std::sort(reports.begin(), reports.end());
  std::ostringstream html;
  html << "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>repairbench reports</title>\n"
       << "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
       << "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child{text-align:left}"
       << ".pass{color:#070}.fail{color:#a00}img{max-width:100%}</style></head><body>\n"
       << "<h1>repairbench reports</h1>\n";
  for (const auto& path : reports) {
    nlohmann::json r;
    try {
      r = nlohmann::json::parse(read_file(path.string()));
    } catch (const std::exception& e) {
      html << "<h2>" << html_escape(path.parent_path().filename().string())
           << "</h2><p>unreadable report: " << html_escape(e.what()) << "</p>\n";
      continue;
    }
    const auto& ctx = r.value("context", nlohmann::json::object());
    const auto& verdict = r.value("verdict", nlohmann::json::object());
    const std::string result = verdict.value("result", "n/a");
    html << "<h2>" << html_escape(ctx.value("target", path.parent_path().filename().string())) << "</h2>\n<p>"
         << "preset <b>" << html_escape(ctx.value("preset", "?")) << "</b>"
         << (ctx.value("smoke", false) ? " (smoke run on synthetic data)" : "") << ", "
         << html_escape(ctx.value("date", "")) << ", commit " << html_escape(ctx.value("git_commit", ""))
         << ", verdict <b class=\"" << (result == "pass" ? "pass" : "fail") << "\">" << html_escape(result) << "</b> ("
         << html_escape(verdict.value("mode", "")) << ": " << html_escape(verdict.value("summary", "")) << ")</p>\n";
    if (verdict.contains("checks") && !verdict["checks"].empty()) {
      html << "<table><tr><th>check</th><th>ours</th><th>std</th><th>paper</th><th>rule</th><th>pass</th>"
           << "<th>why this tolerance</th></tr>\n";
      for (const auto& c : verdict["checks"]) {
        html << "<tr><td>" << html_escape(c.value("metric", "")) << "</td><td>" << number(c["ours"]) << "</td><td>"
             << number(c["ours_std"]) << "</td><td>" << number(c["paper"]) << "</td><td>"
             << html_escape(c.value("rule", "")) << " " << number(c["threshold"]) << "</td><td class=\""
             << (c.value("pass", false) ? "pass\">yes" : "fail\">no") << "</td><td style=\"text-align:left\">"
             << html_escape(c.value("reason", "")) << "</td></tr>\n";
      }
      html << "</table>\n";
    }
    for (const auto& f : r.value("findings", nlohmann::json::array())) {
      html << "<p><b>finding:</b> " << html_escape(f.get<std::string>()) << "</p>\n";
    }
    for (const auto& plot : r.value("plots", nlohmann::json::array())) {
      const std::string rel = path.parent_path().filename().string() + "/" + plot.get<std::string>();
      html << "<p><img src=\"" << html_escape(rel) << "\" alt=\"" << html_escape(rel) << "\"></p>\n";
    }
  }
  html << "</body></html>\n";
  write_file_atomic(root + "/index.html", html.str());
}

}  // namespace repairbench::harness
