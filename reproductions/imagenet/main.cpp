// imagenet: the paper's ImageNet results (docs/reference/algorithm.md §4.1): ResNet18,
// ResNet50 and wide_resnet50_2 endpoints imported as PyTorch checkpoints,
// aligned on train5k and interpolated over 51 alphas, evaluated on val5k at 256
// px with flip-TTA; uncorrected, after a BatchNorm reset ("REPAIR (only conv
// layers)") and after the notebooks' full REPAIR (BN reset plus every residual
// block output and the logits, `repair-blocks`).
//
// Claim checked: 74% barrier reduction for ResNet50 (56.9% ResNet18, 83.1%
// wide_resnet50_2) (reproductions/imagenet/reference.json, from
// docs/reference/figure_data.csv). ImageNet and the endpoints are the
// user's: <data-dir>/imagenet/{train,val} and <checkpoint-dir>/<model>_<seed>.pt
// (state dicts as torchvision saves them; a DDP "module." prefix is stripped).
// The official checkpoints' recipe is not in its repo, so endpoints are never
// trained here. Paper preset: all three models, 51 alphas. Quick preset:
// ResNet18, 11 alphas, judged on the paper's claims.
#include "harness/imported.h"
#include "harness/target_cli.h"

// What is known of how this setup differs from the paper's (no numbers: the
// findings' numbers are the run's own).
constexpr const char* kKnownDifferences =
    "The paper evaluates under half-precision autocast, and the subset of training images its statistics come "
    "from is not in the official repository, so our statistics come from another subset of the same size.";

int main(int argc, char** argv) {
  using namespace repairbench;
  using namespace repairbench::harness;
  std::string models_flag;
  ImportedCheckpoints from{"", "module.", "imagenet"};
  int64_t alphas = 0;
  TargetSpec spec;
  spec.name = spec.reference = "imagenet";
  spec.about = "The paper's ImageNet ResNet barriers from imported endpoints.";
  spec.known_differences = kKnownDifferences;
  // clang-format off
  spec.flags = [&](po::options_description& options) {
    options.add_options()
        ("models", po::value(&models_flag), "comma list of resnet18, resnet50, wide_resnet50_2 (default: all; quick: resnet18)")
        ("checkpoint-dir", po::value(&from.dir),
         "endpoints <model>_<seed>.pt, seeds 2k+1 and 2k+2 for pair k (default <data-dir>/imagenet/checkpoints)")
        ("strip-prefix", po::value(&from.strip_prefix)->default_value(from.strip_prefix), "key prefix removed from the state dicts")
        ("alphas", po::value(&alphas), "points on the path (default: 51; quick: 11)");
  };
  // clang-format on
  spec.plan = [&](const TargetSettings& s, const nlohmann::json& reference) {
    const auto names =
        split(flag_or_preset(s, models_flag, "resnet18,resnet50,wide_resnet50_2", "resnet18", "resnet18"));
    if (alphas == 0) alphas = s.preset == Preset::kPaper ? 51 : 11;
    RB_CHECK(alphas >= 3 && alphas % 2 == 1, kUsage, "--alphas must be odd and >= 3 (alpha 0.5 must be on the grid)");
    require_datasets(s, {"imagenet"});
    require_checkpoints(s, from, names);
    std::vector<SweepPoint> points;
    for (const auto& name : names) {
      const auto config = torchvision_config(name, s.smoke);
      auto p =
          trained_point_for(s, config, "imagenet", {repair::RepairMethod::kResetBn, repair::RepairMethod::kBlocks});
      p.label = name;
      p.group = "imagenet";
      p.coords = {{"dataset", "imagenet"}, {"model", name}};
      if (s.smoke) {
        p.stats.augment.resized_crop = config.image_size;
      } else {
        p.merge.alphas = alpha_grid(alphas);
        p.merge.flip_tta = true;
        p.merge.eval_batch_size = 200;
      }
      p.endpoints = imported_endpoints(s, from, name, config);
      p.paper = find_paper(s, reference, [&](const nlohmann::json& e) { return e.at("model") == name; });
      points.push_back(std::move(p));
    }
    return Plan{std::move(points),
                {"ImageNet", "", false, false},
                {{"dataset", "imagenet (train5k statistics, val5k evaluation)"},
                 {"models", names},
                 {"repair", {"reset-bn", "repair-blocks"}},
                 {"flip_tta", !s.smoke},
                 {"checkpoint_dir", from.dir}}};
  };
  return run_target(argc, argv, spec);
}
