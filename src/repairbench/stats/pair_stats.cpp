#include "repairbench/stats/pair_stats.h"

#include <torch/torch.h>

#include <functional>
#include <map>
#include <tuple>

#include "repairbench/core/error.h"
#include "repairbench/core/named.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/models/zoo.h"

namespace repairbench::stats {
namespace {

// (N, C) or (N, C, H, W) -> (rows, C) with rows = N*H*W.
torch::Tensor as_rows(const torch::Tensor& x) {
  if (x.dim() == 2) return x;
  return x.flatten(2).transpose(1, 2).reshape({-1, x.size(1)});
}

// The dimensions a per-channel statistic reduces over: all but C.
std::vector<int64_t> reduce_dims(const torch::Tensor& x) {
  std::vector<int64_t> dims = {0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

// Per-batch channel mean and unbiased variance, (C) float64 each, of a
// float64 activation. Callers convert with `.to(kFloat64)` first as the
// reference does (`.double()` before every statistic, docs/reference/algorithm.md §2a):
// ATen's float32 var_mean accumulates in double but rounds its results to
// float32, and that rounding of the mean alone moved LayerNorm ResNet20
// correlations by 1.7e-6 from the reference's (the parity tests, tests/parity).
std::pair<torch::Tensor, torch::Tensor> mean_var(const torch::Tensor& x) {
  const auto [var, mean] = torch::var_mean(x, reduce_dims(x), /*unbiased=*/true, /*keepdim=*/false);
  return {mean, var};
}

// Sums of per-batch statistics; divided by the batch count at the end.
struct Accumulator {
  PairStats sums;
  bool want_outer = false;
  bool want_cross = false;

  void add(const torch::Tensor& activation0, const torch::Tensor& activation1) {
    RB_CHECK(activation0.sizes() == activation1.sizes(), kUsage,
             "the two networks produce activations of different shapes (", activation0.sizes(), " vs ",
             activation1.sizes(), "); they must have the same architecture");
    const double rows = static_cast<double>(activation0.numel() / activation0.size(1));
    RB_CHECK(rows > 1, kUsage, "statistics need at least 2 positions per batch");
    // One float64 copy of each activation serves every statistic below.
    const torch::Tensor x0 = activation0.to(torch::kFloat64);
    const torch::Tensor x1 = activation1.to(torch::kFloat64);
    const auto [m0, v0] = mean_var(x0);
    const auto [m1, v1] = mean_var(x1);
    auto add_to = [](torch::Tensor& sum, const torch::Tensor& value) { sum = sum.defined() ? sum + value : value; };
    add_to(sums.mean0, m0);
    add_to(sums.mean1, m1);
    add_to(sums.var0, v0);
    add_to(sums.var1, v1);
    add_to(sums.std0, v0.sqrt());
    add_to(sums.std1, v1.sqrt());
    // E[x^2] from the same two moments: the biased variance plus the squared mean.
    add_to(sums.sq0, v0 * ((rows - 1.0) / rows) + m0 * m0);
    add_to(sums.sq1, v1 * ((rows - 1.0) / rows) + m1 * m1);
    if (want_cross) {
      std::vector<int64_t> shape(x0.dim(), 1);
      shape[1] = -1;
      const auto a = x0 - m0.view(shape);
      const auto b = x1 - m1.view(shape);
      add_to(sums.cross_cov, (a * b).sum(reduce_dims(x0)) / (rows - 1.0));
    }
    if (want_outer) add_to(sums.outer, torch::mm(as_rows(x0).t(), as_rows(x1)) / rows);  // (C, C)
    ++sums.batches;
  }

  // Every sum this accumulator holds, for an all-reduce in place.
  void tensors(std::vector<torch::Tensor>& out) {
    for (torch::Tensor* t : {&sums.mean0, &sums.mean1, &sums.var0, &sums.var1, &sums.std0, &sums.std1, &sums.sq0,
                             &sums.sq1, &sums.cross_cov, &sums.outer}) {
      if (t->defined()) out.push_back(*t);
    }
  }

  PairStats finish() const {
    RB_CHECK(sums.batches > 0, kInternal, "no batches reached a statistics point");
    const double n = static_cast<double>(sums.batches);
    PairStats out;
    out.mean0 = sums.mean0 / n;
    out.mean1 = sums.mean1 / n;
    out.var0 = sums.var0 / n;
    out.var1 = sums.var1 / n;
    out.std0 = sums.std0 / n;
    out.std1 = sums.std1 / n;
    out.sq0 = sums.sq0 / n;
    out.sq1 = sums.sq1 / n;
    if (sums.cross_cov.defined()) out.cross_cov = sums.cross_cov / n;
    if (sums.outer.defined()) out.outer = sums.outer / n;
    out.batches = sums.batches;
    return out;
  }
};

// Keeps net0's activations at the requested points for the current batch.
class CaptureProbe : public models::ActivationProbe {
 public:
  explicit CaptureProbe(const std::map<int64_t, size_t>& slots) : slots_(slots) {}
  torch::Tensor visit(int64_t point, const torch::Tensor& x) override {
    if (slots_.count(point) != 0) captured[point] = x;
    return x;
  }
  std::map<int64_t, torch::Tensor> captured;

 private:
  const std::map<int64_t, size_t>& slots_;
};

// Pairs net1's activations with net0's captured ones as they are produced, so
// at most one net1 activation per point is alive at a time.
class PairProbe : public models::ActivationProbe {
 public:
  PairProbe(const std::map<int64_t, size_t>& slots, CaptureProbe& capture, std::vector<Accumulator>& acc)
      : slots_(slots), capture_(capture), acc_(acc) {}
  torch::Tensor visit(int64_t point, const torch::Tensor& x) override {
    auto slot = slots_.find(point);
    if (slot != slots_.end()) {
      auto it = capture_.captured.find(point);
      RB_CHECK(it != capture_.captured.end(), kUsage, "point ", point,
               " was reached by the second network but not the first; the networks differ");
      acc_[slot->second].add(it->second, x);
      capture_.captured.erase(it);
    }
    return x;
  }

 private:
  const std::map<int64_t, size_t>& slots_;
  CaptureProbe& capture_;
  std::vector<Accumulator>& acc_;
};

// Running sums of one network's per-batch channel means and variances.
// Chains to the probe already installed (e.g. a correction that is part of
// the network being measured) and records what it returns.
class SingleProbe : public models::ActivationProbe {
 public:
  SingleProbe(const std::vector<int64_t>& points, models::ActivationProbe* inner) : inner_(inner) {
    for (int64_t p : points) sums_[p];
  }
  torch::Tensor visit(int64_t point, const torch::Tensor& input) override {
    const torch::Tensor x = inner_ == nullptr ? input : inner_->visit(point, input);
    auto it = sums_.find(point);
    if (it == sums_.end()) return x;
    const auto [m, v] = mean_var(x.to(torch::kFloat64));
    auto& [mean, var, batches] = it->second;
    mean = mean.defined() ? mean + m : m;
    var = var.defined() ? var + v : v;
    ++batches;
    return x;
  }
  // Sums (and batch counts) of every point over the ranks of a split pass.
  void reduce(dist::Group& group) {
    std::vector<torch::Tensor> sums;
    std::vector<int64_t*> counts;
    for (auto& [point, entry] : sums_) {
      auto& [mean, var, batches] = entry;
      RB_CHECK(mean.defined(), kInternal, "no batches of this rank reached statistics point ", point);
      sums.push_back(mean);
      sums.push_back(var);
      counts.push_back(&batches);
    }
    group.allreduce_sums_and_counts(std::move(sums), counts);
  }
  ChannelStats result(int64_t point) const {
    const auto& [mean, var, batches] = sums_.at(point);
    RB_CHECK(batches > 0, kInternal, "no batches reached statistics point ", point);
    return {mean / static_cast<double>(batches), var / static_cast<double>(batches)};
  }

 private:
  std::map<int64_t, std::tuple<torch::Tensor, torch::Tensor, int64_t>> sums_;
  models::ActivationProbe* inner_;
};

// Sums and batch counts of every accumulator over the ranks of a split pass.
void reduce(std::vector<Accumulator>& acc, dist::Group& group) {
  std::vector<torch::Tensor> sums;
  std::vector<int64_t*> counts;
  for (auto& a : acc) {
    RB_CHECK(a.sums.batches > 0, kInternal, "no batches of this rank reached a statistics point");
    a.tensors(sums);
    counts.push_back(&a.sums.batches);
  }
  group.allreduce_sums_and_counts(std::move(sums), counts);
}

}  // namespace

dist::PassShare for_each_batch_share(data::Loader& loader, dist::Group* group,
                                     const std::function<void(const data::Batch&)>& step) {
  loader.new_epoch();
  const dist::PassShare share = dist::share_pass(group, loader.num_batches());
  for (int64_t i = 0; i < loader.num_batches(); ++i) {
    if (share.owns(i)) {
      step(loader.batch(i));
    } else {
      loader.skip(i);
    }
  }
  return share;
}

std::vector<ChannelStats> collect_channel_stats(models::NetworkImpl& net, data::Loader& loader,
                                                const std::vector<int64_t>& points, const Context& context) {
  dist::Group* group = context.group;
  PassCounter* counter = context.counter;
  SingleProbe probe(points, net.probe());
  {
    const models::ModeScope eval_mode(net, false);
    torch::NoGradGuard no_grad;
    models::ProbeScope scope(net, &probe);
    const auto share =
        for_each_batch_share(loader, group, [&](const data::Batch& batch) { net.forward(batch.images); });
    if (share.split()) probe.reduce(*group);
    if (counter != nullptr) {
      counter->forward_batches += loader.num_batches();
      ++counter->data_passes;
    }
  }
  std::vector<ChannelStats> out;
  for (int64_t p : points) out.push_back(probe.result(p));
  return out;
}

namespace {
constexpr Named<StdEstimate> kStdEstimates[] = {{StdEstimate::kMoment, "moment"}, {StdEstimate::kAverage, "average"}};
}  // namespace

std::string to_string(StdEstimate estimate) { return name_of(kStdEstimates, estimate); }

StdEstimate parse_std_estimate(const std::string& text) { return parse_named(kStdEstimates, text, "std estimate"); }

torch::Tensor correlation(const PairStats& s, StdEstimate estimate) {
  RB_CHECK(s.outer.defined(), kInternal, "correlation needs the outer product statistics");
  const auto cov = s.outer - torch::outer(s.mean0, s.mean1);
  torch::Tensor std0 = s.std0, std1 = s.std1;
  if (estimate == StdEstimate::kMoment) {
    std0 = (s.sq0 - s.mean0 * s.mean0).clamp_min(0).sqrt();
    std1 = (s.sq1 - s.mean1 * s.mean1).clamp_min(0).sqrt();
  }
  return torch::nan_to_num(cov / (torch::outer(std0, std1) + 1e-4), 0.0, 0.0, 0.0);
}

std::vector<PairStats> collect_pair_stats(models::NetworkImpl& net0, models::NetworkImpl& net1, data::Loader& loader,
                                          const PairStatsRequest& request, const Context& context) {
  PassCounter* counter = context.counter;
  RB_CHECK(net0.config() == net1.config(), kUsage, "cannot compare ", net0.config().describe(), " with ",
           net1.config().describe(), ": ", models::config_difference(net0.config(), net1.config()),
           "; the two networks must have the same architecture");
  RB_CHECK(!request.points.empty(), kUsage, "no statistics points requested");
  std::map<int64_t, size_t> slots;
  std::vector<Accumulator> acc(request.points.size());
  for (size_t i = 0; i < request.points.size(); ++i) {
    const int64_t p = request.points[i];
    RB_CHECK(p >= 0 && p < static_cast<int64_t>(net0.points().size()), kInternal, "bad point index ", p);
    RB_CHECK(slots.emplace(p, i).second, kUsage, "point ", net0.points()[p].name, " requested twice");
    acc[i].want_outer = request.outer.count(p) != 0;
    acc[i].want_cross = request.cross;
  }

  models::Network copy1;
  models::NetworkImpl* a = &net0;
  models::NetworkImpl* b = &net1;
  if (a == b) {
    // One module cannot carry both probes; compare it with a copy of itself.
    copy1 = models::copy_network(net1);
    b = copy1.get();
  }
  CaptureProbe capture(slots);
  PairProbe pair(slots, capture, acc);
  {
    const models::ModeScope mode0(*a, request.train_mode), mode1(*b, request.train_mode);
    torch::NoGradGuard no_grad;
    models::ProbeScope scope0(*a, &capture);
    models::ProbeScope scope1(*b, &pair);
    bool split = false;
    for (int64_t epoch = 0; epoch < request.epochs; ++epoch) {
      split = for_each_batch_share(loader, context.group, [&](const data::Batch& batch) {
                a->forward(batch.images);
                b->forward(batch.images);
                capture.captured.clear();
              }).split();
      if (counter != nullptr) {
        counter->forward_batches += 2 * loader.num_batches();
        ++counter->data_passes;
      }
    }
    if (split) reduce(acc, *context.group);
  }
  std::vector<PairStats> out;
  out.reserve(acc.size());
  for (const auto& accumulator : acc) out.push_back(accumulator.finish());
  return out;
}

}  // namespace repairbench::stats
