#include "repairbench/align/assignment.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "repairbench/core/error.h"

// Solver outline (Jonker & Volgenant 1987, minimisation form; maximisation
// multiplies every weight by -1 as it is read, which is exact):
//   1. column reduction: v[j] = min_i c[i][j], each column offered to its
//      minimising row, then reduction transfer for rows that got one column;
//   2. (full-row mode) two passes of augmenting row reduction, which assign
//      most of the remaining rows;
//   3. one shortest augmenting path (Dijkstra on reduced costs) per free row.
// Throughout, every assigned row i is tight: x[i] minimises c[i][j] - v[j],
// and the column potentials v only ever decrease.
//
// Step 3 dominates on large matrices: a dense Dijkstra re-reads an n-long row
// per scanned row, ~30n rows at n = 4096, which made it memory bound. In
// candidate mode each row, the first time it is scanned, keeps its kCandidates
// smallest reduced costs c[i][j] - v[j] together with tau[i], a value no other
// column of the row went below. Because v only decreases, tau[i] stays a lower
// bound for the row's other columns, so a later scan can relax the candidates
// alone and leave the bound tau[i] + delta on a heap; whenever the next
// distance to be settled exceeds the smallest such bound, that row is relaxed
// in full first. Every settled distance is therefore exact, as in the dense
// algorithm. Tentative distances sit in blocks of about sqrt(n) columns with
// a running minimum per block, so finding the closest column costs O(sqrt(n)).

