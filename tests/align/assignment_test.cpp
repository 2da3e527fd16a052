#include "repairbench/align/assignment.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "hungarian_reference.h"
#include "repairbench/core/error.h"

namespace repairbench::align {
namespace {

using Matrix = std::vector<double>;  // row-major n x n

enum class Kind {
  kNormal,     // i.i.d. N(0, 1)
  kSmallInts,  // integers 0..3: many ties and many optimal matchings
  kBinary,     // 0 or 1: ties everywhere
  kConstant,   // every weight 2.5
  kNegative,   // uniform in [-100, -1]
  kRounded,    // N(0, 1) rounded to one decimal
  kCorrLike,   // correlations of units with a noisy permuted copy
  kWideRange,  // N(0, 1) * 10^U(-6, 6)
  kOuter,      // a[i] * b[j] + 0.01 N(0, 1): every row prefers the same columns
};

Matrix make(Kind kind, int64_t n, uint32_t seed) {
  std::mt19937_64 rng(seed * 7919u + static_cast<uint32_t>(n));
  std::normal_distribution<double> normal;
  Matrix w(n * n);
  switch (kind) {
    case Kind::kNormal:
      for (double& x : w) x = normal(rng);
      break;
    case Kind::kSmallInts:
      for (double& x : w) x = static_cast<double>(rng() % 4);
      break;
    case Kind::kBinary:
      for (double& x : w) x = static_cast<double>(rng() % 2);
      break;
    case Kind::kConstant:
      std::fill(w.begin(), w.end(), 2.5);
      break;
    case Kind::kNegative: {
      std::uniform_real_distribution<double> u(-100.0, -1.0);
      for (double& x : w) x = u(rng);
      break;
    }
    case Kind::kRounded:
      for (double& x : w) x = std::round(normal(rng) * 10.0) / 10.0;
      break;
    case Kind::kCorrLike: {
      const int64_t f = 16;
      std::vector<int64_t> perm(n);
      std::iota(perm.begin(), perm.end(), 0);
      std::shuffle(perm.begin(), perm.end(), rng);
      Matrix a(n * f), b(n * f);
      for (double& x : a) x = normal(rng);
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t k = 0; k < f; ++k) b[i * f + k] = a[perm[i] * f + k] + 1.5 * normal(rng);
      }
      const auto normalize = [f](Matrix& m, int64_t i) {
        double sum = 0, sq = 0;
        for (int64_t k = 0; k < f; ++k) sum += m[i * f + k];
        for (int64_t k = 0; k < f; ++k) m[i * f + k] -= sum / f;
        for (int64_t k = 0; k < f; ++k) sq += m[i * f + k] * m[i * f + k];
        for (int64_t k = 0; k < f; ++k) m[i * f + k] /= std::sqrt(sq);
      };
      for (int64_t i = 0; i < n; ++i) {
        normalize(a, i);
        normalize(b, i);
      }
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          double dot = 0;
          for (int64_t k = 0; k < f; ++k) dot += a[i * f + k] * b[j * f + k];
          w[i * n + j] = dot;
        }
      }
      break;
    }
    case Kind::kWideRange: {
      std::uniform_real_distribution<double> e(-6.0, 6.0);
      for (double& x : w) x = normal(rng) * std::pow(10.0, e(rng));
      break;
    }
    case Kind::kOuter: {
      std::uniform_real_distribution<double> u(0.0, 1.0);
      std::vector<double> a(n), b(n);
      for (double& x : a) x = u(rng);
      for (double& x : b) x = u(rng);
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < n; ++j) w[i * n + j] = a[i] * b[j] + 0.01 * normal(rng);
      }
      break;
    }
  }
  return w;
}

double total(const Matrix& w, int64_t n, const std::vector<int64_t>& cols) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += w[i * n + cols[i]];
  return sum;
}

bool is_permutation(const std::vector<int64_t>& cols, int64_t n) {
  if (static_cast<int64_t>(cols.size()) != n) return false;
  std::vector<bool> seen(n, false);
  for (const int64_t c : cols) {
    if (c < 0 || c >= n || seen[c]) return false;
    seen[c] = true;
  }
  return true;
}

