#include "harness/comparisons.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "repairbench/core/error.h"
#include "repairbench/metrics/evaluate.h"

namespace repairbench::harness {

std::vector<Series> EnsembleCurves::series(const PointOutcome& o, const std::string& curve) const {
  std::vector<Series> out;
  for (size_t k = 0; k < o.merges.size() && k < curves.size(); ++k) {
    Series merged{"merged + " + curve, {}, {}, true, false, 1}, ensemble{"output ensemble", {}, {}, true, false, 2};
    for (const auto& c : o.merges[k].curves) {
      if (c.name != curve) continue;
      for (const auto& pt : c.points) {
        merged.x.push_back(pt.alpha);
        merged.y.push_back(pt.test.accuracy);
      }
    }
    for (const auto& pt : curves[k]) {
      ensemble.x.push_back(pt.at("alpha").get<double>());
      ensemble.y.push_back(pt.at("test_accuracy").get<double>());
    }
    out.push_back(std::move(merged));
    out.push_back(std::move(ensemble));
  }
  return out;
}

EnsembleCurves output_ensembles(const TargetSettings& settings, const PointOutcome& o, const data::Dataset& test) {
  RB_CHECK(!settings.collate || o.point.endpoints, kUsage, "point ", o.point.label,
           " cannot load its endpoints again for the output ensemble of a collated run");
  // The pairs that ran, in order: merges[i] and endpoints[2i], [2i + 1] are
  // those of pair ran[i] (diverged pairs have neither).
  std::vector<int64_t> ran;
  for (int64_t k = 0; ran.size() < o.merges.size(); ++k) {
    const bool diverged = std::any_of(o.diverged.begin(), o.diverged.end(), [k](const auto& d) { return d.pair == k; });
    if (!diverged) ran.push_back(k);
  }
  std::cerr << settings.target << ": " << o.point.label << ", output ensembles of " << ran.size() << " pair(s)\n";
  EnsembleCurves out;
  for (size_t i = 0; i < ran.size(); ++i) {
    const auto pair =
        settings.collate ? o.point.endpoints(ran[i]) : std::make_pair(o.endpoints[2 * i], o.endpoints[2 * i + 1]);
    nlohmann::json curve = nlohmann::json::array();
    for (double alpha : o.point.merge.alphas) {
      const auto r = metrics::evaluate_ensemble(*pair.first.net, *pair.second.net, alpha, test,
                                                o.point.merge.eval_batch_size, settings.device);
      curve.push_back({{"alpha", alpha}, {"test_accuracy", r.accuracy}, {"test_loss", r.loss}});
      if (std::abs(alpha - 0.5) < 1e-9) out.midpoint.push_back(r.accuracy);
    }
    out.curves.push_back(curve);
  }
  return out;
}

Extension split_data_comparison(const TargetSettings& settings, const PointOutcome& o, const std::string& curve,
                                const EnsembleCurves& ensembles, const Endpoint& combined_endpoint,
                                const data::Dataset& test) {
  const auto combined = metrics::evaluate(*combined_endpoint.net, test, o.point.merge.eval_batch_size, settings.device);
  const auto ens = spread(ensembles.midpoint), mer = spread(o.midpoint(curve)), end = spread(o.endpoint_accuracy());
  const auto* paper = o.point.paper ? &*o.point.paper : nullptr;
  auto paper_number = [&](const char* key) { return paper->raw.at(key).at("test_accuracy").get<double>(); };
  const char* source = "figure_data.csv: cifar100_split.pt";
  Extension ext;
  if (settings.judged_on_numbers() && paper) {
    // The ensemble's and the combined-data model's accuracies are judged like endpoints.
    const PaperTolerance& endpoint_like = kEndpointTolerance;
    ext.checks.push_back(judge_against_paper("output ensemble at alpha 0.5, test accuracy", ensembles.midpoint,
                                             paper_number("ensemble"), endpoint_like, source));
    // One combined-data model per run: a single value cannot decide (n < 3).
    ext.checks.push_back(judge_against_paper("combined-data model, test accuracy", {combined.accuracy},
                                             paper_number("combined_data"), endpoint_like, source));
  } else {
    ext.checks.push_back(
        check_at_least("output ensemble minus merged model at alpha 0.5 (points)", ens.mean - mer.mean, std::nullopt,
                       0.0, "the paper's figure: the ensemble (75.63%) beats the merged model (62.07%)", source));
    ext.checks.push_back(
        check_at_least("combined-data model minus mean endpoint (points)", combined.accuracy - end.mean, std::nullopt,
                       0.0, "the paper's figure: all the data (80.84%) beats either half (66.14/65.38%)", source));
  }
  Chart chart;
  chart.title = "Split CIFAR-100: merged (" + curve + ") vs output ensemble";
  chart.x_label = "alpha";
  chart.y_label = "test accuracy (%)";
  chart.series = ensembles.series(o, curve);
  if (paper) {
    for (const auto& [name, color] :
         {std::make_pair(std::string("repair"), 1), std::make_pair(std::string("ensemble"), 2)}) {
      const auto& c = paper->curves.at(name);
      chart.series.push_back({"paper: " + name, c.alpha, c.value, true, true, color});
    }
    const double all = paper_number("combined_data");
    chart.series.push_back({"paper: combined data", {0.0, 1.0}, {all, all}, true, true, 3});
  }
  chart.series.push_back({"combined data", {0.0, 1.0}, {combined.accuracy, combined.accuracy}, true, false, 3});
  save_chart_png(chart, settings.out_dir + "/ensemble.png");
  ext.plots.push_back("ensemble.png");
  std::ostringstream table;
  table << std::fixed << std::setprecision(2) << "  output ensemble alpha 0.5: " << ens.mean;
  if (paper) table << " | paper " << paper_number("ensemble");
  table << "\n  combined-data model: " << combined.accuracy;
  if (paper) table << " | paper " << paper_number("combined_data");
  table << "\n";
  ext.table = table.str();
  ext.report["ensemble_curves"] = ensembles.curves;
  ext.report["combined_data"] = {
      {"path", combined_endpoint.path}, {"test_accuracy", combined.accuracy}, {"test_loss", combined.loss}};
  return ext;
}

Extension per_layer_variance(const TargetSettings& settings, const std::vector<PointOutcome>& outcomes,
                             const std::vector<std::string>& stems) {
  Extension ext;
  nlohmann::json ratios = nlohmann::json::array();
  std::ostringstream table;
  table << std::fixed << std::setprecision(3);
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const auto& o = outcomes[i];
    RB_CHECK(o.error.empty(), kNumeric, o.error);
    const auto& m = o.merges.front();
    RB_CHECK(!m.variance_ratios.empty() && !m.variance_ratios.front().after.empty(), kUsage, "point ", o.point.label,
             " measured no variance ratios after a correction");
    Chart chart;
    chart.title = o.point.label + ": std of the interpolated net / interpolated endpoint std (alpha 0.5, test set)";
    chart.x_label = "layer";
    chart.y_label = "std ratio";
    Series before{"aligned, interpolated", {}, {}, true, false, 0}, after{"+ REPAIR", {}, {}, true, false, 1};
    table << o.point.label << ": layer, ratio before, after REPAIR on the test set\n";
    // Judged and drawn on the test set, which REPAIR did not see; the
    // statistics data's ratios (1 after REPAIR by construction) are reported too.
    double worst_after = 0;
    for (size_t l = 0; l < m.variance_ratios.size(); ++l) {
      const auto& r = m.variance_ratios[l];
      before.x.push_back(static_cast<double>(l + 1));
      before.y.push_back(r.held_out_before);
      after.x.push_back(static_cast<double>(l + 1));
      after.y.push_back(r.held_out_after.front());
      worst_after = std::max(worst_after, std::abs(r.held_out_after.front() - 1.0));
      table << "  " << std::setw(12) << r.point << " " << r.held_out_before << " " << r.held_out_after.front()
            << " (statistics data: " << r.before << " " << r.after.front() << ")\n";
      ratios.push_back({{"model", o.point.label},
                        {"layer", l + 1},
                        {"point", r.point},
                        {"test_set_before", r.held_out_before},
                        {"test_set_after_repair", r.held_out_after.front()},
                        {"statistics_data_before", r.before},
                        {"statistics_data_after_repair", r.after.front()}});
    }
    chart.series = {before, after};
    const std::string file = "variance_" + stems.at(i) + ".png";
    save_chart_png(chart, settings.out_dir + "/" + file);
    ext.plots.push_back(file);
    const double first = m.variance_ratios.front().held_out_before, last = m.variance_ratios.back().held_out_before;
    ext.checks.push_back(check_at_least(
        o.point.label + ": collapse, first-layer ratio minus last-layer ratio", first - last, std::nullopt, 0.0,
        "the paper's mechanism: the std ratio falls with depth", "paper, variance collapse section"));
    ext.checks.push_back(
        check_at_least(o.point.label + ": REPAIR, 0.1 minus the largest |ratio - 1| over layers, test set",
                       0.1 - worst_after, std::nullopt, 0.0,
                       "REPAIR sets every corrected channel's std to sigma*; 10% allows for the "
                       "fused eps and the train-mode pass (docs/reference/algorithm.md §5.2)",
                       "paper, REPAIR definition"));
  }
  ext.report["variance_ratios"] = ratios;
  ext.table = table.str();
  return ext;
}

}  // namespace repairbench::harness
