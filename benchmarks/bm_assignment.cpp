// Linear assignment solver on the matrices neuron alignment produces.
//   BM_LinearAssignment/randn/<n>: i.i.d. standard normal weights (hardest case).
//   BM_LinearAssignment/corr/<n>:  correlations between n units and a noisy,
//                                  permuted copy of them, as alignment sees.
// One item = one solve (maximize, as alignment calls it). Each matrix is
// checked once before timing: the result must be a permutation whose total
// weight is at least that of a greedy assignment.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "repairbench/align/assignment.h"

namespace {

enum class Kind { kRandn, kCorr };

torch::Tensor make_matrix(Kind kind, int64_t n) {
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(1000 + n));
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  if (kind == Kind::kRandn) return at::randn({n, n}, gen, opts);
  // 128 features per unit; the second set is a permuted copy plus noise, so
  // matched units correlate at about 0.55 and the rest at about +-0.09.
  const int64_t features = 128;
  const torch::Tensor a = at::randn({n, features}, gen, opts);
  const torch::Tensor perm = at::randperm(n, gen, torch::TensorOptions().dtype(torch::kInt64));
  const torch::Tensor b = a.index_select(0, perm) + 1.5 * at::randn({n, features}, gen, opts);
  const auto standardize = [](const torch::Tensor& t) {
    const torch::Tensor c = t - t.mean(1, true);
    return c / c.norm(2, 1, true);
  };
  return torch::mm(standardize(a), standardize(b).t()).contiguous();
}

double objective(const double* w, int64_t n, const std::vector<int64_t>& cols) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += w[i * n + cols[i]];
  return sum;
}

// Rows in order each take their best free column.
double greedy_objective(const double* w, int64_t n) {
  std::vector<bool> taken(n, false);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t best = -1;
    for (int64_t j = 0; j < n; ++j) {
      if (!taken[j] && (best < 0 || w[i * n + j] > w[i * n + best])) best = j;
    }
    taken[best] = true;
    sum += w[i * n + best];
  }
  return sum;
}

// Empty when the solver's answer passes the checks, else what is wrong.
std::string check(const double* w, int64_t n) {
  const std::vector<int64_t> cols = repairbench::align::solve_linear_assignment(w, n, true);
  if (static_cast<int64_t>(cols.size()) != n) return "wrong result length";
  std::vector<bool> seen(n, false);
  for (const int64_t c : cols) {
    if (c < 0 || c >= n || seen[c]) return "result is not a permutation";
    seen[c] = true;
  }
  const double ours = objective(w, n, cols);
  const double greedy = greedy_objective(w, n);
  if (ours < greedy - 1e-9 * std::abs(greedy)) {
    return "objective " + std::to_string(ours) + " is below greedy " + std::to_string(greedy);
  }
  return "";
}

struct Case {
  torch::Tensor weights;
  std::string problem;  // empty when the check passed
};

// Matrices are built and checked once per (kind, n), outside the timed loop;
// the cache also keeps the problem text alive for SkipWithError.
const Case& get_case(Kind kind, int64_t n) {
  static std::map<std::pair<Kind, int64_t>, Case> cache;
  auto it = cache.find({kind, n});
  if (it == cache.end()) {
    Case c{make_matrix(kind, n), ""};
    c.problem = check(c.weights.data_ptr<double>(), n);
    it = cache.emplace(std::make_pair(kind, n), std::move(c)).first;
  }
  return it->second;
}

void BM_LinearAssignment(benchmark::State& state, Kind kind) {
  const int64_t n = state.range(0);
  const Case& c = get_case(kind, n);
  if (!c.problem.empty()) {
    state.SkipWithError(c.problem.c_str());
    return;
  }
  const double* w = c.weights.data_ptr<double>();
  for (auto _ : state) {
    std::vector<int64_t> cols = repairbench::align::solve_linear_assignment(w, n, true);
    benchmark::DoNotOptimize(cols.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["n"] = static_cast<double>(n);
}

BENCHMARK_CAPTURE(BM_LinearAssignment, randn, Kind::kRandn)
    ->RangeMultiplier(2)
    ->Range(64, 4096)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_LinearAssignment, corr, Kind::kCorr)
    ->RangeMultiplier(2)
    ->Range(64, 4096)
    ->Unit(benchmark::kMillisecond);

}  // namespace