double brute_force_best(const Matrix& w, int64_t n, bool maximize) {
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  double best = maximize ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  do {
    const double t = total(w, n, perm);
    best = maximize ? std::max(best, t) : std::min(best, t);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

Matrix negated(const Matrix& w) {
  Matrix out(w.size());
  for (size_t k = 0; k < w.size(); ++k) out[k] = -w[k];
  return out;
}

double scale_of(const Matrix& w) {
  double s = 1.0;
  for (const double x : w) s = std::max(s, std::fabs(x));
  return s;
}

constexpr AssignmentScan kScans[] = {AssignmentScan::kFullRows, AssignmentScan::kCandidates};

// Exact up to rounding, with either way of scanning rows: checks the results
// against the reference cost and checks that the reference's potentials
// really certify that cost.
void expect_optimal(const Matrix& w, int64_t n, bool maximize, const std::string& label) {
  const Matrix c = maximize ? negated(w) : w;
  const testing::HungarianReference ref = testing::hungarian_reference(c, n);
  const double tol = 1e-9 * scale_of(w) * static_cast<double>(n);
  double dual = 0, worst_slack = 0;
  for (int64_t i = 0; i < n; ++i) dual += ref.u[i] + ref.v[i];
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      worst_slack = std::min(worst_slack, c[i * n + j] - ref.u[i] - ref.v[j]);
    }
  }
  ASSERT_GT(worst_slack, -tol) << label << ": reference potentials infeasible";
  ASSERT_NEAR(dual, ref.cost, tol) << label << ": reference not optimal";
  for (const AssignmentScan scan : kScans) {
    const std::vector<int64_t> cols = solve_linear_assignment(w.data(), n, maximize, scan);
    ASSERT_TRUE(is_permutation(cols, n)) << label;
    const double ours = maximize ? -total(w, n, cols) : total(w, n, cols);
    EXPECT_NEAR(ours, ref.cost, tol) << label << " scan " << static_cast<int>(scan);
  }
}

std::string describe(Kind kind, int64_t n, uint32_t seed, bool maximize) {
  return "kind " + std::to_string(static_cast<int>(kind)) + " n " + std::to_string(n) + " seed " +
         std::to_string(seed) + (maximize ? " max" : " min");
}

TEST(LinearAssignment, MatchesBruteForceOnSmallMatrices) {
  for (const Kind kind : {Kind::kNormal, Kind::kSmallInts, Kind::kConstant, Kind::kNegative}) {
    for (int64_t n = 1; n <= 8; ++n) {
      for (uint32_t seed = 0; seed < (kind == Kind::kConstant ? 1u : 6u); ++seed) {
        const Matrix w = make(kind, n, seed);
        for (const bool maximize : {true, false}) {
          const std::string label = describe(kind, n, seed, maximize);
          const double best = brute_force_best(w, n, maximize);
          for (const AssignmentScan scan : kScans) {
            const std::vector<int64_t> cols = solve_linear_assignment(w.data(), n, maximize, scan);
            ASSERT_TRUE(is_permutation(cols, n)) << label;
            EXPECT_NEAR(total(w, n, cols), best, 1e-12 * scale_of(w) * n) << label;
          }
        }
      }
    }
  }
}

TEST(LinearAssignment, HandlesEmptyAndSingleMatrices) {
  EXPECT_TRUE(solve_linear_assignment(nullptr, 0, true).empty());
  const double one = -3.0;
  EXPECT_EQ(solve_linear_assignment(&one, 1, true), std::vector<int64_t>{0});
  EXPECT_EQ(solve_linear_assignment(&one, 1, false), std::vector<int64_t>{0});
  EXPECT_EQ(linear_assignment(torch::zeros({0, 0}), true).numel(), 0);
}

TEST(LinearAssignment, ScaledIdentityPlusNoiseGivesIdentity) {
  const int64_t n = 200;
  Matrix w = make(Kind::kNormal, n, 1);
  for (int64_t i = 0; i < n; ++i) w[i * n + i] += 1000.0;
  std::vector<int64_t> identity(n);
  std::iota(identity.begin(), identity.end(), 0);
  for (const AssignmentScan scan : kScans) {
    EXPECT_EQ(solve_linear_assignment(w.data(), n, true, scan), identity);
    EXPECT_EQ(solve_linear_assignment(negated(w).data(), n, false, scan), identity);
  }
}

TEST(LinearAssignment, RecoversThePermutationOfADiagonallyDominantMatrix) {
  const int64_t n = 257;
  std::mt19937_64 rng(5);
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  Matrix w = make(Kind::kNormal, n, 2);
  for (int64_t i = 0; i < n; ++i) w[i * n + perm[i]] += 10.0 * n;
  for (const AssignmentScan scan : kScans) {
    EXPECT_EQ(solve_linear_assignment(w.data(), n, true, scan), perm);
    EXPECT_EQ(solve_linear_assignment(negated(w).data(), n, false, scan), perm);
  }
}

