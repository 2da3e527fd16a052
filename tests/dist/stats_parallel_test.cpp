// Statistics passes and evaluation shared over ranks of a
// Gloo group on loopback give one process's permutation, REPAIR statistics,
// repaired weights and evaluation. Ranks are threads of this test, each with
// its own group member, networks and loader.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <torch/nn/functional/loss.h>
#include <unistd.h>

#include <future>

#include "model_cases.h"
#include "repairbench/align/matching.h"
#include "repairbench/dist/dist.h"
#include "repairbench/interp/interpolate.h"
#include "repairbench/metrics/evaluate.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/models/zoo.h"
#include "repairbench/repair/repair.h"
#include "repairbench/stats/pair_stats.h"
#include "synthetic.h"

namespace repairbench {
namespace {

// A TCP port that was free a moment ago on 127.0.0.1.
int64_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  if (fd >= 0) ::close(fd);
  return ok ? ntohs(addr.sin_port) : 29500;
}

// Rank `rank` of a `size`-process job on 127.0.0.1:port.
dist::JobInfo loopback_job(int64_t rank, int64_t size, int64_t port) {
  dist::JobInfo job;
  job.rank = rank;
  job.world_size = size;
  job.local_rank = rank;
  job.master_port = port;
  job.launcher = "test";
  return job;
}

// Everything one process (or one rank) computes from the same pair of nets.
struct Outcome {
  std::vector<torch::Tensor> perms;
  std::vector<stats::PairStats> endpoint;
  std::vector<torch::Tensor> repaired, reset_bn;  // state dict values of the merged nets
  metrics::EvalResult eval;
  std::vector<stats::ChannelStats> channel;
};

struct PairFixture {
  models::Network net0, net1;
  data::Dataset train, test;
};

PairFixture make_fixture() {
  // BatchNorm MLP: the merged pass re-estimates BatchNorm running statistics
  // and REPAIR's own, both of which the ranks must combine.
  const auto config = testing::make_config("mlp", 32, "bn", 1, 8, 10, 3);
  torch::manual_seed(31);
  PairFixture s{models::make_network(config), models::make_network(config), {}, {}};
  testing::kaiming_init(*s.net0);
  torch::manual_seed(32);
  s.net1 = models::make_network(config);
  testing::kaiming_init(*s.net1);
  s.train = testing::template_dataset(640, 1, 8, 10, 5);  // 5 batches of 128: shares of 2/2/1 or 2/1/1/1
  s.test = testing::template_dataset(200, 1, 8, 10, 6);
  return s;
}

std::vector<torch::Tensor> values(models::NetworkImpl& net) {
  std::vector<torch::Tensor> out;
  for (const auto& [name, t] : models::state_dict(net)) out.push_back(t.clone());
  return out;
}

Outcome compute(PairFixture& s, dist::Group* group) {
  // Copies: ranks run side by side on the same source networks.
  auto a = models::copy_network(*s.net0);
  auto b = models::copy_network(*s.net1);
  data::LoaderOptions lo;
  lo.batch_size = 128;
  lo.shuffle = true;
  lo.augment.flip = true;
  lo.augment.translate = 1;
  lo.seed = 7;
  data::Loader loader(s.train, lo);

  Outcome out;
  const stats::Context context(torch::kCPU, group);
  const auto alignment = align::activation_matching(*a, *b, loader, {}, context);
  out.perms = alignment.perms;
  auto aligned = align::permuted_copy(*b, alignment);
  const auto points = repair::default_repair_points(*a, repair::RepairMethod::kForward);
  const auto endpoints = repair::endpoint_stats(*a, *aligned, loader, points, 2, /*cross=*/true, context);
  out.endpoint = endpoints.stats;

  auto merged_at = [&](double alpha) {
    auto net = models::make_network(a->config());
    models::load_state_dict(*net, interp::interpolate(models::state_dict(*a), models::state_dict(*aligned), alpha),
                            "mix");
    return net;
  };
  for (auto method : {repair::RepairMethod::kForward, repair::RepairMethod::kResetBn}) {
    auto merged = merged_at(0.4);
    repair::RepairOptions options;
    options.method = method;
    options.merged_epochs = 2;
    repair::repair(*merged, endpoints, 0.4, loader, options, context);
    (method == repair::RepairMethod::kForward ? out.repaired : out.reset_bn) = values(*merged);
    if (method == repair::RepairMethod::kForward) {
      std::vector<int64_t> indices;
      for (const auto& p : points) indices.push_back(merged->point_index(p));
      out.channel = stats::collect_channel_stats(*merged, loader, indices, context);
    }
  }
  // 200 test images in batches of 40: 5 batches, split over the ranks.
  out.eval = metrics::evaluate(*a, s.test, 40, torch::kCPU, false, group);
  return out;
}

// Runs compute() on `ranks` threads, each one rank of a Gloo group on loopback.
std::vector<Outcome> compute_on_ranks(PairFixture& s, int64_t ranks) {
  const int64_t port = free_port();
  std::vector<std::future<Outcome>> futures;
  for (int64_t rank = 0; rank < ranks; ++rank) {
    futures.push_back(std::async(std::launch::async, [&s, rank, ranks, port] {
      auto group = dist::Group::connect(loopback_job(rank, ranks, port), "gloo", /*timeout_seconds=*/60);
      return compute(s, group.get());
    }));
  }
  std::vector<Outcome> out;
  for (auto& f : futures) out.push_back(f.get());
  return out;
}

void expect_close(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b, double rtol, double atol,
                  const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::allclose(a[i].to(torch::kFloat64), b[i].to(torch::kFloat64), rtol, atol))
        << what << " [" << i << "]: max |difference| "
        << (a[i].to(torch::kFloat64) - b[i].to(torch::kFloat64)).abs().max().item<double>();
  }
}

