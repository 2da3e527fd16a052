#pragma once

// The textbook Hungarian method, kept apart from the solver it checks: the
// exactness tests of align::solve_linear_assignment compare costs with it, and
// the regression guards time the solver against it on the same matrices.

#include <cstdint>
#include <limits>
#include <vector>

namespace repairbench::testing {

/// The optimal cost of an assignment and the potentials that certify it:
/// c[i][j] >= u[i] + v[j] for all i, j and sum(u) + sum(v) = cost.
struct HungarianReference {
  double cost = 0;
  std::vector<double> u, v;
};

/// The textbook O(n^3) Hungarian method on the row-major n x n cost matrix
/// `c`, minimising: one row added per phase with a Dijkstra over columns and
/// explicit row and column potentials.
inline HungarianReference hungarian_reference(const std::vector<double>& c, int64_t n) {
  const double inf = std::numeric_limits<double>::infinity();
  // Column n is a virtual column holding the row being added.
  std::vector<double> u(n, 0.0), v(n + 1, 0.0);
  std::vector<int64_t> row_of(n + 1, -1), came_from(n + 1, -1);
  for (int64_t r = 0; r < n; ++r) {
    row_of[n] = r;
    int64_t cur = n;
    std::vector<double> dist(n + 1, inf);
    std::vector<bool> done(n + 1, false);
    while (row_of[cur] != -1) {
      done[cur] = true;
      const int64_t i = row_of[cur];
      double step = inf;
      int64_t next = -1;
      for (int64_t j = 0; j < n; ++j) {
        if (done[j]) continue;
        const double reduced = c[i * n + j] - u[i] - v[j];
        if (reduced < dist[j]) {
          dist[j] = reduced;
          came_from[j] = cur;
        }
        if (dist[j] < step) {
          step = dist[j];
          next = j;
        }
      }
      for (int64_t j = 0; j <= n; ++j) {
        if (done[j]) {
          u[row_of[j]] += step;
          v[j] -= step;
        } else {
          dist[j] -= step;
        }
      }
      cur = next;
    }
    while (cur != n) {
      const int64_t prev = came_from[cur];
      row_of[cur] = row_of[prev];
      cur = prev;
    }
  }
  HungarianReference ref;
  for (int64_t j = 0; j < n; ++j) ref.cost += c[row_of[j] * n + j];
  ref.u = u;
  ref.v.assign(v.begin(), v.begin() + n);
  return ref;
}

}  // namespace repairbench::testing
