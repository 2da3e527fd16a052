#include <ATen/Parallel.h>

#include <exception>
#include <future>
#include <iostream>
#include <optional>
#include <sstream>

#include "harness/sweep.h"
#include "repairbench/core/error.h"

// Executing a sweep: each run's endpoints and merge, or its shard's share.

namespace repairbench::harness {
namespace {

// The endpoints of pair k (seeds 2k+1, 2k+2), trained or loaded. With
// settings.concurrent_endpoints and at least two threads, both run side by
// side with half the threads each (TargetSettings::concurrent_endpoints), and
// their logs are printed after both finish, one after the other.
std::pair<Endpoint, Endpoint> pair_endpoints(const TargetSettings& settings, const EndpointSpec& base,
                                             const data::DatasetSplits& splits, int64_t k) {
  EndpointSpec a = base, b = base;
  a.seed = static_cast<uint64_t>(2 * k + 1);
  b.seed = static_cast<uint64_t>(2 * k + 2);
  const int threads = torch::get_num_threads();
  if (!settings.concurrent_endpoints || threads < 2) {
    Endpoint first = train_or_load(a, splits, settings.cache_dir, settings.retrain, settings.device, &std::cerr);
    return {std::move(first),
            train_or_load(b, splits, settings.cache_dir, settings.retrain, settings.device, &std::cerr)};
  }
  const int each = threads / 2;
  std::cerr << "  seeds " << a.seed << " and " << b.seed << " side by side, " << each << " thread(s) each\n";
  auto run = [&](const EndpointSpec& spec, std::ostringstream* log) {
    // OpenMP's thread count is a per-thread setting: each worker sets its own.
    at::set_num_threads(each);
    return train_or_load(spec, splits, settings.cache_dir, settings.retrain, settings.device, log);
  };
  std::ostringstream log_a, log_b;
  auto second = std::async(std::launch::async, run, std::cref(b), &log_b);
  std::optional<Endpoint> first;
  std::exception_ptr failed;
  try {
    first = run(a, &log_a);
  } catch (...) {
    failed = std::current_exception();
  }
  second.wait();
  at::set_num_threads(threads);
  std::cerr << log_a.str() << log_b.str();
  if (failed) std::rethrow_exception(failed);
  Endpoint other = second.get();
  return {std::move(*first), std::move(other)};
}

}  // namespace

RunRecord execute_run(const TargetSettings& settings, const SweepPoint& point, int64_t k,
                      const data::DatasetSplits& splits) {
  RunRecord record;
  record.key = {point.label, k};
  try {
    std::cerr << settings.target << ": " << point.label << ", pair " << k + 1 << " of " << settings.pairs << "\n";
    std::pair<Endpoint, Endpoint> ends =
        point.endpoints ? point.endpoints(k) : pair_endpoints(settings, point.base, splits, k);
    models::Network a = point.prepare ? point.prepare(ends.first.net) : ends.first.net;
    models::Network b = point.prepare ? point.prepare(ends.second.net) : ends.second.net;
    data::LoaderOptions stats = point.stats;
    stats.seed = static_cast<uint64_t>(k);
    stats.device = settings.device;
    data::Loader loader(splits.train, stats);
    pipeline::MergeOptions merge = point.merge;
    merge.random_seed = point.merge.random_seed + stats.seed;  // the random-permutation control, per pair
    std::optional<data::Loader> match_loader;
    if (point.match_stats) {
      data::LoaderOptions match = *point.match_stats;
      match.seed = stats.seed;
      match.device = settings.device;
      match_loader.emplace(splits.train, match);
      merge.match_loader = &*match_loader;
    }
    std::cerr << "  merging: match " << pipeline::matcher_name(merge.match) << ", " << merge.alphas.size()
              << " alphas, statistics on batches of " << stats.batch_size << " (" << stats.augment.describe() << ")\n";
    record.merge = pipeline::merge(*a, *b, loader, splits.test, nullptr, merge, settings.device);
    record.endpoints.push_back(std::move(ends.first));
    record.endpoints.push_back(std::move(ends.second));
  } catch (const Error& e) {
    // A diverged pair is reported and the other pairs still count: one
    // unlucky seed does not erase the point.
    if (e.kind() != ErrorKind::kNumeric) throw;
    std::cerr << "  " << point.label << ", pair " << k + 1 << " diverged: " << e.what() << "\n";
    return {record.key, std::nullopt, {}, e.what()};
  }
  return record;
}

void PointOutcome::add(RunRecord run) {
  stages += run.stages();
  if (!run.error.empty()) {
    diverged.push_back({run.key.pair, run.error});
    return;
  }
  merges.push_back(std::move(*run.merge));
  for (auto& e : run.endpoints) endpoints.push_back(std::move(e));
}

StageSeconds SweepRun::stages() const {
  StageSeconds sum;
  for (const auto& o : outcomes) sum += o.stages;
  return sum;
}

SweepRun run_sweep(const TargetSettings& settings, const std::vector<SweepPoint>& points) {
  RB_CHECK(settings.shard_count >= 1 && settings.shard_index >= 0 && settings.shard_index < settings.shard_count,
           kUsage, "bad shard ", settings.shard_index + 1, "/", settings.shard_count);
  const bool sharded = settings.shard_count > 1;
  RB_CHECK(!(sharded && settings.collate), kUsage, "--collate reads the shards' results; do not give --shard with it");
  std::map<RunKey, RunRecord> collated;
  if (settings.collate) collated = collated_runs(settings);
  nlohmann::json shard_runs = nlohmann::json::array();
  std::map<std::string, data::DatasetSplits> data;
  std::vector<PointOutcome> outcomes;
  int64_t run = 0;
  for (const auto& point : points) {
    PointOutcome outcome{point, {}, {}, {}, {}, {}};
    const int64_t first_run = run;
    run += settings.pairs;
    for (int64_t k = 0; k < settings.pairs; ++k) {
      if (sharded && (first_run + k) % settings.shard_count != settings.shard_index) continue;
      if (settings.collate) {
        const auto it = collated.find({point.label, k});
        RB_CHECK(it != collated.end(), kUsage, "run '", point.label, "' pair ", k + 1, " is in no shard report in ",
                 settings.out_dir, "/shards; its shard did not finish");
        outcome.add(std::move(it->second));
        continue;
      }
      if (!data.count(point.dataset)) data.emplace(point.dataset, target_data(settings, point.dataset));
      RunRecord record = execute_run(settings, point, k, data.at(point.dataset));
      if (sharded) shard_runs.push_back(to_json(record));
      outcome.add(std::move(record));
    }
    if (outcome.merges.empty() && !outcome.diverged.empty()) outcome.error = outcome.diverged.front().error;
    outcomes.push_back(std::move(outcome));
  }
  if (!sharded) return {std::move(outcomes), std::nullopt};
  ShardWritten written = write_shard_report(settings, shard_runs);
  return {std::move(outcomes), std::move(written)};
}

}  // namespace repairbench::harness
