// Golden parity with the Python reference (llm.c's habit of
// checking every stage against PyTorch): tools/reference/make_parity_fixtures.py
// writes, per case, two small networks in the official code's layout, fixed
// un-augmented batches and what the reference computes from them at every
// stage (tools/reference/README.md has the format). This test runs
// repairbench's library on the same networks and the same batches, in the same
// order, and checks each stage:
//   correlation matrices        1e-6 absolute (float64 statistics of the same
//                               float32 activations);
//   permutations                exactly, except where the reference's
//                               assignment and ours have the same total
//                               correlation to 1e-9 (a tie; then the
//                               reference's is used downstream, so later
//                               stages compare like with like);
//   REPAIR statistics           1e-6 relative to the channel's scale;
//   permuted / repaired weights 1e-4 relative to the tensor's largest entry;
//   logits                      1e-4 relative to the largest logit.
// The fixture folder is the ctest fixture `parity_fixtures`' output
// ($REPAIRBENCH_PARITY_DIR).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "repairbench/align/matching.h"
#include "repairbench/data/dataset.h"
#include "repairbench/data/loader.h"
#include "repairbench/interp/interpolate.h"
#include "repairbench/models/checkpoint.h"
#include "repairbench/models/permutation_spec.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/models/zoo.h"
#include "repairbench/pipeline/defaults.h"
#include "repairbench/repair/repair.h"

namespace repairbench {
namespace {

namespace fs = std::filesystem;
using repair::RepairMethod;

const std::vector<std::string> kCases = {"mlp_repair",
                                         "mlp_closed_form",
                                         "mlp_weight",
                                         "mlp_bn_reset",
                                         "vgg11_repair",
                                         "vgg11_bn_reset",
                                         "resnet20_bn_reset",
                                         "resnet20_ln_repair",
                                         "resnet20_none_repair",
                                         "resnet18_cifar_reset",
                                         "resnet18_imagenet_blocks"};

fs::path parity_dir() {
  const char* dir = std::getenv("REPAIRBENCH_PARITY_DIR");
  return dir == nullptr ? fs::path() : fs::path(dir);
}

// A flat dict of tensors written by torch.save.
std::map<std::string, torch::Tensor> load_tensors(const fs::path& path) {
  std::map<std::string, torch::Tensor> out;
  for (auto& [key, value] : models::import_state_dict(path.string())) out[key] = value;
  return out;
}

// max |a - b| / max(1, max |b|): a relative error on the tensor's own scale.
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  const auto x = a.to(torch::kFloat64), y = b.to(torch::kFloat64);
  const double scale = std::max(1.0, y.abs().max().item<double>());
  return (x - y).abs().max().item<double>() / scale;
}

double max_abs_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

struct Case {
  nlohmann::json spec;
  models::ModelConfig config;
  data::Dataset data;
  std::map<std::string, torch::Tensor> expected;
  models::Network net0, net1;
  double alpha = 0.5;
};

Case load_case(const std::string& name) {
  const fs::path dir = parity_dir() / name;
  Case c;
  std::ifstream in(dir / "case.json");
  c.spec = nlohmann::json::parse(in);
  const auto& m = c.spec.at("model");
  c.config.family = models::parse_family(m.at("family").get<std::string>());
  c.config.width = m.at("width").get<int64_t>();
  c.config.depth = m.at("depth").get<int64_t>();
  c.config.norm = models::parse_norm(m.at("norm").get<std::string>());
  c.config.junctures = m.at("junctures").get<bool>();
  c.config.in_channels = m.at("in_channels").get<int64_t>();
  c.config.image_size = m.at("image_size").get<int64_t>();
  c.config.num_classes = m.at("num_classes").get<int64_t>();
  c.alpha = c.spec.at("alpha").get<double>();

  const auto data = load_tensors(dir / "data.pt");
  c.data.name = c.spec.at("dataset").get<std::string>();
  c.data.images = data.at("images");
  c.data.labels = data.at("labels");
  c.data.num_classes = c.config.num_classes;
  c.data.norm.mean = c.spec.at("normalization").at("mean").get<std::vector<double>>();
  c.data.norm.std = c.spec.at("normalization").at("std").get<std::vector<double>>();
  data::validate(c.data, (dir / "data.pt").string());

  c.expected = load_tensors(dir / "expected.pt");
  c.net0 = models::make_network(c.config);
  c.net1 = models::make_network(c.config);
  models::load_state_dict(*c.net0, models::import_state_dict((dir / "net0.pt").string()), "net0.pt");
  models::load_state_dict(*c.net1, models::import_state_dict((dir / "net1.pt").string()), "net1.pt");
  return c;
}

// The fixture's batches: stored order, consecutive, no augmentation.
data::Loader fixture_loader(const Case& c) {
  data::LoaderOptions o;
  o.batch_size = c.spec.at("batch_size").get<int64_t>();
  o.channels = c.config.in_channels;
  return data::Loader(c.data, o);
}

const torch::Tensor& expected(const Case& c, const std::string& key) {
  const auto it = c.expected.find(key);
  if (it == c.expected.end()) throw std::runtime_error("expected.pt has no entry " + key);
  return it->second;
}

// Eval-mode logits over every fixture image, in order: (N, classes).
torch::Tensor logits(models::NetworkImpl& net, const Case& c, repair::CorrectionProbe* probe = nullptr) {
  torch::NoGradGuard no_grad;
  net.eval();
  models::ProbeScope scope(net, probe);
  data::Loader loader = fixture_loader(c);
  loader.new_epoch();
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < loader.num_batches(); ++i) out.push_back(net.forward(loader.batch(i).images));
  return torch::cat(out);
}

