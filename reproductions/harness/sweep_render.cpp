#include <cmath>
#include <iomanip>
#include <sstream>

#include "harness/plot.h"
#include "harness/sweep.h"
#include "repairbench/core/error.h"
#include "repairbench/report/merge_report.h"

// Rendering a sweep: its report JSON, plots and text table.

namespace repairbench::harness {
namespace {

std::string file_stem(const std::string& label) {
  std::string out;
  for (char c : label) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
  return out;
}

nlohmann::json spread_json(const std::vector<double>& values) {
  const auto s = spread(values);
  return {{"mean", s.mean}, {"std", s.std ? nlohmann::json(*s.std) : nlohmann::json(nullptr)}, {"values", values}};
}

// The paper's test accuracy at alpha 0.5 on curve `name`, NaN when it has none.
double paper_midpoint(const PaperPoint& p, const std::string& name) {
  if (name == "interpolated") return p.interpolated.value_or(NAN);
  const auto it = p.corrected.find(name);
  return it == p.corrected.end() ? NAN : it->second;
}

std::string pretty(const std::string& curve) {
  if (curve == "interpolated") return "aligned";
  if (curve == "repair") return "aligned + REPAIR";
  return "aligned + " + curve;
}

}  // namespace

nlohmann::json sweep_results_json(const std::vector<PointOutcome>& outcomes) {
  nlohmann::json results = nlohmann::json::array();
  for (const auto& o : outcomes) {
    if (!o.error.empty()) {
      nlohmann::json entry = o.point.coords;
      entry["label"] = o.point.label;
      entry["error"] = o.error;
      results.push_back(entry);
      continue;
    }
    nlohmann::json summary = {{"endpoint_test_accuracy", spread_json(o.endpoint_accuracy())}};
    for (const auto& curve : o.curve_names()) {
      summary["midpoint_test_accuracy"][curve] = spread_json(o.midpoint(curve));
      summary["barrier"][curve] = spread_json(o.barrier(curve));
      if (curve != "interpolated") summary["relative_reduction"][curve] = spread_json(o.reduction(curve));
    }
    nlohmann::json pairs = nlohmann::json::array();
    for (size_t k = 0; k < o.merges.size(); ++k) {
      pairs.push_back({{"endpoint_a", to_json(o.endpoints[2 * k])},
                       {"endpoint_b", to_json(o.endpoints[2 * k + 1])},
                       {"merge", report::merge_results_json(o.merges[k])}});
    }
    nlohmann::json entry = o.point.coords;
    entry["label"] = o.point.label;
    entry["dataset"] = o.point.dataset;
    if (!o.point.endpoints) {
      entry["model"] = o.point.base.model;
      entry["recipe"] = o.point.base.recipe;
    }
    entry["statistics_data"] = {{"batch_size", o.point.stats.batch_size},
                                {"augment", o.point.stats.augment.describe()},
                                {"source", o.point.stats_source}};
    entry["summary"] = summary;
    entry["pairs"] = pairs;
    if (!o.diverged.empty()) {
      nlohmann::json diverged = nlohmann::json::array();
      for (const auto& d : o.diverged) diverged.push_back({{"pair", d.pair}, {"error", d.error}});
      entry["diverged_pairs"] = diverged;
    }
    results.push_back(entry);
  }
  return results;
}

nlohmann::json sweep_paper_json(const std::vector<PointOutcome>& outcomes) {
  nlohmann::json points = nlohmann::json::array();
  for (const auto& o : outcomes) {
    if (!o.point.paper) continue;
    nlohmann::json entry = o.point.paper->raw;
    entry["label"] = o.point.label;
    entry["source"] = o.point.paper->source;
    points.push_back(entry);
  }
  return points;
}

std::vector<std::string> sweep_plots(const TargetSettings& settings, const std::vector<PointOutcome>& outcomes,
                                     const SweepLayout& layout) {
  std::vector<std::string> files;
  std::vector<std::string> groups;
  for (const auto& o : outcomes) {
    if (o.merges.empty()) continue;
    Chart chart;
    chart.title = layout.model + " " + o.point.label + ": test accuracy along the path";
    chart.x_label = "alpha";
    chart.y_label = "test accuracy (%)";
    const auto names = o.curve_names();
    for (size_t k = 0; k < o.merges.size(); ++k) {
      for (size_t c = 0; c < names.size(); ++c) {
        Series series;
        series.label = pretty(names[c]) + (o.merges.size() > 1 ? " pair " + std::to_string(k + 1) : "");
        series.color = static_cast<int>(c);
        for (const auto& pt : curve_named(o.merges[k], names[c]).points) {
          series.x.push_back(pt.alpha);
          series.y.push_back(pt.test.accuracy);
        }
        chart.series.push_back(series);
      }
    }
    if (o.point.paper) {
      const auto& p = *o.point.paper;
      for (size_t c = 0; c < names.size(); ++c) {
        const auto full = p.curves.find(names[c]);
        if (full != p.curves.end()) {
          chart.series.push_back(
              {"paper: " + pretty(names[c]), full->second.alpha, full->second.value, true, true, static_cast<int>(c)});
          continue;
        }
        const double mid = paper_midpoint(p, names[c]);
        if (std::isfinite(mid)) {
          chart.series.push_back({"paper: " + pretty(names[c]),
                                  {0.0, 0.5, 1.0},
                                  {p.endpoint0, mid, p.endpoint1},
                                  false,
                                  false,
                                  static_cast<int>(c)});
        }
      }
    }
    const std::string file = "curves_" + file_stem(o.point.label) + ".png";
    save_chart_png(chart, settings.out_dir + "/" + file);
    files.push_back(file);
    if (std::find(groups.begin(), groups.end(), o.point.group) == groups.end()) groups.push_back(o.point.group);
  }
  for (const auto& group : groups) {
    std::vector<const PointOutcome*> members;
    for (const auto& o : outcomes) {
      if (o.point.group == group && !o.merges.empty()) members.push_back(&o);
    }
    if (members.size() < 2) continue;
    Chart chart;
    chart.title = layout.model + (group.empty() ? "" : " " + group) + ": accuracy barrier at alpha 0.5";
    chart.x_label = layout.x_label;
    chart.y_label = "barrier (points)";
    chart.log_x = layout.log_x;
    const auto names = members.front()->curve_names();
    for (size_t c = 0; c < names.size(); ++c) {
      Series ours{"ours: " + pretty(names[c]), {}, {}, true, false, static_cast<int>(c)};
      Series paper{"paper: " + pretty(names[c]), {}, {}, false, false, static_cast<int>(c)};
      for (const auto* o : members) {
        ours.x.push_back(o->point.x);
        ours.y.push_back(spread(o->barrier(names[c])).mean);
        if (!o->point.paper) continue;
        const auto& p = *o->point.paper;
        const double ends = 0.5 * (p.endpoint0 + p.endpoint1);
        const double mid = paper_midpoint(p, names[c]);
        if (std::isfinite(mid)) {
          paper.x.push_back(o->point.x);
          paper.y.push_back(ends - mid);
        }
      }
      chart.series.push_back(ours);
      if (!paper.x.empty()) chart.series.push_back(paper);
    }
    const std::string file = "barrier_" + file_stem(group.empty() ? "all" : group) + ".png";
    save_chart_png(chart, settings.out_dir + "/" + file);
    files.push_back(file);
  }
  return files;
}

std::string sweep_table(const std::vector<PointOutcome>& outcomes) {
  std::ostringstream t;
  t << std::fixed << std::setprecision(2);
  for (const auto& o : outcomes) {
    if (!o.error.empty()) {
      t << o.point.label << ": no result (" << o.error << ")\n";
      continue;
    }
    const auto names = o.curve_names();
    const auto* paper = o.point.paper ? &*o.point.paper : nullptr;
    const auto endpoint_spread = spread(o.endpoint_accuracy());
    t << o.point.label << ": endpoints " << endpoint_spread.mean;
    if (endpoint_spread.std) t << " +- " << *endpoint_spread.std;
    if (paper) t << " (paper " << 0.5 * (paper->endpoint0 + paper->endpoint1) << ")";
    t << "; " << o.merges.size() << (o.merges.size() == 1 ? " pair" : " pairs, mean +- std");
    if (!o.diverged.empty()) t << " (" << o.diverged.size() << " more diverged)";
    t << "\n";
    for (const auto& name : names) {
      const auto mid = spread(o.midpoint(name));
      t << "  " << std::left << std::setw(18) << pretty(name) << std::right << " alpha 0.5: " << std::setw(6)
        << mid.mean;
      if (mid.std) t << " +- " << *mid.std;
      t << "  barrier " << std::setw(6) << spread(o.barrier(name)).mean;
      if (name != "interpolated") t << "  reduction " << std::setw(6) << 100 * spread(o.reduction(name)).mean << "%";
      if (paper) {
        const double p = paper_midpoint(*paper, name);
        if (std::isfinite(p)) {
          const double ends = 0.5 * (paper->endpoint0 + paper->endpoint1);
          const double before = ends - paper_midpoint(*paper, "interpolated");
          t << "  | paper " << p << ", barrier " << ends - p;
          if (name != "interpolated" && std::isfinite(before))
            t << ", reduction " << 100 * (before - (ends - p)) / before << "%";
        }
      }
      t << "\n";
    }
  }
  return t.str();
}

}  // namespace repairbench::harness