namespace repairbench::align {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Candidate columns kept per row. Fewer mean more full-row relaxations, more
// mean longer scans; of 8, 12, 16, 24, 32 and 48, 16 was fastest on random
// 2048 and 4096 matrices.
constexpr int64_t kCandidates = 16;

// A row whose bound forced this many full relaxations is always read in full
// from then on: on matrices like an outer product a[i] * b[j] every row prefers
// the same few columns and the candidate lists only add work.
constexpr int32_t kMaxExpansions = 2;

// AssignmentScan::kAuto uses candidates above this n. On random and rounded
// random matrices full rows won up to 1024, were even at 1280 and lost from
// 1536 on with AVX-512 code; with 4-lane AVX2 code they were even at 768.
constexpr int64_t kFullRowsUpTo = 1024;

// Row kernels. The whole solver is compiled three times, for AVX-512, AVX2 and
// the baseline ISA, and picked at run time (solve_linear_assignment). The
// kernels below are written with GCC/Clang vector types of L doubles (8 for
// AVX-512, else 4) or as plain loops the compiler vectorises. Their results do
// not depend on L (minima, and ties broken by column index) and no rounding
// differs between the ISAs (the only products, sign * weight, are exact), so
// the matching does not depend on the machine.
template <int L>
struct Simd {
  typedef double Vec __attribute__((vector_size(L * sizeof(double))));
  typedef int64_t Mask __attribute__((vector_size(L * sizeof(int64_t))));
};

template <typename V, typename T>
inline void load(V* out, const T* p) {
  std::memcpy(out, p, sizeof(V));
}
template <typename V, typename T>
inline void store(T* p, const V& v) {
  std::memcpy(p, &v, sizeof(V));
}

// True when every |a[k]| <= limit (false for NaN and infinities).
inline bool all_within(const double* __restrict a, int64_t count, double limit) {
  constexpr int kAccumulators = 8;
  int64_t bad[kAccumulators] = {};
  int64_t k = 0;
  for (; k + kAccumulators <= count; k += kAccumulators) {
    for (int l = 0; l < kAccumulators; ++l) bad[l] |= std::fabs(a[k + l]) <= limit ? 0 : 1;
  }
  for (; k < count; ++k) bad[0] |= std::fabs(a[k]) <= limit ? 0 : 1;
  int64_t any = 0;
  for (int l = 0; l < kAccumulators; ++l) any |= bad[l];
  return any == 0;
}

// Folds one row into the running column minima (first row wins ties).
inline void fold_column_minima(const double* __restrict row, double sign, int64_t n, int32_t i,
                               double* __restrict colmin, int32_t* __restrict argmin) {
  for (int64_t j = 0; j < n; ++j) {
    const double c = sign * row[j];
    const bool lower = c < colmin[j];
    colmin[j] = lower ? c : colmin[j];
    argmin[j] = lower ? i : argmin[j];
  }
}

// min_j (sign * row[j] - v[j]).
template <int L>
double min_reduced_cost(const double* __restrict row, double sign, const double* __restrict v, int64_t n) {
  using Vec = typename Simd<L>::Vec;
  // Two accumulators hide the latency of the compare-and-select chain.
  Vec m0 = Vec{} + kInf, m1 = m0;
  int64_t j = 0;
  for (; j + 2 * L <= n; j += 2 * L) {
    Vec r0, r1, v0, v1;
    load(&r0, row + j);
    load(&r1, row + j + L);
    load(&v0, v + j);
    load(&v1, v + j + L);
    const Vec h0 = sign * r0 - v0, h1 = sign * r1 - v1;
    m0 = h0 < m0 ? h0 : m0;
    m1 = h1 < m1 ? h1 : m1;
  }
  double out = kInf;
  for (; j < n; ++j) out = std::min(out, sign * row[j] - v[j]);
  for (int l = 0; l < L; ++l) out = std::min(out, std::min(m0[l], m1[l]));
  return out;
}

struct TwoSmallest {
  double u1, u2;   // smallest and second smallest value
  int64_t j1, j2;  // their columns; ties go to the lower column
};

// Two smallest reduced costs of a row (n >= 2), ordered by (value, column).
template <int L>
TwoSmallest two_smallest(const double* __restrict row, double sign, const double* __restrict v, int64_t n) {
  using Vec = typename Simd<L>::Vec;
  using Mask = typename Simd<L>::Mask;
  // Each lane keeps its own two smallest by (value, column); the overall two
  // smallest are among them.
  Vec u1 = Vec{} + kInf, u2 = u1;
  Mask j1 = Mask{} - 1, j2 = j1;
  Mask col;
  for (int l = 0; l < L; ++l) col[l] = l;
  int64_t j = 0;
  for (; j + L <= n; j += L) {
    Vec r, vj;
    load(&r, row + j);
    load(&vj, v + j);
    const Vec h = sign * r - vj;
    const Mask lt1 = h < u1;
    const Mask lt2 = h < u2;
    j2 = lt1 ? j1 : (lt2 ? col : j2);
    u2 = lt1 ? u1 : (lt2 ? h : u2);
    j1 = lt1 ? col : j1;
    u1 = lt1 ? h : u1;
    col += L;
  }
  TwoSmallest t{kInf, kInf, -1, -1};
  const auto offer = [&t](double u, int64_t c) {
    if (c < 0) return;
    if (u < t.u1 || (u == t.u1 && c < t.j1)) {
      t.u2 = t.u1;
      t.j2 = t.j1;
      t.u1 = u;
      t.j1 = c;
    } else if (u < t.u2 || (u == t.u2 && c < t.j2)) {
      t.u2 = u;
      t.j2 = c;
    }
  };
  for (int l = 0; l < L; ++l) {
    offer(u1[l], j1[l]);
    offer(u2[l], j2[l]);
  }
  for (; j < n; ++j) offer(sign * row[j] - v[j], j);
  return t;
}

// Relaxes the tentative distances with row i in full: h = c[i][k] - v[k] + delta
// replaces d[k] (and pred[k] = i) when smaller. Columns are grouped in blocks of
// `block` (a multiple of L): block_min[b] is lowered to the smallest new
// distance in block b, and reduced[] / block_reduced_min[] receive c[i][k] - v[k]
// and its per-block minimum for candidate selection. Settled columns hold
// d = -inf and so are never relaxed.
template <int L>
void relax_row(const double* __restrict row, double sign, const double* __restrict v, double delta, int32_t i,
               int64_t n, int64_t block, double* __restrict d, int64_t* __restrict pred, double* __restrict block_min,
               double* __restrict reduced, double* __restrict block_reduced_min) {
  using Vec = typename Simd<L>::Vec;
  using Mask = typename Simd<L>::Mask;
  const Mask row_index = Mask{} + i;
  const Vec inf = Vec{} + kInf;
  const int64_t full_blocks = n / block;
  for (int64_t b = 0; b < full_blocks; ++b) {
    Vec m = inf, r = inf;
    for (int64_t k = b * block; k < (b + 1) * block; k += L) {
      Vec c, vk, dk;
      Mask pk;
      load(&c, row + k);
      load(&vk, v + k);
      load(&dk, d + k);
      load(&pk, pred + k);
      const Vec val = sign * c - vk;
      store(reduced + k, val);
      r = val < r ? val : r;
      const Vec h = val + delta;
      const Mask lower = h < dk;
      store(d + k, lower ? h : dk);
      store(pred + k, lower ? row_index : pk);
      const Vec hv = lower ? h : inf;
      m = hv < m ? hv : m;
    }
    double mb = block_min[b], rb = kInf;
    for (int l = 0; l < L; ++l) {
      mb = std::min(mb, m[l]);
      rb = std::min(rb, r[l]);
    }
    block_min[b] = mb;
    block_reduced_min[b] = rb;
  }
  if (full_blocks * block < n) {
    double mb = block_min[full_blocks], rb = kInf;
    for (int64_t k = full_blocks * block; k < n; ++k) {
      const double val = sign * row[k] - v[k];
      reduced[k] = val;
      rb = std::min(rb, val);
      const double h = val + delta;
      if (h < d[k]) {
        d[k] = h;
        pred[k] = i;
        mb = std::min(mb, h);
      }
    }
    block_min[full_blocks] = mb;
    block_reduced_min[full_blocks] = rb;
  }
}

// Smallest entry of values[0, count) that is not -inf (count a multiple of L).
template <int L>
double min_unsettled(const double* __restrict values, int64_t count) {
  using Vec = typename Simd<L>::Vec;
  const Vec inf = Vec{} + kInf;
  Vec m = inf;
  for (int64_t k = 0; k < count; k += L) {
    Vec x;
    load(&x, values + k);
    x = x == -inf ? inf : x;
    m = x < m ? x : m;
  }
  double out = kInf;
  for (int l = 0; l < L; ++l) out = std::min(out, m[l]);
  return out;
}

// L: vector lanes of the row kernels, see Simd.
template <int L>
class Solver {
  static_assert(L <= 8, "column blocks hold at least 8 columns and must fit whole vectors");

