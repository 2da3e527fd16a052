#include "repairbench/stats/pair_stats.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model_cases.h"
#include "repairbench/core/error.h"
#include "repairbench/models/zoo.h"
#include "synthetic.h"

namespace repairbench {
namespace {

// Records the activation at one point, batch by batch, as (rows, C): every
// N*H*W position is a row (the statistics' definition, pair_stats.h).
class Recorder : public models::ActivationProbe {
 public:
  explicit Recorder(int64_t point) : point_(point) {}
  torch::Tensor visit(int64_t point, const torch::Tensor& x) override {
    if (point == point_) {
      const auto c = x.size(1);
      batches.push_back((x.dim() == 4 ? x.permute({0, 2, 3, 1}) : x).reshape({-1, c}).to(torch::kFloat64));
    }
    return x;
  }
  std::vector<torch::Tensor> batches;

 private:
  int64_t point_;
};

std::vector<torch::Tensor> record(models::NetworkImpl& net, data::Loader& loader, int64_t point) {
  Recorder recorder(point);
  models::ProbeScope scope(net, &recorder);
  torch::NoGradGuard no_grad;
  net.eval();
  loader.new_epoch();
  for (int64_t i = 0; i < loader.num_batches(); ++i) net.forward(loader.batch(i).images);
  return recorder.batches;
}

data::Loader loader_for(const models::ModelConfig& c) {
  data::LoaderOptions o;
  o.batch_size = 16;
  o.channels = c.in_channels;
  return data::Loader(testing::random_dataset(64, c.in_channels, c.image_size, 10, 3), o);
}

bool close(const torch::Tensor& got, const torch::Tensor& want) { return torch::allclose(got, want, 1e-9, 1e-9); }

// Each field is the equal-weight average over batches of the per-batch
// statistic (docs/reference/algorithm.md §5.1), computed here directly from
// the recorded activations of two different networks, at a conv point (rows
// are N*H*W positions) and at an MLP point.
TEST(PairStats, EveryFieldIsTheAverageOverBatchesOfItsPerBatchStatistic) {
  for (const auto& config :
       {testing::make_config("vgg11", 1, "none", 3, 32), testing::make_config("mlp", 12, "none", 1, 8, 10, 2)}) {
    SCOPED_TRACE(config.describe());
    torch::manual_seed(1);
    auto a = models::make_network(config);
    auto b = models::make_network(config);
    const int64_t point = 2;
    auto loader = loader_for(config);
    const auto xa = record(*a, loader, point), xb = record(*b, loader, point);
    stats::PairStatsRequest request;
    request.points = {point};
    request.outer = {point};
    request.cross = true;
    const auto s = stats::collect_pair_stats(*a, *b, loader, request)[0];
    ASSERT_EQ(s.batches, static_cast<int64_t>(xa.size()));
    auto average = [&](auto statistic) {
      torch::Tensor sum = statistic(xa[0], xb[0]);
      for (size_t i = 1; i < xa.size(); ++i) sum = sum + statistic(xa[i], xb[i]);
      return sum / static_cast<double>(xa.size());
    };
    using T = const torch::Tensor&;
    EXPECT_TRUE(close(s.mean0, average([](T x, T) { return x.mean(0); })));
    EXPECT_TRUE(close(s.mean1, average([](T, T y) { return y.mean(0); })));
    EXPECT_TRUE(close(s.var0, average([](T x, T) { return x.var(0, /*unbiased=*/true); })));
    EXPECT_TRUE(close(s.std1, average([](T, T y) { return y.var(0, true).sqrt(); })));
    EXPECT_TRUE(close(s.sq0, average([](T x, T) { return (x * x).mean(0); })));
    EXPECT_TRUE(close(s.outer, average([](T x, T y) { return x.t().mm(y) / static_cast<double>(x.size(0)); })));
    EXPECT_TRUE(close(s.cross_cov, average([](T x, T y) {
                        const double n = static_cast<double>(x.size(0));
                        return ((x - x.mean(0)) * (y - y.mean(0))).sum(0) / (n - 1);
                      })));
    // The moment estimate's std is sqrt(avg E[x^2] - avg E[x]^2), the average
    // estimate's the mean of per-batch stds; both denominators carry the
    // reference's 1e-4 (§2a).
    const auto centred = s.outer - torch::outer(s.mean0, s.mean1);
    const auto std0 = (s.sq0 - s.mean0 * s.mean0).clamp_min(0).sqrt();
    const auto std1 = (s.sq1 - s.mean1 * s.mean1).clamp_min(0).sqrt();
    EXPECT_TRUE(close(stats::correlation(s, stats::StdEstimate::kMoment),
                      (centred / (torch::outer(std0, std1) + 1e-4)).nan_to_num(0)));
    EXPECT_TRUE(close(stats::correlation(s, stats::StdEstimate::kAverage),
                      (centred / (torch::outer(s.std0, s.std1) + 1e-4)).nan_to_num(0)));
    // One network's statistics are the same averages.
    const auto single = stats::collect_channel_stats(*a, loader, {point})[0];
    EXPECT_TRUE(close(single.mean, s.mean0));
    EXPECT_TRUE(close(single.var, s.var0));
  }
}

// A channel that never varies has correlation 0 with every channel, not NaN.
TEST(PairStats, AConstantChannelCorrelatesWithNothing) {
  const auto config = testing::make_config("mlp", 8, "none", 1, 8, 10, 1);
  torch::manual_seed(2);
  auto a = models::make_network(config);
  const int64_t point = a->point_index("fc1");
  {
    torch::NoGradGuard no_grad;
    a->named_parameters()["fc1.weight"][0].zero_();
  }
  auto loader = loader_for(config);
  stats::PairStatsRequest request;
  request.points = {point};
  request.outer = {point};
  const auto s = stats::collect_pair_stats(*a, *a, loader, request)[0];
  for (auto estimate : {stats::StdEstimate::kMoment, stats::StdEstimate::kAverage}) {
    const auto corr = stats::correlation(s, estimate);
    EXPECT_FALSE(corr.isnan().any().item<bool>());
    EXPECT_LT(corr[0].abs().max().item<double>(), 1e-6);
  }
  // With the moment estimate every other channel's correlation with itself is
  // var / (var + 1e-4): 1 up to the eps (its std is far above 1e-2). The
  // average of per-batch stds is smaller than the moment std, so that
  // estimate is not 1 on the diagonal.
  const auto corr = stats::correlation(s, stats::StdEstimate::kMoment);
  EXPECT_GT(corr.diagonal().slice(0, 1).min().item<double>(), 0.99);
  EXPECT_LE(corr.diagonal().slice(0, 1).max().item<double>(), 1.0);
}

TEST(PairStats, StdEstimatesAreNamedInOneTable) {
  for (auto e : {stats::StdEstimate::kMoment, stats::StdEstimate::kAverage}) {
    EXPECT_EQ(stats::parse_std_estimate(stats::to_string(e)), e);
  }
  EXPECT_THROW(stats::parse_std_estimate("median"), Error);
}

}  // namespace
}  // namespace repairbench
