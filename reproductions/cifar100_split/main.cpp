// cifar100_split: the paper's split-data experiment (cifar100_split.pt,
// repair_reference.md 4.3): two models trained on disjoint halves of
// CIFAR-100 (model A: 80% of the images of classes 0-49 and 20% of classes
// 50-99; model B: the rest), merged with REPAIR over 21 alphas, beside the
// output ensemble of the two and a model trained on all the data.
//
// Claims checked: REPAIR's merged model at alpha 0.5 (paper 62.07%) stays close
// to the endpoints (66.14/65.38), below the ensemble (75.63%) and the
// combined-data model (80.84%) (reproductions/cifar100_split/reference.json,
// from ../shared/reference/figure_data.csv). The architecture is not in the
// official repo, so we use a BatchNorm ResNet20 (width 4 by default) with the
// ResNet20 recipe, and REPAIR is its BatchNorm reset on the full training set;
// the paper preset is therefore judged on its numbers knowing that the model
// differs. Quick preset: 2 epochs, judged on the claims.
#include <iomanip>
#include <sstream>

#include "repairbench/metrics/evaluate.h"
#include "repairbench/report/paper_reference.h"
#include "harness/endpoint_cache.h"
#include "harness/plot.h"
#include "harness/target_cli.h"

namespace repairbench::harness {
namespace {

constexpr const char* kGapCause =
    "The paper's split-data architecture and recipe are not in the official repo (repair_reference.md section 3); "
    "ours is a BatchNorm ResNet20 with the ResNet20 recipe, so its endpoint accuracies differ and the comparison is "
    "of the pattern (merged vs ensemble vs combined data), not the exact numbers.";

int body(int argc, char** argv) {
  CommonFlags flags;
  flags.quick_epochs = 2;
  int64_t width = 4;
  double fraction = 0.8;
  po::options_description options("cifar100_split");
  add_common_flags(options, flags, "cifar100_split");
  options.add_options()
      ("width", po::value(&width)->default_value(width), "ResNet20 width multiplier")
      ("fraction", po::value(&fraction)->default_value(fraction), "share of classes 0-49 in model A's half");
  po::variables_map vm;
  if (!parse_target_flags(argc, argv, "The paper's split CIFAR-100 experiment: merge vs ensemble vs combined data.",
                          options, vm, flags)) {
    return 0;
  }
  auto& s = flags.settings;
  RB_CHECK(fraction > 0 && fraction < 1, kUsage, "--fraction must be in (0, 1)");
  harness::require_datasets(s, {"cifar100"});
  const auto reference = report::load_paper_reference("cifar100_split");
  const auto splits = harness::target_data(s, "cifar100");
  const auto halves = data::class_proportion_split(splits.train, fraction, 0);

  models::ModelConfig model;
  model.family = "resnet20";
  model.norm = models::Norm::kBatch;
  model.width = s.smoke ? 1 : width;
  auto p = harness::trained_point(s, model, "cifar100", {repair::RepairMethod::kResetBn});
  p.label = "cifar100 split x" + std::to_string(width);
  p.coords = {{"dataset", "cifar100"}, {"width", width}, {"fraction", fraction}};
  if (!s.smoke) p.merge.alphas = alpha_grid(21);
  p.paper = find_paper(s, reference, [](const nlohmann::json&) { return true; });
  if (p.paper) {
    // Our REPAIR of this BN net is its BatchNorm reset: compare it with the
    // paper's REPAIR curve.
    p.paper->corrected["reset-bn"] = p.paper->corrected.at("repair");
    p.paper->curves["reset-bn"] = p.paper->curves.at("repair");
  }
  const std::string train_name = p.base.dataset;
  auto spec_for = [&](const std::string& part, uint64_t seed) {
    harness::EndpointSpec spec = p.base;
    spec.dataset = train_name + part;
    spec.seed = seed;
    return spec;
  };
  p.endpoints = [&](int64_t k) {
    const uint64_t seed = static_cast<uint64_t>(2 * k + 1);
    return std::make_pair(
        harness::train_or_load(spec_for("-half-a", seed), {halves.first, splits.test}, s.cache_dir, s.retrain, s.device, &std::cerr),
        harness::train_or_load(spec_for("-half-b", seed + 1), {halves.second, splits.test}, s.cache_dir, s.retrain, s.device, &std::cerr));
  };
  const harness::SweepLayout layout{"ResNet20", "", false, false};
  const auto outcomes = harness::run_sweep(s, {p});
  auto checks = harness::sweep_checks(s, outcomes, layout);
  const auto& o = outcomes.front();
  RB_CHECK(o.error.empty(), kNumeric, o.error);

  // The ensemble curve of every pair and the combined-data model.
  std::cerr << "cifar100_split: ensemble curve and combined-data model\n";
  std::vector<double> ensemble_mid, merged_mid = o.midpoint("reset-bn"), ends = o.endpoint_accuracy();
  nlohmann::json ensembles = nlohmann::json::array();
  for (int64_t k = 0; k < s.pairs; ++k) {
    // A run collated from shards holds no networks: they come from the cache.
    const auto pair = s.collate ? p.endpoints(k) : std::make_pair(o.endpoints[2 * k], o.endpoints[2 * k + 1]);
    nlohmann::json curve = nlohmann::json::array();
    for (double alpha : p.merge.alphas) {
      const auto r = metrics::evaluate_ensemble(*pair.first.net, *pair.second.net, alpha, splits.test,
                                                p.merge.eval_batch_size, s.device);
      curve.push_back({{"alpha", alpha}, {"test_accuracy", r.accuracy}, {"test_loss", r.loss}});
      if (std::abs(alpha - 0.5) < 1e-9) ensemble_mid.push_back(r.accuracy);
    }
    ensembles.push_back(curve);
  }
  auto combined = harness::train_or_load(spec_for("-full", 1000), splits, s.cache_dir, s.retrain, s.device, &std::cerr);
  const auto combined_test = metrics::evaluate(*combined.net, splits.test, p.merge.eval_batch_size, s.device);

  const auto ens = harness::spread(ensemble_mid), mer = harness::spread(merged_mid), end = harness::spread(ends);
  const char* source = "figure_data.csv: cifar100_split.pt";
  if (s.judged_on_numbers() && p.paper) {
    const auto& raw = p.paper->raw;
    checks.push_back(harness::check_within("output ensemble at alpha 0.5, test accuracy", ens.mean, ens.std,
                                         raw.at("ensemble").at("test_accuracy").get<double>(),
                                         std::max(1.0, ens.std ? 2 * *ens.std : 0.0),
                                         "+-1 point (reference run-to-run noise), or 2 std over our pairs", source));
    checks.push_back(harness::check_within("combined-data model, test accuracy", combined_test.accuracy, std::nullopt,
                                         raw.at("combined_data").at("test_accuracy").get<double>(), 1.0,
                                         "+-1 point (reference run-to-run noise)", source));
  } else {
    checks.push_back(harness::check_at_least("output ensemble minus merged model at alpha 0.5 (points)",
                                           ens.mean - mer.mean, std::nullopt, 0.0,
                                           "the paper's figure: the ensemble (75.63%) beats the merged model (62.07%)",
                                           source));
    checks.push_back(harness::check_at_least("combined-data model minus mean endpoint (points)",
                                           combined_test.accuracy - end.mean, std::nullopt, 0.0,
                                           "the paper's figure: all the data (80.84%) beats either half (66.14/65.38%)",
                                           source));
  }
  auto plots = harness::sweep_plots(s, outcomes, layout);
  harness::Chart chart;
  chart.title = "Split CIFAR-100: merged (BN reset) vs output ensemble";
  chart.x_label = "alpha";
  chart.y_label = "test accuracy (%)";
  for (int64_t k = 0; k < s.pairs; ++k) {
    harness::Series merged{"merged + BN reset", {}, {}, true, false, 1}, ensemble{"output ensemble", {}, {}, true, false, 2};
    for (const auto& pt : o.merges[k].curves.back().points) {
      merged.x.push_back(pt.alpha);
      merged.y.push_back(pt.test.accuracy);
    }
    for (const auto& pt : ensembles[k]) {
      ensemble.x.push_back(pt.at("alpha").get<double>());
      ensemble.y.push_back(pt.at("test_accuracy").get<double>());
    }
    chart.series.push_back(merged);
    chart.series.push_back(ensemble);
  }
  if (p.paper) {
    const double combined_paper = p.paper->raw.at("combined_data").at("test_accuracy").get<double>();
    for (const auto& [name, color] : {std::make_pair(std::string("repair"), 1), std::make_pair(std::string("ensemble"), 2)}) {
      const auto& c = p.paper->curves.at(name);
      chart.series.push_back({"paper: " + name, c.alpha, c.value, true, true, color});
    }
    chart.series.push_back({"paper: combined data", {0.0, 1.0}, {combined_paper, combined_paper}, true, true, 3});
  }
  chart.series.push_back({"combined data", {0.0, 1.0}, {combined_test.accuracy, combined_test.accuracy}, true, false, 3});
  harness::save_chart_png(chart, s.out_dir + "/ensemble.png");
  plots.push_back("ensemble.png");
  std::ostringstream table;
  table << harness::sweep_table(outcomes) << std::fixed << std::setprecision(2) << "  output ensemble alpha 0.5: "
        << ens.mean;
  if (p.paper) table << " | paper " << p.paper->raw.at("ensemble").at("test_accuracy").get<double>();
  table << "\n  combined-data model: " << combined_test.accuracy;
  if (p.paper) table << " | paper " << p.paper->raw.at("combined_data").at("test_accuracy").get<double>();
  table << "\n";
  const nlohmann::json report = {
      {"settings", {{"dataset", "cifar100"}, {"model", model.describe()}, {"fraction", fraction},
                    {"alphas", p.merge.alphas}, {"repair", "reset-bn on the full training set"},
                    {"ensemble", "logits averaged with weights 1 - alpha, alpha"}}},
      {"results", harness::sweep_results_json(outcomes)},
      {"ensemble_curves", ensembles},
      {"combined_data", {{"path", combined.path}, {"test_accuracy", combined_test.accuracy},
                         {"test_loss", combined_test.loss}}},
      {"paper", {{"source", reference.at("source")}, {"points", harness::sweep_paper_json(outcomes)}}},
      {"plots", plots}};
  return harness::finish_target(s, report, checks, harness::sweep_findings(checks, kGapCause), table.str(),
                              flags.fail_on_mismatch, argc, argv);
}

}  // namespace
}  // namespace repairbench::harness

int main(int argc, char** argv) { return repairbench::harness::run_target(argc, argv, repairbench::harness::body); }