 public:
  Solver(const double* a, int64_t n, bool maximize, bool use_candidates)
      : a_(a),
        n_(n),
        sign_(maximize ? -1.0 : 1.0),
        use_candidates_(use_candidates),
        x_(n, -1),
        y_(n, -1),
        v_(n),
        match_cost_(n) {}

  std::vector<int64_t> run() {
    std::vector<int32_t> free_rows = reduce_columns();
    // Augmenting row reduction re-reads whole rows many times; with candidate
    // lists the shortest path phase assigns those rows for less (measured at
    // n = 2048..4096), so it only runs before full-row scans.
    for (int pass = 0; pass < 2 && !use_candidates_ && !free_rows.empty(); ++pass) {
      free_rows = augmenting_row_reduction(free_rows);
    }
    if (!free_rows.empty()) {
      prepare_augmentation();
      for (const int32_t f : free_rows) augment(f);
    }
    return std::vector<int64_t>(x_.begin(), x_.end());
  }

 private:
  struct Candidate {
    double cost;
    int32_t col;
  };
  struct Selected {
    double reduced;
    double cost;
    int32_t col;
  };
  // A row scanned through its candidates: its other columns lie at >= bound.
  struct PendingRow {
    double bound;
    double delta;
    int32_t row;
  };
  struct LaterBound {  // heap order: smallest bound (then row) on top
    bool operator()(const PendingRow& p, const PendingRow& q) const {
      return p.bound != q.bound ? p.bound > q.bound : p.row > q.row;
    }
  };

