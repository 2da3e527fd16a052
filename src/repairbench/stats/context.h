#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>

#include "repairbench/data/loader.h"
#include "repairbench/dist/dist.h"

namespace repairbench::stats {

/// Counts forward passes, so reports (and tests) can state how many passes
/// over the data a procedure made. A data-parallel pass counts the batches of
/// the whole job, whichever rank computed them.
struct PassCounter {
  int64_t data_passes = 0;      ///< Full passes over a loader.
  int64_t forward_batches = 0;  ///< Network forward calls (one net, one batch).
};

/// Where a statistics pass (and everything built on one: matching, REPAIR,
/// merging) runs, as one explicit argument instead of fields of every options
/// struct. A device alone converts to a one-process context.
struct Context {
  Context(torch::Device on = torch::kCPU, dist::Group* shared_by = nullptr, PassCounter* counted_in = nullptr)
      : device(on), group(shared_by), counter(counted_in) {}
  Context(torch::DeviceType type) : Context(torch::Device(type)) {}

  /// Where the networks and the statistics' batches live.
  torch::Device device;
  /// Data-parallel: each rank computes its share of every pass's batches
  /// (dist::share_pass) and the sums and batch counts are all-reduced, so
  /// every rank ends with one process's result (up to float64 summation
  /// order). Null: one process. Not owned.
  dist::Group* group;
  /// Where the passes are counted; null: not counted. Not owned.
  PassCounter* counter;

  /// This context counting into `passes` instead.
  Context counting(PassCounter* passes) const { return {device, group, passes}; }
};

/// Draws the next epoch of `loader` and runs `step` on this rank's share of
/// its batches (all of them without a group), skipping the others with
/// Loader::skip. Returns the share, which says whether to all-reduce.
dist::PassShare for_each_batch_share(data::Loader& loader, dist::Group* group,
                                     const std::function<void(const data::Batch&)>& step);

}  // namespace repairbench::stats
