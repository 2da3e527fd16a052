#pragma once

#include <string>
#include <vector>

#include "repairbench/align/matching.h"
#include "repairbench/data/dataset.h"
#include "repairbench/data/loader.h"
#include "repairbench/metrics/evaluate.h"
#include "repairbench/models/network.h"
#include "repairbench/pipeline/matcher.h"
#include "repairbench/repair/repair.h"
#include "repairbench/stats/context.h"

namespace repairbench::pipeline {

/// Many-model merging: how N endpoints become one network.
struct ManyOptions {
  /// The matcher that aligns every model to the first (the reference), each
  /// pair on its own.
  Matcher match = Matcher::kActivation;
  align::ActivationMatchingOptions activation;
  align::WeightMatchingOptions weight;
  uint64_t random_seed = 0;
  /// Data for matching when it differs from the statistics data; null = the
  /// statistics loader. Not owned.
  data::Loader* match_loader = nullptr;
  /// The correction of the average: kNone, kResetBn, kForward, kRescale or
  /// kReshift (the forward-pass family), toward the MEAN over the N
  /// endpoints of their channel means and stds.
  repair::RepairMethod correction = repair::RepairMethod::kForward;
  repair::RepairOptions repair;
  int64_t eval_batch_size = 2000;
};

struct ManyResult {
  std::vector<metrics::EvalResult> endpoints;  ///< Every model alone, on the test set.
  metrics::EvalResult averaged;                ///< The uniform average of the aligned weights, uncorrected.
  metrics::EvalResult corrected;               ///< The average after the correction.
  metrics::EvalResult ensemble;                ///< The output ensemble: the N models' logits averaged.
  std::vector<align::Alignment> alignments;    ///< Model k (k >= 1) to model 0.
  double seconds = 0;
};

/// Aligns nets[1..N-1] to nets[0] one by one, averages the N aligned
/// networks' weights uniformly, corrects the average so that every corrected
/// channel's mean and std are the averages of the N endpoints' (measured on
/// `stats_loader` as endpoint_stats does, each aligned model beside model 0),
/// and evaluates it on `test` against the endpoints and their output
/// ensemble. With N = 2 it is merge()'s alpha = 0.5 point. The networks are
/// not modified. One process on the context's device (a context with a
/// process group is refused).
ManyResult merge_many(const std::vector<models::NetworkImpl*>& nets, data::Loader& stats_loader,
                      const data::Dataset& test, const ManyOptions& options, const stats::Context& context);

}  // namespace repairbench::pipeline