  const double* row(int64_t i) const { return a_ + i * n_; }
  double cost(int64_t i, int64_t j) const { return sign_ * a_[i * n_ + j]; }

  // Column reduction and reduction transfer; returns the rows left unassigned.
  std::vector<int32_t> reduce_columns() {
    const int64_t n = n_;
    std::vector<int32_t> argmin(n, 0);
    for (int64_t j = 0; j < n; ++j) v_[j] = cost(0, j);
    for (int64_t i = 1; i < n; ++i) {
      fold_column_minima(row(i), sign_, n, static_cast<int32_t>(i), v_.data(), argmin.data());
    }
    std::vector<uint8_t> columns_won(n, 0);
    for (int64_t j = 0; j < n; ++j) {
      const int32_t i = argmin[j];
      if (x_[i] < 0) {
        x_[i] = static_cast<int32_t>(j);
        y_[j] = i;
        match_cost_[i] = v_[j];
      }
      columns_won[i] = static_cast<uint8_t>(std::min(columns_won[i] + 1, 2));
    }
    std::vector<int32_t> free_rows;
    for (int64_t i = 0; i < n; ++i) {
      if (columns_won[i] == 0) {
        free_rows.push_back(static_cast<int32_t>(i));
      } else if (columns_won[i] == 1) {
        // The row's only column can give up the gap to the row's second best
        // column: lowering v there leaves other rows more room.
        const int32_t j1 = x_[i];
        const double kept = v_[j1];
        v_[j1] = -kInf;
        const double gap = min_reduced_cost<L>(row(i), sign_, v_.data(), n);
        v_[j1] = kept - gap;
      }
    }
    return free_rows;
  }

  // One pass of augmenting row reduction over `rows`; returns the rows still free.
  std::vector<int32_t> augmenting_row_reduction(std::vector<int32_t> rows) {
    std::vector<int32_t> still_free;
    // A displaced row is retried at once when its column's potential dropped;
    // on ties the potential drops by tiny amounts only, so the retries are capped.
    int64_t retries_left = n_;
    size_t k = 0;
    while (k < rows.size()) {
      const int32_t i = rows[k++];
      const TwoSmallest t = two_smallest<L>(row(i), sign_, v_.data(), n_);
      int64_t j = t.j1;
      int32_t displaced = y_[j];
      const bool drop = t.u1 < t.u2;
      if (drop) {
        v_[j] -= t.u2 - t.u1;
      } else if (displaced >= 0) {
        j = t.j2;
        displaced = y_[j];
      }
      x_[i] = static_cast<int32_t>(j);
      y_[j] = i;
      match_cost_[i] = cost(i, j);
      if (displaced < 0) continue;
      x_[displaced] = -1;
      if (drop && retries_left > 0) {
        --retries_left;
        rows[--k] = displaced;
      } else {
        still_free.push_back(displaced);
      }
    }
    return still_free;
  }

  void prepare_augmentation() {
    const int64_t n = n_;
    // Blocks of about sqrt(n) columns balance the two levels of closest_column.
    shift_ = 3;
    while ((int64_t{1} << (2 * shift_)) < n) ++shift_;
    block_ = int64_t{1} << shift_;
    blocks_ = (n + block_ - 1) / block_;
    const int64_t padded_blocks = (blocks_ + L - 1) / L * L;
    d_.assign(blocks_ * block_, -kInf);  // columns past n count as settled
    pred_.assign(n, 0);
    block_min_.assign(padded_blocks, kInf);
    reduced_.assign(n, 0.0);
    block_reduced_min_.assign(blocks_, kInf);
    settled_at_.assign(n, 0.0);
    settled_.reserve(n);
    num_candidates_.assign(n, -1);
    if (use_candidates_) {
      candidates_.resize(n * std::min(kCandidates, n));
      tau_.assign(n, kInf);
      expansions_.assign(n, 0);
      selected_.resize(2 * kCandidates);
      pending_.reserve(n);
    }
  }

