#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace repairbench::align {

/// How the shortest augmenting path phase of the solver reads rows. Every choice
/// gives an optimal matching; they differ in speed only. kAuto reads full rows up
/// to n = 1024 and per-row candidate lists above, where re-reading full rows costs
/// more than keeping the lists. Forcing one is meant for tests and benchmarks.
enum class AssignmentScan { kAuto, kFullRows, kCandidates };

/// Exact maximum- (or minimum-) weight perfect matching on a square matrix.
///
/// `weights` is an n x n row-major float64 matrix; the result holds col[i], the
/// column matched to row i, and is a permutation of 0..n-1. Among several optimal
/// matchings one is returned deterministically. The solver is a Jonker-Volgenant
/// shortest augmenting path method in double precision, single-threaded.
/// Throws Error(kUsage) when a weight is NaN or infinite, or when the weights are
/// so large that sums of n of their differences could overflow.
std::vector<int64_t> solve_linear_assignment(const double* weights, int64_t n, bool maximize,
                                             AssignmentScan scan = AssignmentScan::kAuto);

/// Same on a (n, n) tensor of any floating dtype, converted to float64 on the CPU.
/// Returns the (n) int64 CPU tensor of matched columns. Throws Error(kUsage) when the
/// tensor is not 2-D, not square, not floating point, or holds NaN/Inf.
torch::Tensor linear_assignment(const torch::Tensor& weights, bool maximize);

}  // namespace repairbench::align