void expect_pair_stats_close(const stats::PairStats& a, const stats::PairStats& b, const std::string& what) {
  EXPECT_EQ(a.batches, b.batches) << what;
  // float64 sums in a different order: equal to ~1e-15 relative.
  expect_close({a.mean0, a.mean1, a.var0, a.var1, a.std0, a.std1, a.sq0, a.sq1, a.cross_cov},
               {b.mean0, b.mean1, b.var0, b.var1, b.std0, b.std1, b.sq0, b.sq1, b.cross_cov}, 1e-10, 1e-12, what);
}

void expect_same_outcome(const Outcome& one, const Outcome& rank, const std::string& who) {
  ASSERT_EQ(one.perms.size(), rank.perms.size());
  for (size_t g = 0; g < one.perms.size(); ++g) {
    EXPECT_TRUE(one.perms[g].equal(rank.perms[g])) << who << ": permutation of group " << g;
  }
  ASSERT_EQ(one.endpoint.size(), rank.endpoint.size());
  for (size_t p = 0; p < one.endpoint.size(); ++p) {
    expect_pair_stats_close(one.endpoint[p], rank.endpoint[p], who + ": endpoint statistics " + std::to_string(p));
  }
  // The merged pass keeps float32 running averages (BatchNorm with
  // momentum=None): one process averages batch by batch, the ranks combine
  // their averages in float64, so they agree to float32 rounding.
  expect_close(one.repaired, rank.repaired, 1e-5, 1e-6, who + ": REPAIRed weights");
  expect_close(one.reset_bn, rank.reset_bn, 1e-5, 1e-6, who + ": reset-bn weights");
  ASSERT_EQ(one.channel.size(), rank.channel.size());
  for (size_t p = 0; p < one.channel.size(); ++p) {
    expect_close({one.channel[p].mean, one.channel[p].var}, {rank.channel[p].mean, rank.channel[p].var}, 1e-4, 1e-6,
                 who + ": merged-net channel statistics " + std::to_string(p));
  }
  EXPECT_EQ(one.eval.count, rank.eval.count) << who;
  EXPECT_DOUBLE_EQ(one.eval.accuracy, rank.eval.accuracy) << who;
  EXPECT_NEAR(one.eval.loss, rank.eval.loss, 1e-12) << who;
}

TEST(DataParallelPasses, RanksGetOneProcesssPermutationStatisticsAndRepair) {
  PairFixture s = make_fixture();
  const Outcome one = compute(s, nullptr);
  ASSERT_EQ(one.endpoint.front().batches, 10);  // 5 batches x 2 epochs
  for (int64_t ranks : {2, 3}) {
    const auto outcomes = compute_on_ranks(s, ranks);
    for (size_t r = 0; r < outcomes.size(); ++r) {
      expect_same_outcome(one, outcomes[r], std::to_string(ranks) + " ranks, rank " + std::to_string(r));
    }
  }
}