  // Shortest augmenting path from free row f, then the potential update and the
  // augmentation along it.
  void augment(int32_t f) {
    std::fill(d_.begin(), d_.begin() + n_, kInf);
    std::fill(block_min_.begin(), block_min_.begin() + blocks_, kInf);
    pending_.clear();
    settled_.clear();
    scan_row_dense(f, 0.0);
    int32_t end = -1;
    double length = 0.0;
    for (;;) {
      double dist = 0.0;
      const int32_t j = closest_column(&dist);
      if (!pending_.empty() && pending_.front().bound < dist) {
        const PendingRow p = pending_.front();
        std::pop_heap(pending_.begin(), pending_.end(), LaterBound());
        pending_.pop_back();
        if (++expansions_[p.row] >= kMaxExpansions) num_candidates_[p.row] = -1;
        scan_row_dense(p.row, p.delta);
        continue;
      }
      if (y_[j] < 0) {
        end = j;
        length = dist;
        break;
      }
      settled_.push_back(j);
      settled_at_[j] = dist;
      d_[j] = -kInf;
      block_min_[j >> shift_] = min_unsettled<L>(d_.data() + (j >> shift_) * block_, block_);
      const int32_t i = y_[j];
      const double delta = dist - (match_cost_[i] - v_[j]);
      if (num_candidates_[i] < 0) {
        scan_row_dense(i, delta);
      } else {
        scan_row_candidates(i, delta);
      }
    }
    // min() keeps v non-increasing even where rounding settled a column a hair
    // above the final length; the candidate bounds rely on that.
    for (const int32_t j : settled_) v_[j] += std::min(0.0, settled_at_[j] - length);
    for (int32_t j = end;;) {
      const int32_t i = static_cast<int32_t>(pred_[j]);
      y_[j] = i;
      std::swap(j, x_[i]);
      match_cost_[i] = cost(i, x_[i]);
      if (i == f) break;
    }
  }

  // Unsettled column with the smallest tentative distance; among equals a free
  // column first (it ends the search), then the lowest index.
  int32_t closest_column(double* dist) {
    const double best = min_unsettled<L>(block_min_.data(), static_cast<int64_t>(block_min_.size()));
    *dist = best;
    int32_t first = -1;
    for (int64_t b = 0; b < blocks_; ++b) {
      if (block_min_[b] != best) continue;
      const int64_t hi = std::min(n_, (b + 1) * block_);
      for (int64_t k = b * block_; k < hi; ++k) {
        if (d_[k] != best) continue;
        if (y_[k] < 0) return static_cast<int32_t>(k);
        if (first < 0) first = static_cast<int32_t>(k);
      }
    }
    RB_CHECK(first >= 0, kInternal, "linear assignment found no column to settle (n = ", n_, ")");
    return first;
  }

