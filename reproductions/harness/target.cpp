#include "harness/target.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <optional>
#include <sstream>

#include "repairbench/core/atomic_file.h"
#include "repairbench/core/named.h"
#include "repairbench/core/clock.h"
#include "repairbench/core/error.h"
#include "repairbench/core/json_file.h"
#include "repairbench/data/registry.h"
#include "repairbench/data/synthetic.h"
#include "repairbench/report/context.h"

namespace repairbench::harness {
namespace {
constexpr Named<Preset> kPresetNames[] = {{Preset::kPaper, "paper"}, {Preset::kQuick, "quick"}};
}  // namespace

const char* preset_name(Preset preset) { return name_of(kPresetNames, preset); }

Preset parse_preset(const std::string& name) { return parse_named(kPresetNames, name, "--preset"); }

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

// A table cell: the number with two decimals, empty when there is none or
// it is not finite (a stored NaN reads back as NaN, see check_from_json).
std::string number(std::optional<double> v) {
  if (!v || !std::isfinite(*v)) return "";
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(2);
  s << *v;
  return s.str();
}

}  // namespace

data::DatasetSplits target_data(const TargetSettings& settings, const std::string& dataset) {
  // 128 training and 64 test images: the convolutional targets train and
  // evaluate at the paper's widths in smoke mode (ResNet18 at 64 channels),
  // and every pass over these sets is most of a smoke run's time.
  if (settings.smoke) return data::synthetic_splits(dataset, 128, 64, 7);
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

TargetContext target_context(const TargetSettings& settings, const StageSeconds& stages) {
  TargetContext c;
  c.target = settings.target;
  c.preset = preset_name(settings.preset);
  c.smoke = settings.smoke;
  c.pairs = settings.pairs;
  c.endpoint_cache = settings.cache_dir;
  c.stages = stages;
  return c;
}

std::string write_target_report(const TargetSettings& settings, TargetReport& report, int argc, char** argv) {
  report.run = report::run_context(settings.device.str(), argc, argv);
  report.context.total_seconds = seconds_since(kProcessStart);
  const std::string path = settings.out_dir + "/report.json";
  write_file_atomic(path, to_json(report).dump(1) + "\n");
  write_reports_index(reports_root(settings));
  return path;
}

void print_target_summary(std::ostream& out, const TargetSettings& settings, const TargetReport& report,
                          const std::string& table, const std::string& path) {
  const Verdict& verdict = report.verdict;
  // The verdict line names what it rests on: the pairs and the CPU and BLAS
  // kernel, which move every float (tests/regression/golden_platform.sh).
  out << table << "\nverdict (" << verdict.mode << "): " << verdict.result << ", " << verdict.summary << "; pairs";
  for (int64_t k = 0; k < report.context.pairs; ++k) out << " (" << 2 * k + 1 << "," << 2 * k + 2 << ")";
  out << "; CPU " << report.run.value("cpu", "unknown") << ", " << report.run.value("blas", "BLAS unknown");
  const std::string core = report.run.value("blas_core", "");
  if (!core.empty()) out << " (kernel " << core << ")";
  out << "\n" << std::fixed << std::setprecision(2);
  for (const auto& c : verdict.checks) {
    const std::string outcome = outcome_name(c);
    out << "  ["
        << (c.pass                                ? outcome
            : c.outcome == Outcome::kInconclusive ? "INCONCLUSIVE"
                                                  : "FAIL " + outcome)
        << (c.borderline ? ", borderline" : "") << "] " << c.metric << ": ours " << c.ours;
    if (c.ours_spread) out << " +- " << *c.ours_spread;
    if (c.paper)
      out << ", paper " << *c.paper << " (difference " << std::showpos << c.ours - *c.paper << std::noshowpos << ")";
    if (c.rule == Rule::kPrediction) {
      out << "; one new run of ours lies in " << c.ours - c.threshold << " .. " << c.ours + c.threshold
          << " (n = " << c.pairs << ", half-width " << c.threshold << ", margin " << std::showpos << c.margin
          << std::noshowpos << " = " << std::setprecision(0) << 100 * c.margin_share << std::setprecision(2)
          << " % of it)";
      if (c.outcome == Outcome::kInconclusive) {
        out << "; decides at a half-width <= " << c.resolution << ": ";
        if (c.pairs_to_decide > 0)
          out << c.pairs_to_decide << " pairs at this spread would";
        else
          out << "no number of pairs up to 100 at this spread would";
      }
      out << " (" << c.reason << ")\n";
    } else if (c.rule == Rule::kPairedClaim) {
      out << "; holds where >= 0: the mean over " << c.pairs << " pairs lies in " << c.ours - c.threshold << " .. "
          << c.ours + c.threshold << " (95 %)";
      if (c.outcome == Outcome::kInconclusive) {
        if (c.pairs_to_decide > 0)
          out << "; " << c.pairs_to_decide << " pairs at this spread would decide";
        else
          out << "; no number of pairs up to 100 at this spread would decide";
      }
      out << " (" << c.reason << "; " << c.source << ")\n";
    } else {
      out << "; at least " << c.threshold << " (" << c.reason << ")\n";
    }
  }
  for (const auto& f : report.findings) out << "finding: " << f << "\n";
  out << "report: " << path << "\nplots:";
  for (const auto& p : report.plots) out << " " << settings.out_dir << "/" << p;
  out << "\nindex: " << reports_root(settings) << "/index.html\n";
  const StageSeconds& stages = report.context.stages;
  out << std::setprecision(1) << "time of this run:";
  out << " training " << stages.training << " s, alignment " << stages.alignment << " s, repair_statistics "
      << stages.repair_statistics << " s, curves " << stages.curves << " s, total " << report.context.total_seconds
      << " s";
  if (report.context.shard_stages) {
    const StageSeconds& sh = *report.context.shard_stages;
    out << "; collated: its shards' processes spent training " << sh.training << " s, alignment " << sh.alignment
        << " s, repair_statistics " << sh.repair_statistics << " s, curves " << sh.curves << " s (summed)";
  }
  if (stages.training_cumulative > stages.training + 0.05) {
    out << "; the endpoints it trained took " << stages.training_cumulative
        << " s of training in all, earlier interrupted runs included";
  }
  out << "; peak memory " << std::setprecision(0) << report.run.value("peak_rss_mib", 0.0) << " MiB\n";
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
    TargetReport r;
    try {
      r = target_report_from_json(read_json_file(path.string()));
    } catch (const std::exception& e) {
      html << "<h2>" << html_escape(path.parent_path().filename().string())
           << "</h2><p>unreadable report: " << html_escape(e.what()) << "</p>\n";
      continue;
    }
    const Verdict& verdict = r.verdict;
    html << "<h2>" << html_escape(r.context.target) << "</h2>\n<p>"
         << "preset <b>" << html_escape(r.context.preset) << "</b>"
         << (r.context.smoke ? " (smoke run on synthetic data)" : "") << ", " << html_escape(r.run.value("date", ""))
         << ", commit " << html_escape(r.run.value("git_commit", "")) << ", verdict <b class=\""
         << (verdict.result == "pass" ? "pass" : "fail") << "\">" << html_escape(verdict.result) << "</b> ("
         << html_escape(verdict.mode) << ": " << html_escape(verdict.summary) << ")</p>\n";
    if (!verdict.checks.empty()) {
      html << "<table><tr><th>check</th><th>ours</th><th>std</th><th>paper</th><th>rule</th><th>outcome</th>"
           << "<th>why this tolerance</th></tr>\n";
      for (const auto& c : verdict.checks) {
        html << "<tr><td>" << html_escape(c.metric) << "</td><td>" << number(c.ours) << "</td><td>"
             << number(c.ours_spread) << "</td><td>" << number(c.paper) << "</td><td>"
             << (c.rule == Rule::kAtLeast ? "at least " : "within +- ") << number(c.threshold) << "</td><td class=\""
             << (c.pass ? "pass" : "fail") << "\">" << html_escape(outcome_name(c))
             << "</td><td style=\"text-align:left\">" << html_escape(c.reason) << "</td></tr>\n";
      }
      html << "</table>\n";
    }
    for (const auto& f : r.findings) html << "<p><b>finding:</b> " << html_escape(f) << "</p>\n";
    for (const auto& plot : r.plots) {
      const std::string rel = path.parent_path().filename().string() + "/" + plot;
      html << "<p><img src=\"" << html_escape(rel) << "\" alt=\"" << html_escape(rel) << "\"></p>\n";
    }
  }
  html << "</body></html>\n";
  write_file_atomic(root + "/index.html", html.str());
}

}  // namespace repairbench::harness