void expect_state_near(const models::StateDict& ours, const Case& c, const std::string& prefix, double tol) {
  for (const auto& [key, value] : ours) {
    if (key.find("num_batches_tracked") != std::string::npos) continue;
    EXPECT_LE(relative_error(value, expected(c, prefix + key)), tol) << prefix << key;
  }
}

class Parity : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (parity_dir().empty()) GTEST_SKIP() << "REPAIRBENCH_PARITY_DIR is not set (ctest sets it)";
    torch::set_num_threads(1);
  }
};

// Every stage, in the order the pipeline runs them.
TEST_P(Parity, EveryStageEqualsTheReference) {
  Case c = load_case(GetParam());
  const auto spec = c.net0->permutation_spec();

  // The settings the fixture states are the ones repairbench uses by default
  // for this family (statistics definition and REPAIR eps).
  const auto defaults = pipeline::stats_defaults(c.config, c.data.name);
  EXPECT_EQ(stats::to_string(defaults.std_estimate), c.spec.at("std_estimate").get<std::string>());
  EXPECT_EQ(defaults.target_std_eps, c.spec.at("target_std_eps").get<double>());

  // 1. Alignment.
  std::vector<std::string> groups;
  for (const auto& g : spec.groups) groups.push_back(g.name);
  ASSERT_EQ(groups, c.spec.at("groups").get<std::vector<std::string>>());
  std::vector<torch::Tensor> perms;
  data::Loader loader = fixture_loader(c);
  if (c.spec.at("match") == "activation") {
    align::ActivationMatchingOptions o;
    o.std_estimate = stats::parse_std_estimate(c.spec.at("std_estimate").get<std::string>());
    o.keep_correlations = true;
    const auto alignment = align::activation_matching(*c.net0, *c.net1, loader, o);
    for (size_t g = 0; g < groups.size(); ++g) {
      SCOPED_TRACE(groups[g]);
      const auto& corr_ref = expected(c, "corr." + groups[g]);
      EXPECT_LE(max_abs_error(alignment.correlations[g], corr_ref), 1e-6);
      const auto& perm_ref = expected(c, "perm." + groups[g]);
      if (!alignment.perms[g].equal(perm_ref)) {
        // A tie: both assignments reach the same total correlation.
        const double ours = corr_ref.gather(1, alignment.perms[g].view({-1, 1})).sum().item<double>();
        const double theirs = corr_ref.gather(1, perm_ref.view({-1, 1})).sum().item<double>();
        EXPECT_NEAR(ours, theirs, 1e-9 * std::max(1.0, std::abs(theirs))) << "permutations differ and are no tie";
      }
      perms.push_back(perm_ref);
    }
  } else {
    align::WeightMatchingOptions o;
    o.order = align::WeightOrder::kSpec;
    const auto alignment = align::weight_matching(*c.net0, *c.net1, o);
    for (size_t g = 0; g < groups.size(); ++g) {
      EXPECT_TRUE(alignment.perms[g].equal(expected(c, "perm." + groups[g]))) << groups[g];
      perms.push_back(expected(c, "perm." + groups[g]));
    }
  }

  // 2. The permuted endpoint: same entries as the reference's, same function.
  align::Alignment applied;
  applied.groups = groups;
  applied.perms = perms;
  models::Network permuted = align::permuted_copy(*c.net1, applied);
  expect_state_near(models::state_dict(*permuted), c, "permuted1.", 0.0);
  EXPECT_LE(relative_error(logits(*c.net0, c), expected(c, "logits.net0")), 1e-4);
  EXPECT_LE(relative_error(logits(*permuted, c), expected(c, "logits.net1_permuted")), 1e-4);

  // 3. Interpolation.
  models::Network merged = models::make_network(c.config);
  models::load_state_dict(
      *merged, interp::interpolate(models::state_dict(*c.net0), models::state_dict(*permuted), c.alpha), "merged");
  EXPECT_LE(relative_error(logits(*merged, c), expected(c, "logits.interpolated")), 1e-4);

  // 4. The correction.
  repair::RepairOptions ro;
  ro.method = repair::parse_repair_method(c.spec.at("repair").get<std::string>());
  ro.endpoint_epochs = c.spec.at("endpoint_epochs").get<int64_t>();
  ro.merged_epochs = c.spec.at("merged_epochs").get<int64_t>();
  ro.target_std_eps = c.spec.at("target_std_eps").get<double>();
  ro.bn_eps = c.spec.at("bn_eps").get<double>();
  const auto points = repair::repair_points(*merged, ro);
  EXPECT_EQ(points, c.spec.at("points").get<std::vector<std::string>>());
  repair::EndpointStats endpoints;
  if (!points.empty()) {
    endpoints = repair::endpoint_stats(*c.net0, *permuted, loader, points, ro.endpoint_epochs,
                                       ro.method == RepairMethod::kClosedForm);
    for (size_t i = 0; i < points.size(); ++i) {
      SCOPED_TRACE(points[i]);
      const auto& s = endpoints.stats[i];
      EXPECT_LE(relative_error(s.mean0, expected(c, "endpoint_mean0." + points[i])), 1e-6);
      EXPECT_LE(relative_error(s.var0.sqrt(), expected(c, "endpoint_std0." + points[i])), 1e-6);
      EXPECT_LE(relative_error(s.mean1, expected(c, "endpoint_mean1." + points[i])), 1e-6);
      EXPECT_LE(relative_error(s.var1.sqrt(), expected(c, "endpoint_std1." + points[i])), 1e-6);
      const auto t = repair::targets(s, c.alpha);
      EXPECT_LE(relative_error(t.mean, expected(c, "target_mean." + points[i])), 1e-6);
      EXPECT_LE(relative_error(t.std, expected(c, "target_std." + points[i])), 1e-6);
    }
  }
  const auto result = repair::repair(*merged, endpoints, c.alpha, loader, ro);
  for (const auto& correction : result.corrections) {
    const std::string& point = merged->points()[correction.point].name;
    SCOPED_TRACE(point);
    // The merged net's own statistics are measured in float32 (BatchNorm
    // running averages), so 1e-5 here.
    EXPECT_LE(relative_error(correction.mean, expected(c, "merged_mean." + point)), 1e-5);
    EXPECT_LE(relative_error(correction.var, expected(c, "merged_var." + point)), 1e-5);
  }
  expect_state_near(models::state_dict(*merged), c, "repaired.", 1e-4);
  for (const auto& u : result.unfused) {
    // y = scale (x - mean) / sqrt(var + eps) + shift = a x + b.
    const std::string& point = merged->points()[u.point].name;
    const auto a = u.scale / (u.var + ro.bn_eps).sqrt();
    EXPECT_LE(relative_error(a, expected(c, "block_scale." + point)), 1e-5) << point;
    EXPECT_LE(relative_error(u.shift - a * u.mean, expected(c, "block_shift." + point)), 1e-5) << point;
  }
  std::optional<repair::CorrectionProbe> probe;
  if (!result.unfused.empty()) probe.emplace(result.unfused, ro.bn_eps);
  EXPECT_LE(relative_error(logits(*merged, c, probe ? &*probe : nullptr), expected(c, "logits.repaired")), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Reference, Parity, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

// The fixture folder holds exactly the cases above: a case the generator adds
// or drops must be added here too.
TEST(ParityFixtures, HoldEveryCaseAndNoOther) {
  if (parity_dir().empty()) GTEST_SKIP() << "REPAIRBENCH_PARITY_DIR is not set (ctest sets it)";
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(parity_dir())) {
    if (entry.is_directory()) found.push_back(entry.path().filename().string());
  }
  std::sort(found.begin(), found.end());
  auto wanted = kCases;
  std::sort(wanted.begin(), wanted.end());
  EXPECT_EQ(found, wanted);
}

}  // namespace
}  // namespace repairbench