TEST(DataParallelPasses, APassWithFewerBatchesThanRanksIsNotSplit) {
  dist::Group* none = nullptr;
  EXPECT_FALSE(dist::share_pass(none, 10).split());
  auto single = dist::Group::connect(dist::JobInfo{});
  EXPECT_FALSE(dist::share_pass(single.get(), 10).split());
  // Six ranks, five test batches: every rank evaluates all of them.
  PairFixture s = make_fixture();
  const auto one = metrics::evaluate(*s.net0, s.test, 40, torch::kCPU);
  const int64_t port = free_port();
  std::vector<std::future<metrics::EvalResult>> futures;
  for (int64_t rank = 0; rank < 6; ++rank) {
    futures.push_back(std::async(std::launch::async, [&s, rank, port] {
      auto group = dist::Group::connect(loopback_job(rank, 6, port), "gloo", 60);
      EXPECT_FALSE(dist::share_pass(group.get(), 5).split());
      EXPECT_TRUE(dist::share_pass(group.get(), 6).split());
      auto net = models::copy_network(*s.net0);
      return metrics::evaluate(*net, s.test, 40, torch::kCPU, false, group.get());
    }));
  }
  for (auto& f : futures) {
    const auto r = f.get();
    EXPECT_EQ(r.count, one.count);
    EXPECT_DOUBLE_EQ(r.accuracy, one.accuracy);
    EXPECT_DOUBLE_EQ(r.loss, one.loss);
  }
}

// Buckets all-reduced during backward give every rank the mean of the ranks'
// gradients, step after step; with a small bucket size the MLP is cut into
// several buckets.
TEST(GradientAverager, EveryRankGetsTheMeanGradientInEveryStep) {
  const auto config = testing::make_config("mlp", 32, "none", 1, 8, 10, 3);
  torch::manual_seed(5);
  auto net = models::make_network(config);
  const auto data = testing::template_dataset(64, 1, 8, 10, 3);
  const int64_t ranks = 2, steps = 3;
  // Each rank's own gradient in each step, computed without communication.
  auto gradient = [&](models::NetworkImpl& n, int64_t rank, int64_t step) {
    const auto x = data.images.slice(0, 8 * (2 * step + rank), 8 * (2 * step + rank + 1)).to(torch::kFloat32) / 255;
    const auto y = data.labels.slice(0, 8 * (2 * step + rank), 8 * (2 * step + rank + 1));
    torch::nn::functional::cross_entropy(n.forward(x), y).backward();
  };
  std::vector<std::vector<torch::Tensor>> expected(steps);
  for (int64_t step = 0; step < steps; ++step) {
    for (int64_t rank = 0; rank < ranks; ++rank) {
      auto copy = models::copy_network(*net);
      gradient(*copy, rank, step);
      const auto params = copy->parameters();
      for (size_t i = 0; i < params.size(); ++i) {
        const auto g = params[i].grad() / static_cast<double>(ranks);
        if (rank == 0)
          expected[step].push_back(g);
        else
          expected[step][i] += g;
      }
    }
  }
  const int64_t port = free_port();
  std::vector<std::future<int64_t>> futures;
  for (int64_t rank = 0; rank < ranks; ++rank) {
    futures.push_back(std::async(std::launch::async, [&, rank] {
      auto group = dist::Group::connect(loopback_job(rank, ranks, port), "gloo", 60);
      auto copy = models::copy_network(*net);
      dist::GradientAverager averager(group, copy->parameters(), /*bucket_bytes=*/4096);
      for (int64_t step = 0; step < steps; ++step) {
        for (auto& p : copy->parameters()) {
          if (p.grad().defined()) p.mutable_grad().zero_();
        }
        gradient(*copy, rank, step);
        averager.finish();
        const auto params = copy->parameters();
        for (size_t i = 0; i < params.size(); ++i) {
          EXPECT_TRUE(torch::allclose(params[i].grad(), expected[step][i], 1e-5, 1e-7))
              << "rank " << rank << " step " << step << " parameter " << i;
        }
      }
      return averager.buckets();
    }));
  }
  for (auto& f : futures) EXPECT_GT(f.get(), 3);
}

}  // namespace
}  // namespace repairbench