TEST(LinearAssignment, MatchesHungarianReferenceOnLargerMatrices) {
  for (const Kind kind : {Kind::kNormal, Kind::kRounded, Kind::kBinary, Kind::kSmallInts, Kind::kCorrLike,
                          Kind::kWideRange, Kind::kNegative, Kind::kOuter}) {
    for (const bool maximize : {true, false}) {
      expect_optimal(make(kind, 300, 3), 300, maximize, describe(kind, 300, 3, maximize));
    }
  }
  // Larger than one block of candidate rows and blocks of columns.
  for (const Kind kind : {Kind::kNormal, Kind::kRounded}) {
    expect_optimal(make(kind, 700, 4), 700, true, describe(kind, 700, 4, true));
  }
}

// Sizes around the per-row candidate count and the column block sizes; the
// outer products make the candidate scan fall back to full rows often.
TEST(LinearAssignment, MatchesHungarianReferenceAcrossSizesAndTies) {
  for (const int64_t n : {9, 31, 33, 40, 64, 65, 100, 150}) {
    for (const Kind kind : {Kind::kNormal, Kind::kBinary, Kind::kSmallInts, Kind::kRounded, Kind::kOuter}) {
      for (uint32_t seed = 0; seed < 6; ++seed) {
        const bool maximize = seed % 2 == 0;
        expect_optimal(make(kind, n, seed), n, maximize, describe(kind, n, seed, maximize));
      }
    }
  }
}

TEST(LinearAssignment, IsDeterministic) {
  const Matrix w = make(Kind::kSmallInts, 300, 9);
  for (const AssignmentScan scan : kScans) {
    const std::vector<int64_t> first = solve_linear_assignment(w.data(), 300, true, scan);
    for (int r = 0; r < 3; ++r) {
      EXPECT_EQ(solve_linear_assignment(w.data(), 300, true, scan), first);
    }
  }
}

TEST(LinearAssignment, TensorApiAcceptsFloatingDtypes) {
  const int64_t n = 50;
  const Matrix w = make(Kind::kRounded, n, 11);
  const torch::Tensor t = torch::from_blob(const_cast<double*>(w.data()), {n, n}, torch::kFloat64);
  const std::vector<int64_t> expected = solve_linear_assignment(w.data(), n, true);
  // Totals of one-decimal values differ by multiples of 0.1, far more than
  // float32 rounding moves them, so the float32 answer is optimal too;
  // bfloat16 only has to give a permutation (here of a non-contiguous view).
  for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
    const torch::Tensor cols = linear_assignment(t.to(dtype), true);
    EXPECT_EQ(cols.scalar_type(), torch::kInt64);
    ASSERT_EQ(cols.sizes(), torch::IntArrayRef({n}));
    const std::vector<int64_t> got(cols.data_ptr<int64_t>(), cols.data_ptr<int64_t>() + n);
    EXPECT_NEAR(total(w, n, got), total(w, n, expected), 1e-9);
  }
  const torch::Tensor half = linear_assignment(t.to(torch::kBFloat16).t(), false);
  const std::vector<int64_t> got(half.data_ptr<int64_t>(), half.data_ptr<int64_t>() + n);
  EXPECT_TRUE(is_permutation(got, n));
}

// Runs fn, expecting Error(kUsage) whose message contains `needle`.
template <typename Fn>
void expect_usage_error(Fn fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected an error mentioning \"" << needle << "\"";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(LinearAssignment, RejectsBadInput) {
  expect_usage_error([] { linear_assignment(torch::zeros({3, 4}), true); }, "square");
  expect_usage_error([] { linear_assignment(torch::zeros({2, 2, 2}), true); }, "2-D");
  expect_usage_error([] { linear_assignment(torch::zeros({4}), true); }, "2-D");
  const torch::Tensor ints = torch::zeros({3, 3}, torch::kInt64);
  expect_usage_error([&] { linear_assignment(ints, true); }, "floating-point");
  torch::Tensor w = torch::rand({10, 10}, torch::kFloat64);
  w[3][7] = std::numeric_limits<double>::quiet_NaN();
  expect_usage_error([&] { linear_assignment(w, true); }, "NaN at (3, 7)");
  w[3][7] = 0.5;
  w[9][0] = -std::numeric_limits<double>::infinity();
  expect_usage_error([&] { linear_assignment(w.to(torch::kFloat32), false); }, "infinite value at (9, 0)");
  w[9][0] = 1e307;
  expect_usage_error([&] { linear_assignment(w, true); }, "too large");
  expect_usage_error([] { solve_linear_assignment(nullptr, -1, true); }, "non-negative");
  expect_usage_error([] { solve_linear_assignment(nullptr, 3, true); }, "null");
}

}  // namespace
}  // namespace repairbench::align
