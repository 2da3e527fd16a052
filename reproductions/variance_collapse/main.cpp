// variance_collapse: the paper's mechanism figure. Per layer, the std of the
// interpolated network's channels at alpha 0.5 over the interpolated endpoint
// std sigma* = (sigma0 + sigma1) / 2 (docs/reference/algorithm.md §2c, "Why it works"),
// averaged over channels, before and after REPAIR.
//
// Claims checked: the ratio falls layer after layer (variance collapse) and
// REPAIR brings every layer back to 1. The paper stores no numbers for this
// figure (figure_data.csv has none), so both presets are judged on these
// claims. Default: the Fashion-MNIST MLP of the mlp_datasets target (width 128,
// 10 extra layers; its cached endpoints are reused) and, with CIFAR-10 present,
// the norm-free VGG11 of the README demo. Quick preset: the MLP only.
#include <algorithm>
#include <iterator>

#include "harness/comparisons.h"
#include "harness/target_cli.h"

// The networks this figure offers, one row each: --models value, data set,
// width (smoke width) and the MLP's extra hidden layers (0: the config's
// default, which a VGG ignores: its cfg sets its layers).
struct Offered {
  const char* name;
  const char* dataset;
  int64_t width, smoke_width, depth;
};
constexpr Offered kOffered[] = {{"mlp", "fashion-mnist", 128, 16, 10}, {"vgg11", "cifar10", 1, 1, 0}};

int main(int argc, char** argv) {
  using namespace repairbench;
  using namespace repairbench::harness;
  std::string models_flag;
  std::vector<std::string> names;
  TargetSpec spec;
  spec.name = "variance_collapse";
  spec.about = "Per-layer variance collapse of interpolated networks, before and after REPAIR.";
  spec.paper_source = "no stored numbers for this figure (figure_data.csv)";
  spec.mode = "qualitative";
  spec.judge_sweep = false;
  // clang-format off
  spec.flags = [&](po::options_description& options) {
    options.add_options()
        ("models", po::value(&models_flag),
         "comma list of mlp (Fashion-MNIST) and vgg11 (CIFAR-10, norm-free) (default: mlp,vgg11; quick: mlp)");
  };
  // clang-format on
  spec.plan = [&](const TargetSettings& s, const nlohmann::json&) {
    names = split(flag_or_preset(s, models_flag, "mlp,vgg11", "mlp"));
    std::vector<std::string> datasets;
    std::vector<const Offered*> rows;
    for (const auto& n : names) {
      const auto* row =
          std::find_if(std::begin(kOffered), std::end(kOffered), [&](const Offered& o) { return n == o.name; });
      RB_CHECK(row != std::end(kOffered), kUsage, "--models takes mlp and vgg11, got '", n, "'");
      rows.push_back(row);
      datasets.push_back(row->dataset);
    }
    require_datasets(s, datasets);
    Plan plan{{},
              {"", "", false, false},
              {{"models", names}, {"datasets", datasets}, {"alpha", 0.5}, {"repair", "repair (forward pass)"}}};
    for (size_t i = 0; i < names.size(); ++i) {
      models::ModelConfig model;
      model.family = models::parse_family(names[i]);
      model.width = s.smoke ? rows[i]->smoke_width : rows[i]->width;
      if (rows[i]->depth > 0) model.depth = rows[i]->depth;
      auto p = trained_point(s, model, datasets[i], {repair::RepairMethod::kForward});
      p.label = p.group = names[i] + " " + datasets[i];
      p.coords = {{"model", names[i]}, {"dataset", datasets[i]}};
      plan.points.push_back(std::move(p));
    }
    return plan;
  };
  spec.extend = [&](const TargetSettings& s, const Plan&, const std::vector<PointOutcome>& outcomes) {
    return per_layer_variance(s, outcomes, names);
  };
  return run_target(argc, argv, spec);
}
