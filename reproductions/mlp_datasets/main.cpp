// mlp_datasets: the paper's MLP figure (mlp_datasets*.png): MLPs with 10 extra
// hidden layers, widths 32..4096, on MNIST, Fashion-MNIST, SVHN and CIFAR-10;
// the test-accuracy barrier of the aligned interpolation before and after
// REPAIR at alpha = 0.5.
//
// Claim checked: REPAIR removes most of the barrier left by neuron alignment
// (paper numbers: reproductions/mlp_datasets/reference.json, extracted from
// ../shared/reference/figure_data.csv, mlp_barriers_datasets.pt; single runs).
// Paper preset: Table 1's MLP recipe (100 epochs) at every width, judged on the
// numbers. Quick preset: width 128 only, judged on the paper's claims.
#include "harness/target_cli.h"

// Why our numbers can differ from the paper's (repair_reference.md section 3,
// MLP row: the MLPs were "trained elsewhere", the recipe is inferred).
constexpr const char* kGapCause =
    "The paper's training recipe for these MLPs is not in its code (repair_reference.md section 3: 'trained "
    "elsewhere ... likely the same recipe', inferred). No recipe of repairbench's search (README, 'The "
    "Fashion-MNIST recipe search': Table 1 as stated, its augmentation, learning-rate, batch, weight-decay, "
    "translate-fill and offset variants, the GradScaler skip rule, He init, 2 seeds each at width 128) reproduced "
    "the paper's endpoints within 1 point of test and un-augmented train accuracy; the default is 0.7-2.3 points "
    "below in test and 0.7-2.5 in train accuracy at widths 32-512. The barriers are those of these weaker endpoints.";

// Why the MLPs train with this recipe (always reported, issue #14 items 4 and 6).
constexpr const char* kRecipeChoice =
    "Recipe: Table 1's MLP recipe (batch 2000, 100 epochs, SGD 0.9, triangular lr with 5 warm-up epochs, wd 0, "
    "translate 4) with He init, the reference's GradScaler skip rule and peak lr 0.1 instead of 0.2 (recipe "
    "mlp_he_lr0.1), not Table 1 as stated (recipe mlp: PyTorch's default init, plain fp32). Chosen by repairbench's "
    "recipe search (README): with the default init the 10-layer MLP sits 20-30 epochs on the ln 10 loss plateau, "
    "ends at 84.5 % (paper 87.7) and diverges at widths 256 and 512; He init with the skip rule at lr 0.2 "
    "(mlp_he) reached 86.5 % at width 128 but diverged for one seed at widths 32, 128 and 512; at lr 0.1 every "
    "one of 11 seeds at widths 32-512 trained, as accurate where both trained (width 128: 86.38 / 86.75 / 86.46 %, "
    "width 512: 88.51 / 88.28 %, paper 89.43 / 89.48).";

int main(int argc, char** argv) {
  using namespace repairbench;
  using namespace repairbench::harness;
  std::string datasets_flag, widths_flag;
  TargetSpec spec;
  spec.name = spec.reference = "mlp_datasets";
  spec.about = "The paper's MLP barrier figure across widths and data sets.";
  spec.gap_cause = kGapCause;
  spec.notes = {kRecipeChoice};
  // clang-format off
  spec.flags = [&](po::options_description& options) {
    options.add_options()
        ("datasets", po::value(&datasets_flag),
         "comma list of mnist, fashion-mnist, svhn, cifar10 (default: all four; quick: fashion-mnist)")
        ("widths", po::value(&widths_flag), "comma list of widths (default: 32..4096; quick: 128)");
  };
  // clang-format on
  spec.plan = [&](const TargetSettings& s, const nlohmann::json& reference) {
    const auto datasets = split(flag_or_preset(s, datasets_flag, "mnist,fashion-mnist,svhn,cifar10", "fashion-mnist"));
    const auto widths =
        parse_int_list(flag_or_preset(s, widths_flag, "32,64,128,256,512,1024,2048,4096", "128", "16"), "--widths");
    require_datasets(s, datasets);
    Plan plan{{},
              {"MLP", "width (hidden units)", true, true},
              {{"datasets", datasets}, {"widths", widths}, {"depth", 10}, {"repair", "repair (forward pass)"}}};
    for (const auto& dataset : datasets) {
      for (int64_t width : widths) {
        models::ModelConfig model;
        model.family = "mlp";
        model.width = width;
        model.depth = 10;
        auto p = trained_point(s, model, dataset, {repair::RepairMethod::kForward});
        p.label = dataset + " h=" + std::to_string(width);
        p.group = dataset;
        p.x = static_cast<double>(width);
        p.coords = {{"dataset", dataset}, {"width", width}, {"depth", 10}};
        p.paper = find_paper(s, reference, [&](const nlohmann::json& e) {
          return e.at("dataset") == dataset && e.at("width") == width;
        });
        plan.points.push_back(std::move(p));
      }
    }
    return plan;
  };
  return run_target(argc, argv, spec);
}
