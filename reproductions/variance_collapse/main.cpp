// variance_collapse: the paper's mechanism figure. Per layer, the std of the
// interpolated network's channels at alpha 0.5 over the interpolated endpoint
// std sigma* = (sigma0 + sigma1) / 2 (repair_reference.md 2c, "Why it works"),
// averaged over channels, before and after REPAIR.
//
// Claims checked: the ratio falls layer after layer (variance collapse) and
// REPAIR brings every layer back to 1. The paper stores no numbers for this
// figure (figure_data.csv has none), so both presets are judged on these
// claims. Default: the Fashion-MNIST MLP of the mlp_datasets target (width 128,
// 10 extra layers; its cached endpoints are reused) and, with CIFAR-10 present,
// the norm-free VGG11 of the README demo. Quick preset: the MLP only.
#include <iomanip>
#include <sstream>

#include "harness/plot.h"
#include "harness/target_cli.h"

namespace repairbench::harness {
namespace {

int body(int argc, char** argv) {
  CommonFlags flags;
  std::string models_flag;
  po::options_description options("variance_collapse");
  add_common_flags(options, flags, "variance_collapse");
  options.add_options()("models", po::value(&models_flag),
                        "comma list of mlp (Fashion-MNIST) and vgg11 (CIFAR-10, norm-free) (default: mlp,vgg11; "
                        "quick: mlp)");
  po::variables_map vm;
  if (!parse_target_flags(argc, argv, "Per-layer variance collapse of interpolated networks, before and after REPAIR.",
                          options, vm, flags)) {
    return 0;
  }
  auto& s = flags.settings;
  const auto names = split(!models_flag.empty() ? models_flag : (s.preset == "paper" ? "mlp,vgg11" : "mlp"));
  std::vector<std::string> datasets;
  for (const auto& n : names) {
    RB_CHECK(n == "mlp" || n == "vgg11", kUsage, "--models takes mlp and vgg11, got '", n, "'");
    datasets.push_back(n == "mlp" ? "fashion-mnist" : "cifar10");
  }
  harness::require_datasets(s, datasets);

  std::vector<harness::SweepPoint> points;
  for (size_t i = 0; i < names.size(); ++i) {
    models::ModelConfig model;
    model.family = names[i];
    model.width = names[i] == "mlp" ? (s.smoke ? 16 : 128) : 1;
    if (names[i] == "mlp") model.depth = 10;
    auto p = harness::trained_point(s, model, datasets[i], {repair::RepairMethod::kForward});
    p.label = names[i] + " " + datasets[i];
    p.group = p.label;
    p.coords = {{"model", names[i]}, {"dataset", datasets[i]}};
    points.push_back(std::move(p));
  }
  const auto outcomes = harness::run_sweep(s, points);

  std::vector<harness::Check> checks;
  std::vector<std::string> plots;
  nlohmann::json ratios = nlohmann::json::array();
  std::ostringstream table;
  table << std::fixed << std::setprecision(3);
  for (const auto& o : outcomes) {
    RB_CHECK(o.error.empty(), kNumeric, o.error);
    const auto& m = o.merges.front();
    harness::Chart chart;
    chart.title = o.point.label + ": std of the interpolated net / interpolated endpoint std (alpha 0.5)";
    chart.x_label = "layer";
    chart.y_label = "std ratio";
    harness::Series before{"aligned, interpolated", {}, {}, true, false, 0}, after{"+ REPAIR", {}, {}, true, false, 1};
    table << o.point.label << ": layer, ratio before, after REPAIR\n";
    double worst_after = 0;
    for (size_t l = 0; l < m.variance_ratios.size(); ++l) {
      const auto& r = m.variance_ratios[l];
      before.x.push_back(static_cast<double>(l + 1));
      before.y.push_back(r.before);
      after.x.push_back(static_cast<double>(l + 1));
      after.y.push_back(r.after.front());
      worst_after = std::max(worst_after, std::abs(r.after.front() - 1.0));
      table << "  " << std::setw(12) << r.point << " " << r.before << " " << r.after.front() << "\n";
      ratios.push_back({{"model", o.point.label}, {"layer", l + 1}, {"point", r.point}, {"before", r.before},
                        {"after_repair", r.after.front()}});
    }
    chart.series = {before, after};
    const std::string file = "variance_" + names[&o - &outcomes.front()] + ".png";
    harness::save_chart_png(chart, s.out_dir + "/" + file);
    plots.push_back(file);
    const double first = m.variance_ratios.front().before, last = m.variance_ratios.back().before;
    checks.push_back(harness::check_at_least(o.point.label + ": collapse, first-layer ratio minus last-layer ratio",
                                           first - last, std::nullopt, 0.0,
                                           "the paper's mechanism: the std ratio falls with depth", "paper, variance "
                                           "collapse section"));
    checks.push_back(harness::check_at_least(o.point.label + ": REPAIR, 0.1 minus the largest |ratio - 1| over layers",
                                           0.1 - worst_after, std::nullopt, 0.0,
                                           "REPAIR sets every corrected channel's std to sigma*; 10% allows for the "
                                           "fused eps and the train-mode pass (pitfall 2)",
                                           "paper, REPAIR definition"));
  }
  for (const auto& f : harness::sweep_plots(s, outcomes, {"", "", false, false})) plots.push_back(f);
  const nlohmann::json report = {{"settings", {{"models", names}, {"datasets", datasets}, {"alpha", 0.5},
                                               {"repair", "repair (forward pass)"}}},
                                 {"results", harness::sweep_results_json(outcomes)},
                                 {"variance_ratios", ratios},
                                 {"paper", {{"source", "no stored numbers for this figure (figure_data.csv)"}}},
                                 {"plots", plots}};
  return harness::finish_target(s, report, checks, {}, table.str(), flags.fail_on_mismatch, argc, argv, "qualitative");
}

}  // namespace
}  // namespace repairbench::harness

int main(int argc, char** argv) { return repairbench::harness::run_target(argc, argv, repairbench::harness::body); }