  // Relaxes every column of row i and refreshes the row's candidates.
  void scan_row_dense(int32_t i, double delta) {
    relax_row<L>(row(i), sign_, v_.data(), delta, i, n_, block_, d_.data(), pred_.data(), block_min_.data(),
                 reduced_.data(), block_reduced_min_.data());
    if (!use_candidates_ || expansions_[i] >= kMaxExpansions) return;
    // Keep the kCandidates smallest reduced costs: collect values below a
    // threshold into a buffer of twice that size, and whenever it fills, keep
    // its smaller half and lower the threshold to the smallest value dropped.
    const int64_t limit = std::min(kCandidates, n_);
    Selected* buf = selected_.data();
    const auto by_value = [](const Selected& p, const Selected& q) { return p.reduced < q.reduced; };
    int64_t count = 0;
    double threshold = kInf;
    const double* r = row(i);
    for (int64_t b = 0; b < blocks_; ++b) {
      if (!(block_reduced_min_[b] < threshold)) continue;
      const int64_t hi = std::min(n_, (b + 1) * block_);
      for (int64_t k = b * block_; k < hi; ++k) {
        if (!(reduced_[k] < threshold)) continue;
        buf[count++] = {reduced_[k], sign_ * r[k], static_cast<int32_t>(k)};
        if (count == 2 * kCandidates) {
          std::nth_element(buf, buf + kCandidates, buf + count, by_value);
          threshold = buf[kCandidates].reduced;
          count = kCandidates;
        }
      }
    }
    // Every column left out has a reduced cost >= tau.
    double tau = threshold;
    if (count > limit) {
      std::nth_element(buf, buf + limit, buf + count, by_value);
      tau = std::min(tau, buf[limit].reduced);
      count = limit;
    }
    Candidate* out = candidates_.data() + i * limit;
    for (int64_t q = 0; q < count; ++q) out[q] = {buf[q].cost, buf[q].col};
    num_candidates_[i] = static_cast<int32_t>(count);
    tau_[i] = tau;
  }

  // Relaxes the candidate columns of row i; defers the rest behind its bound.
  void scan_row_candidates(int32_t i, double delta) {
    const int64_t limit = std::min(kCandidates, n_);
    const Candidate* list = candidates_.data() + i * limit;
    const int32_t count = num_candidates_[i];
    for (int32_t q = 0; q < count; ++q) {
      const int32_t k = list[q].col;
      const double h = list[q].cost - v_[k] + delta;
      if (h < d_[k]) {
        d_[k] = h;
        pred_[k] = i;
        double& bmin = block_min_[k >> shift_];
        bmin = std::min(bmin, h);
      }
    }
    if (tau_[i] < kInf) {
      pending_.push_back({tau_[i] + delta, delta, i});
      std::push_heap(pending_.begin(), pending_.end(), LaterBound());
    }
  }

  const double* a_;
  int64_t n_;
  double sign_;  // -1 maximises by minimising the negated weights
  bool use_candidates_;
  std::vector<int32_t> x_;  // column of each row, -1 if free
  std::vector<int32_t> y_;  // row of each column, -1 if free
  std::vector<double> v_;   // column potentials
  // c[i][x[i]], kept so that a scan need not fetch it from a far-away row.
  std::vector<double> match_cost_;

