// resnet18_cifar: the paper's headline CIFAR-10 result (resnet18_interp.pt,
// 101 alphas): ResNet18 (kuangliu) endpoints 95.59/95.53, aligned midpoint
// 65.97, after the BatchNorm reset 94.07: barrier 29.6 -> 1.5 points.
//
// Claim checked: REPAIR (a BN reset after alignment) removes ~95% of the
// barrier (reproductions/resnet18_cifar/reference.json, from
// docs/reference/figure_data.csv; docs/reference/algorithm.md §4.2). Matching runs on
// the un-augmented train set, the BN reset on flip + translate 2 + cutout 12,
// as in Permute-CIFAR10-ResNet18 (docs/reference/algorithm.md §5.5 and §5.6). Paper preset: the recipe of
// docs/reference/algorithm.md §3 (batch 512, lr 0.4, wd 5e-4, 200 epochs, label
// smoothing 0.1). Quick preset: 2 epochs and 11 alphas, judged on the paper's claims.
#include "harness/target_cli.h"

// What is known of how this setup differs from the paper's (no numbers: the
// findings' numbers are the run's own).
constexpr const char* kKnownDifferences =
    "The reference trains under half-precision autocast with FFCV loaders and resets BatchNorm with an "
    "exponential moving average rather than the equal-weight average used here; ours runs in single precision.";

int main(int argc, char** argv) {
  using namespace repairbench;
  using namespace repairbench::harness;
  int64_t alphas = 0;
  TargetSpec spec;
  spec.name = spec.reference = "resnet18_cifar";
  spec.about = "The paper's ResNet18 / CIFAR-10 interpolation curves (101 alphas).";
  spec.quick_epochs = 2;
  spec.known_differences = kKnownDifferences;
  // clang-format off
  spec.flags = [&](po::options_description& options) {
    options.add_options()("alphas", po::value(&alphas), "points on the path (default: 101; quick: 11)");
  };
  // clang-format on
  spec.plan = [&](const TargetSettings& s, const nlohmann::json& reference) {
    const bool paper_preset = s.preset == Preset::kPaper;
    if (alphas == 0) alphas = paper_preset ? 101 : 11;
    RB_CHECK(alphas >= 3 && alphas % 2 == 1, kUsage, "--alphas must be odd and >= 3 (alpha 0.5 must be on the grid)");
    require_datasets(s, {"cifar10"});

    models::ModelConfig model;
    model.family = models::Family::kResNet18;
    model.norm = models::Norm::kBatch;
    model.width = 1;
    auto p = trained_point(s, model, "cifar10", {repair::RepairMethod::kResetBn});
    p.label = "resnet18";
    p.group = "resnet18";
    p.coords = {{"dataset", "cifar10"}, {"model", "resnet18"}};
    if (!s.smoke) p.merge.alphas = alpha_grid(alphas);
    data::LoaderOptions match = p.stats;
    match.augment = {};
    p.match_stats = match;
    p.paper = find_paper(s, reference, [](const nlohmann::json&) { return true; });
    return Plan{{p},
                {"ResNet18 CIFAR-10", "", false, false},
                {{"dataset", "cifar10"},
                 {"model", "resnet18"},
                 {"repair", "reset-bn"},
                 {"matching_data", "un-augmented train set"}}};
  };
  return run_target(argc, argv, spec);
}