  // Augmentation state, reused across free rows.
  int shift_ = 3;
  int64_t block_ = 8;
  int64_t blocks_ = 0;
  std::vector<double> d_;          // tentative distances; -inf once settled
  std::vector<int64_t> pred_;      // row that gave each column its distance (same width as d)
  std::vector<double> block_min_;  // smallest unsettled d per block (+inf padded)
  std::vector<double> reduced_;    // scratch: reduced costs of the row last relaxed in full
  std::vector<double> block_reduced_min_;
  std::vector<double> settled_at_;
  std::vector<int32_t> settled_;
  std::vector<Candidate> candidates_;    // kCandidates slots per row
  std::vector<int32_t> num_candidates_;  // -1 until the row is first relaxed in full
  std::vector<double> tau_;
  std::vector<int32_t> expansions_;  // full relaxations forced by tau, per row
  std::vector<Selected> selected_;
  std::vector<PendingRow> pending_;  // min-heap on bound
};

// Names the first weight that is NaN, infinite or beyond `limit`.
[[noreturn]] void fail_on_bad_weight(const double* a, int64_t n, double limit) {
  for (int64_t k = 0; k < n * n; ++k) {
    const double w = a[k];
    if (std::fabs(w) <= limit) continue;
    const int64_t i = k / n, j = k % n;
    if (std::isnan(w)) RB_FAIL(kUsage, "assignment matrix has a NaN at (", i, ", ", j, ")");
    if (std::isinf(w)) {
      RB_FAIL(kUsage, "assignment matrix has an infinite value at (", i, ", ", j, ")");
    }
    RB_FAIL(kUsage, "assignment matrix value ", w, " at (", i, ", ", j, ") is too large: with n = ", n,
            " every |weight| must stay below ", limit, " so that path lengths stay finite");
  }
  RB_FAIL(kInternal, "assignment matrix check failed without a bad weight");
}

// Input check and solve with L-lane row kernels (n >= 1).
template <int L>
std::vector<int64_t> check_and_solve(const double* weights, int64_t n, bool maximize, bool use_candidates) {
  // Path lengths add up to 2n weight differences; this keeps them finite.
  const double limit = std::numeric_limits<double>::max() / (8.0 * static_cast<double>(n + 1));
  if (!all_within(weights, n * n, limit)) fail_on_bad_weight(weights, n, limit);
  if (n == 1) return {0};
  return Solver<L>(weights, n, maximize, use_candidates).run();
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define RB_ASSIGNMENT_DISPATCH 1
// flatten inlines the whole solver into these, so all of it is compiled for the
// ISA; at n = 512 this ran about 1.2x faster than 4-lane kernels cloned per ISA.
using SolveFn = std::vector<int64_t>(const double*, int64_t, bool, bool);
__attribute__((target("avx512f"), flatten)) SolveFn solve_avx512;
__attribute__((target("avx2"), flatten)) SolveFn solve_avx2;

std::vector<int64_t> solve_avx512(const double* weights, int64_t n, bool maximize, bool use_candidates) {
  return check_and_solve<8>(weights, n, maximize, use_candidates);
}
std::vector<int64_t> solve_avx2(const double* weights, int64_t n, bool maximize, bool use_candidates) {
  return check_and_solve<4>(weights, n, maximize, use_candidates);
}
#endif

}  // namespace

std::vector<int64_t> solve_linear_assignment(const double* weights, int64_t n, bool maximize, AssignmentScan scan) {
  RB_CHECK(n >= 0, kUsage, "assignment matrix size must be non-negative, got ", n);
  RB_CHECK(n <= std::numeric_limits<int32_t>::max(), kUsage, "assignment matrix size ", n, " is too large");
  if (n == 0) return {};
  RB_CHECK(weights != nullptr, kUsage, "assignment matrix data is null for n = ", n);
  const bool use_candidates =
      scan == AssignmentScan::kCandidates || (scan == AssignmentScan::kAuto && n > kFullRowsUpTo);
#ifdef RB_ASSIGNMENT_DISPATCH
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return solve_avx512(weights, n, maximize, use_candidates);
  if (__builtin_cpu_supports("avx2")) return solve_avx2(weights, n, maximize, use_candidates);
#endif
  return check_and_solve<4>(weights, n, maximize, use_candidates);
}

torch::Tensor linear_assignment(const torch::Tensor& weights, bool maximize) {
  RB_CHECK(weights.dim() == 2, kUsage, "linear_assignment expects a 2-D matrix, got shape ", weights.sizes());
  RB_CHECK(weights.size(0) == weights.size(1), kUsage, "linear_assignment expects a square matrix, got shape ",
           weights.sizes());
  RB_CHECK(weights.is_floating_point(), kUsage, "linear_assignment expects a floating-point matrix, got dtype ",
           weights.dtype());
  const torch::Tensor w = weights.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const int64_t n = w.size(0);
  const std::vector<int64_t> cols = solve_linear_assignment(w.data_ptr<double>(), n, maximize);
  torch::Tensor out = torch::empty({n}, torch::kInt64);
  if (n > 0) std::memcpy(out.data_ptr<int64_t>(), cols.data(), sizeof(int64_t) * n);
  return out;
}

}  // namespace repairbench::align
