#include "harness/sweep.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <future>
#include <iomanip>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>

#include "harness/plot.h"
#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "repairbench/core/json_file.h"
#include "repairbench/data/dataset_info.h"
#include "repairbench/models/family.h"
#include "repairbench/pipeline/defaults.h"
#include "repairbench/report/context.h"
#include "repairbench/report/merge_report.h"
#include "repairbench/report/report_check.h"
#include "repairbench/train/recipe.h"

namespace repairbench::harness {
namespace {

const pipeline::Curve& curve_named(const pipeline::MergeResult& m, const std::string& name) {
  for (const auto& c : m.curves) {
    if (c.name == name) return c;
  }
  RB_FAIL(kInternal, "merge has no curve named ", name);
}

std::string file_stem(const std::string& label) {
  std::string out;
  for (char c : label) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
  return out;
}

nlohmann::json spread_json(const std::vector<double>& values) {
  const auto s = spread(values);
  return {{"mean", s.mean}, {"std", s.std ? nlohmann::json(*s.std) : nlohmann::json(nullptr)}, {"values", values}};
}

// The paper's test accuracy at alpha 0.5 on curve `name`, NaN when it has none.
double paper_midpoint(const PaperPoint& p, const std::string& name) {
  if (name == "interpolated") return p.interpolated.value_or(NAN);
  const auto it = p.corrected.find(name);
  return it == p.corrected.end() ? NAN : it->second;
}

std::string pretty(const std::string& curve) {
  if (curve == "interpolated") return "aligned";
  if (curve == "repair") return "aligned + REPAIR";
  return "aligned + " + curve;
}

}  // namespace

SweepPoint trained_point(const TargetSettings& settings, models::ModelConfig model, const std::string& dataset,
                         const std::vector<repair::RepairMethod>& repairs) {
  const data::DatasetInfo& info = data::dataset_info(dataset);
  // Grey sets are stored as RGB in the reference; only its MLPs average the
  // three channels back to one (docs/reference/algorithm.md §3).
  model.in_channels = info.channels == 1 && model.family == models::Family::kMlp ? 1 : 3;
  model.image_size = info.image_size;
  model.num_classes = info.classes;
  return trained_point_for(settings, model, dataset, repairs);
}

SweepPoint trained_point_for(const TargetSettings& settings, const models::ModelConfig& model,
                             const std::string& dataset, const std::vector<repair::RepairMethod>& repairs) {
  SweepPoint p;
  p.dataset = dataset;
  p.base.model = model;
  p.base.dataset = settings.smoke ? "synthetic-" + dataset : dataset;
  const auto defaults = pipeline::experiment_defaults(model, dataset);
  p.base.recipe = defaults.recipe;
  if (settings.epochs > 0) p.base.recipe = train::with_epochs(p.base.recipe, settings.epochs);
  if (settings.grad_scaler) p.base.recipe.grad_scaler = true;  // the flag adds it; a recipe may have it already
  const auto& stats = defaults.stats;
  p.stats = stats.loader;
  p.stats_source = stats.source;
  p.merge = pipeline::merge_options(stats);
  p.merge.repairs = repairs;
  // The quick preset measures the paper's midpoint numbers only: a BN reset at
  // each alpha is a pass over the training set, minutes per alpha for a conv
  // net on two cores.
  if (settings.preset == "quick") p.merge.alphas = {0.0, 0.5, 1.0};
  if (settings.smoke) {
    p.base.recipe = train::with_epochs(p.base.recipe, 1);
    p.base.max_batches_per_epoch = 2;
    p.base.recipe.batch_size = 32;
    p.stats.batch_size = 32;
    p.merge.alphas = {0.0, 0.5, 1.0};
    p.merge.repair.endpoint_epochs = p.merge.repair.merged_epochs = 1;
  }
  return p;
}

Endpoint train_on_part(const TargetSettings& settings, EndpointSpec base, const std::string& part,
                       const data::Dataset& train, const data::Dataset& test, uint64_t seed) {
  base.dataset += part;
  base.seed = seed;
  return train_or_load(base, {train, test}, settings.cache_dir, settings.retrain, settings.device, &std::cerr);
}

std::vector<double> PointOutcome::endpoint_accuracy() const {
  std::vector<double> out;
  for (const auto& m : merges) out.push_back(0.5 * (m.endpoint0_test.accuracy + m.endpoint1_test.accuracy));
  return out;
}

std::vector<double> PointOutcome::midpoint(const std::string& name) const {
  std::vector<double> out;
  for (const auto& m : merges) out.push_back(midpoint_accuracy(curve_named(m, name)));
  return out;
}

std::vector<double> PointOutcome::barrier(const std::string& name) const {
  std::vector<double> out;
  for (const auto& m : merges) out.push_back(curve_named(m, name).test_accuracy.midpoint.value_or(NAN));
  return out;
}

std::vector<double> PointOutcome::reduction(const std::string& name) const {
  std::vector<double> out;
  for (const auto& m : merges) {
    const double before = curve_named(m, "interpolated").test_accuracy.midpoint.value_or(NAN);
    const double after = curve_named(m, name).test_accuracy.midpoint.value_or(NAN);
    out.push_back(metrics::relative_reduction(before, after).value_or(NAN));
  }
  return out;
}

std::vector<std::string> PointOutcome::curve_names() const {
  std::vector<std::string> out;
  if (merges.empty()) return out;
  for (const auto& c : merges.front().curves) out.push_back(c.name);
  return out;
}

namespace {

std::string shard_file(int64_t index, int64_t count) {
  return "shard-" + std::to_string(index + 1) + "-of-" + std::to_string(count) + ".json";
}

// The runs of a sharded sweep by (point label, pair), read from its shard
// reports for a collating run.
std::map<RunKey, RunRecord> collated_runs(const TargetSettings& settings) {
  const std::string dir = settings.out_dir + "/shards";
  auto shards = load_shard_reports(dir);
  const auto& first = shards.front();
  RB_CHECK(first.target == settings.target, kUsage, "the shard reports in ", dir, " are of target ", first.target,
           ", not ", settings.target);
  RB_CHECK(first.arguments == settings.arguments, kUsage, "the shards in ", dir, " ran with the arguments ",
           nlohmann::json(first.arguments).dump(), ", this run has ", nlohmann::json(settings.arguments).dump(),
           "; collate with the shards' own arguments (or with --collate --out-dir alone)");
  const std::string commit = report::git_commit();
  RB_CHECK(first.commit == commit, kUsage, "the shards in ", dir, " ran at commit ", first.commit,
           ", this build is at ", commit, "; collate with the code that computed them");
  std::map<RunKey, RunRecord> runs;
  for (auto& shard : shards) {
    for (auto& record : shard.runs) {
      RunKey key = record.key;
      runs.emplace(std::move(key), std::move(record));
    }
  }
  return runs;
}

// One shard report's fields, each read with its type (json_field names the
// file and key of a missing or mistyped one).
ShardReport read_shard_report(const std::string& path) {
  const nlohmann::json j = report::load_report(path);
  RB_CHECK(j.is_object() && j.contains("kind") && j["kind"] == "shard", kUsage, path,
           " is not a repairbench shard report (no \"kind\": \"shard\")");
  ShardReport shard;
  shard.path = path;
  shard.target = json_string(j, "target", path);
  const nlohmann::json& position = json_field(j, "shard", JsonType::kObject, path);
  shard.index = json_int(position, "index", path + ", shard");
  shard.count = json_int(position, "count", path + ", shard");
  RB_CHECK(shard.count >= 1 && shard.index >= 1 && shard.index <= shard.count, kUsage, path, " says it is shard ",
           shard.index, " of ", shard.count, "; a shard is k of n with 1 <= k <= n");
  for (const auto& a : json_field(j, "arguments", JsonType::kArray, path)) {
    RB_CHECK(a.is_string(), kUsage, path, ": \"arguments\" must hold strings, not ", a.type_name());
    shard.arguments.push_back(a.get<std::string>());
  }
  shard.commit = json_string(json_field(j, "context", JsonType::kObject, path), "git_commit", path + ", context");
  const nlohmann::json& runs = json_field(j, "runs", JsonType::kArray, path);
  for (size_t i = 0; i < runs.size(); ++i) {
    try {
      shard.runs.push_back(run_record_from_json(runs[i]));
    } catch (const Error& e) {
      RB_FAIL(kUsage, path, ", run ", i, ": ", e.what());
    }
  }
  return shard;
}

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

std::vector<ShardReport> load_shard_reports(const std::string& dir) {
  namespace fs = std::filesystem;
  RB_CHECK(fs::is_directory(dir), kUsage, "no shard reports: ", dir,
           " is not a folder; run every shard (--shard k/n) first");
  std::map<int64_t, std::vector<ShardReport>> by_count;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("shard-", 0) != 0 || entry.path().extension() != ".json") continue;
    ShardReport shard = read_shard_report(entry.path().string());
    RB_CHECK(name == shard_file(shard.index - 1, shard.count), kUsage, shard.path, " holds shard ", shard.index, "/",
             shard.count, "; shard reports keep the names they were written with");
    by_count[shard.count].push_back(std::move(shard));
  }
  RB_CHECK(!by_count.empty(), kUsage, "no shard reports in ", dir, "; run every shard (--shard k/n) first");
  RB_CHECK(by_count.size() == 1, kUsage, dir, " holds shard reports of ", by_count.size(),
           " different shardings (e.g. of ", by_count.begin()->first, " and ", by_count.rbegin()->first,
           " shards); remove the stale ones");
  auto& [count, shards] = *by_count.begin();
  // The file names are unique per (index, count), so each index appears once.
  std::sort(shards.begin(), shards.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  for (int64_t k = 1; k <= count; ++k) {
    RB_CHECK(k <= static_cast<int64_t>(shards.size()) && shards[k - 1].index == k, kUsage, "shard ", k, " of ", count,
             " has no report in ", dir, " (", shard_file(k - 1, count), "); run it with --shard ", k, "/", count);
    const ShardReport& shard = shards[k - 1];
    RB_CHECK(shard.target == shards.front().target && shard.arguments == shards.front().arguments &&
                 shard.commit == shards.front().commit,
             kUsage, "shard ", k, " of ", count, " in ", dir,
             " ran a different target, arguments or commit than shard 1; rerun it with the same command");
  }
  return std::move(shards);
}

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
  namespace fs = std::filesystem;
  const std::string dir = settings.out_dir + "/shards";
  fs::create_directories(dir);
  const nlohmann::json shard = {{"format_version", 1},
                                {"kind", "shard"},
                                {"target", settings.target},
                                {"shard", {{"index", settings.shard_index + 1}, {"count", settings.shard_count}}},
                                {"arguments", settings.arguments},
                                {"context", report::run_context(settings.device.str(), 0, nullptr)},
                                {"runs", shard_runs}};
  const std::string path = dir + "/" + shard_file(settings.shard_index, settings.shard_count);
  write_file_atomic(path, shard.dump(1) + "\n");
  return {std::move(outcomes), ShardWritten{path, static_cast<int64_t>(shard_runs.size())}};
}

std::vector<Check> sweep_checks(const TargetSettings& settings, const std::vector<PointOutcome>& outcomes,
                                const SweepLayout& layout) {
  std::vector<Check> checks;
  const bool numbers = settings.judged_on_numbers();
  for (const auto& o : outcomes) {
    const std::string name = o.point.label + ": ";
    if (!o.error.empty()) {
      checks.push_back(check_at_least(name + "endpoints trained without diverging (1 = yes)", 0.0, std::nullopt, 1.0,
                                      "a diverged endpoint leaves nothing to merge: " + o.error, "this run"));
      continue;
    }
    if (!o.diverged.empty()) {
      const double trained = static_cast<double>(o.merges.size());
      std::string which;
      for (const auto& d : o.diverged) {
        which += (which.empty() ? "" : "; ") + std::string("pair ") + std::to_string(d.pair + 1) + " (seeds " +
                 std::to_string(2 * d.pair + 1) + ", " + std::to_string(2 * d.pair + 2) + "): " + d.error;
      }
      checks.push_back(check_at_least(name + "share of pairs trained without diverging",
                                      trained / (trained + static_cast<double>(o.diverged.size())), std::nullopt, 1.0,
                                      "the recipe must train every seed; the other checks use the pairs that "
                                      "trained. Diverged: " +
                                          which,
                                      "this run"));
    }
    const auto curves = o.curve_names();
    if (!numbers) {
      for (size_t c = 1; c < curves.size(); ++c) {
        auto red = o.reduction(curves[c]);
        for (auto& r : red) r *= 100.0;
        const auto s = spread(red);
        checks.push_back(check_at_least(name + curves[c] + " reduces the accuracy barrier (relative reduction, %)",
                                        s.mean, s.std, 0.0,
                                        "the paper's claim (abstract): REPAIR reduces the barrier of aligned "
                                        "interpolation",
                                        "paper abstract"));
      }
      if (layout.check_variance && !o.merges.empty() && !o.merges.front().variance_ratios.empty()) {
        std::vector<double> before, after;
        // On the test set: on the statistics data a correction has just
        // imposed sigma*, so its ratio there is 1 by construction.
        for (const auto& m : o.merges) {
          before.push_back(1.0 - m.variance_ratios.back().held_out_before);
          if (!m.variance_ratios.back().held_out_after.empty()) {
            after.push_back(1.0 - std::abs(m.variance_ratios.back().held_out_after.front() - 1.0));
          }
        }
        const auto b = spread(before);
        checks.push_back(
            check_at_least(name + "variance collapse in the last corrected layer, test set (1 - std ratio)", b.mean,
                           b.std, 0.05, "the paper's mechanism: interpolated activations lose variance with depth",
                           "paper, variance collapse section"));
        if (!after.empty()) {
          const auto a = spread(after);
          checks.push_back(check_at_least(
              name + curves[1] + " restores the last layer's std, test set (1 - |ratio - 1|)", a.mean, a.std, 0.95,
              "REPAIR sets each channel's std to the interpolated endpoint std on its "
              "statistics data; on images it did not see that must hold within 5 %",
              "paper, REPAIR definition"));
        }
      }
      continue;
    }
    if (!o.point.paper) continue;
    const auto& p = *o.point.paper;
    checks.push_back(judge_against_paper(name + "mean endpoint test accuracy", o.endpoint_accuracy(),
                                         0.5 * (p.endpoint0 + p.endpoint1), kEndpointTolerance, p.source));
    checks.back().quantity = Quantity::kEndpoints;
    if (p.interpolated) {
      checks.push_back(judge_against_paper(name + "aligned interpolation at alpha 0.5, test accuracy",
                                           o.midpoint("interpolated"), *p.interpolated, kInterpolatedTolerance,
                                           p.source));
      checks.back().quantity = Quantity::kAlignedMidpoint;
    }
    for (const auto& [curve, value] : p.corrected) {
      if (std::find(curves.begin(), curves.end(), curve) == curves.end()) continue;
      checks.push_back(judge_against_paper(name + curve + " at alpha 0.5, test accuracy", o.midpoint(curve), value,
                                           kCorrectedTolerance, p.source));
      checks.back().quantity = Quantity::kCorrectedMidpoint;
    }
  }
  return checks;
}

nlohmann::json sweep_results_json(const std::vector<PointOutcome>& outcomes) {
  nlohmann::json results = nlohmann::json::array();
  for (const auto& o : outcomes) {
    if (!o.error.empty()) {
      nlohmann::json entry = o.point.coords;
      entry["label"] = o.point.label;
      entry["error"] = o.error;
      results.push_back(entry);
      continue;
    }
    nlohmann::json summary = {{"endpoint_test_accuracy", spread_json(o.endpoint_accuracy())}};
    for (const auto& curve : o.curve_names()) {
      summary["midpoint_test_accuracy"][curve] = spread_json(o.midpoint(curve));
      summary["barrier"][curve] = spread_json(o.barrier(curve));
      if (curve != "interpolated") summary["relative_reduction"][curve] = spread_json(o.reduction(curve));
    }
    nlohmann::json pairs = nlohmann::json::array();
    for (size_t k = 0; k < o.merges.size(); ++k) {
      pairs.push_back({{"endpoint_a", to_json(o.endpoints[2 * k])},
                       {"endpoint_b", to_json(o.endpoints[2 * k + 1])},
                       {"merge", report::merge_results_json(o.merges[k])}});
    }
    nlohmann::json entry = o.point.coords;
    entry["label"] = o.point.label;
    entry["dataset"] = o.point.dataset;
    if (!o.point.endpoints) {
      entry["model"] = o.point.base.model;
      entry["recipe"] = o.point.base.recipe;
    }
    entry["statistics_data"] = {{"batch_size", o.point.stats.batch_size},
                                {"augment", o.point.stats.augment.describe()},
                                {"source", o.point.stats_source}};
    entry["summary"] = summary;
    entry["pairs"] = pairs;
    if (!o.diverged.empty()) {
      nlohmann::json diverged = nlohmann::json::array();
      for (const auto& d : o.diverged) diverged.push_back({{"pair", d.pair}, {"error", d.error}});
      entry["diverged_pairs"] = diverged;
    }
    results.push_back(entry);
  }
  return results;
}

nlohmann::json sweep_paper_json(const std::vector<PointOutcome>& outcomes) {
  nlohmann::json points = nlohmann::json::array();
  for (const auto& o : outcomes) {
    if (!o.point.paper) continue;
    nlohmann::json entry = o.point.paper->raw;
    entry["label"] = o.point.label;
    entry["source"] = o.point.paper->source;
    points.push_back(entry);
  }
  return points;
}

std::vector<std::string> sweep_plots(const TargetSettings& settings, const std::vector<PointOutcome>& outcomes,
                                     const SweepLayout& layout) {
  std::vector<std::string> files;
  std::vector<std::string> groups;
  for (const auto& o : outcomes) {
    if (o.merges.empty()) continue;
    Chart chart;
    chart.title = layout.model + " " + o.point.label + ": test accuracy along the path";
    chart.x_label = "alpha";
    chart.y_label = "test accuracy (%)";
    const auto names = o.curve_names();
    for (size_t k = 0; k < o.merges.size(); ++k) {
      for (size_t c = 0; c < names.size(); ++c) {
        Series series;
        series.label = pretty(names[c]) + (o.merges.size() > 1 ? " pair " + std::to_string(k + 1) : "");
        series.color = static_cast<int>(c);
        for (const auto& pt : curve_named(o.merges[k], names[c]).points) {
          series.x.push_back(pt.alpha);
          series.y.push_back(pt.test.accuracy);
        }
        chart.series.push_back(series);
      }
    }
    if (o.point.paper) {
      const auto& p = *o.point.paper;
      for (size_t c = 0; c < names.size(); ++c) {
        const auto full = p.curves.find(names[c]);
        if (full != p.curves.end()) {
          chart.series.push_back(
              {"paper: " + pretty(names[c]), full->second.alpha, full->second.value, true, true, static_cast<int>(c)});
          continue;
        }
        const double mid = paper_midpoint(p, names[c]);
        if (std::isfinite(mid)) {
          chart.series.push_back({"paper: " + pretty(names[c]),
                                  {0.0, 0.5, 1.0},
                                  {p.endpoint0, mid, p.endpoint1},
                                  false,
                                  false,
                                  static_cast<int>(c)});
        }
      }
    }
    const std::string file = "curves_" + file_stem(o.point.label) + ".png";
    save_chart_png(chart, settings.out_dir + "/" + file);
    files.push_back(file);
    if (std::find(groups.begin(), groups.end(), o.point.group) == groups.end()) groups.push_back(o.point.group);
  }
  for (const auto& group : groups) {
    std::vector<const PointOutcome*> members;
    for (const auto& o : outcomes) {
      if (o.point.group == group && !o.merges.empty()) members.push_back(&o);
    }
    if (members.size() < 2) continue;
    Chart chart;
    chart.title = layout.model + (group.empty() ? "" : " " + group) + ": accuracy barrier at alpha 0.5";
    chart.x_label = layout.x_label;
    chart.y_label = "barrier (points)";
    chart.log_x = layout.log_x;
    const auto names = members.front()->curve_names();
    for (size_t c = 0; c < names.size(); ++c) {
      Series ours{"ours: " + pretty(names[c]), {}, {}, true, false, static_cast<int>(c)};
      Series paper{"paper: " + pretty(names[c]), {}, {}, false, false, static_cast<int>(c)};
      for (const auto* o : members) {
        ours.x.push_back(o->point.x);
        ours.y.push_back(spread(o->barrier(names[c])).mean);
        if (!o->point.paper) continue;
        const auto& p = *o->point.paper;
        const double ends = 0.5 * (p.endpoint0 + p.endpoint1);
        const double mid = paper_midpoint(p, names[c]);
        if (std::isfinite(mid)) {
          paper.x.push_back(o->point.x);
          paper.y.push_back(ends - mid);
        }
      }
      chart.series.push_back(ours);
      if (!paper.x.empty()) chart.series.push_back(paper);
    }
    const std::string file = "barrier_" + file_stem(group.empty() ? "all" : group) + ".png";
    save_chart_png(chart, settings.out_dir + "/" + file);
    files.push_back(file);
  }
  return files;
}

std::string sweep_table(const std::vector<PointOutcome>& outcomes) {
  std::ostringstream t;
  t << std::fixed << std::setprecision(2);
  for (const auto& o : outcomes) {
    if (!o.error.empty()) {
      t << o.point.label << ": no result (" << o.error << ")\n";
      continue;
    }
    const auto names = o.curve_names();
    const auto* paper = o.point.paper ? &*o.point.paper : nullptr;
    const auto endpoint_spread = spread(o.endpoint_accuracy());
    t << o.point.label << ": endpoints " << endpoint_spread.mean;
    if (endpoint_spread.std) t << " +- " << *endpoint_spread.std;
    if (paper) t << " (paper " << 0.5 * (paper->endpoint0 + paper->endpoint1) << ")";
    t << "; " << o.merges.size() << (o.merges.size() == 1 ? " pair" : " pairs, mean +- std");
    if (!o.diverged.empty()) t << " (" << o.diverged.size() << " more diverged)";
    t << "\n";
    for (const auto& name : names) {
      const auto mid = spread(o.midpoint(name));
      t << "  " << std::left << std::setw(18) << pretty(name) << std::right << " alpha 0.5: " << std::setw(6)
        << mid.mean;
      if (mid.std) t << " +- " << *mid.std;
      t << "  barrier " << std::setw(6) << spread(o.barrier(name)).mean;
      if (name != "interpolated") t << "  reduction " << std::setw(6) << 100 * spread(o.reduction(name)).mean << "%";
      if (paper) {
        const double p = paper_midpoint(*paper, name);
        if (std::isfinite(p)) {
          const double ends = 0.5 * (paper->endpoint0 + paper->endpoint1);
          const double before = ends - paper_midpoint(*paper, "interpolated");
          t << "  | paper " << p << ", barrier " << ends - p;
          if (name != "interpolated" && std::isfinite(before))
            t << ", reduction " << 100 * (before - (ends - p)) / before << "%";
        }
      }
      t << "\n";
    }
  }
  return t.str();
}

std::vector<std::string> sweep_findings(const std::vector<Check>& checks, const std::string& known_differences) {
  std::vector<std::string> out;
  for (const auto& c : checks) {
    if (c.outcome != Outcome::kFails || !c.paper) continue;
    const bool above = c.ours > *c.paper;
    std::ostringstream f;
    f << std::fixed << std::setprecision(2) << c.metric << ": ours " << c.ours << ", paper " << *c.paper
      << " (difference " << std::showpos << c.ours - *c.paper << std::noshowpos << "), outside one new run's interval "
      << c.ours - c.threshold << " .. " << c.ours + c.threshold << " from " << c.pairs << " pairs by " << -c.margin
      << " points";
    // What a difference in this direction means for the figure.
    switch (c.quantity) {
      case Quantity::kEndpoints:
        f << (above ? "; our endpoints are stronger than the paper's"
                    : "; our endpoints are weaker than the paper's, so every barrier here is that of weaker "
                      "endpoints");
        break;
      case Quantity::kAlignedMidpoint:
        f << (above ? "; our aligned interpolation keeps more accuracy than the paper's: less barrier is left for a "
                      "correction to remove, so its relative reduction is not comparable"
                    : "; our aligned interpolation collapses further than the paper's");
        break;
      case Quantity::kCorrectedMidpoint:
        f << (above ? "; the correction leaves more accuracy at the midpoint than in the paper"
                    : "; the correction recovers less of the barrier than in the paper");
        break;
      case Quantity::kOther:
        break;
    }
    out.push_back(f.str());
  }
  if (!out.empty() && !known_differences.empty()) out.push_back(known_differences);
  return out;
}

void PaperPoint::compare_as(const std::string& ours, const std::string& papers) {
  RB_CHECK(corrected.count(papers) && curves.count(papers), kUsage, "the paper's point has no curve '", papers, "'");
  corrected[ours] = corrected.at(papers);
  curves[ours] = curves.at(papers);
}

PaperPoint paper_point_from_json(const nlohmann::json& entry, const std::string& source) {
  PaperPoint p;
  p.raw = entry;
  p.source = entry.value("source", source);
  auto acc = [&](const char* key) { return entry.at(key).at("test_accuracy").get<double>(); };
  p.endpoint0 = acc("endpoint0");
  p.endpoint1 = acc("endpoint1");
  if (entry.contains("interpolated")) p.interpolated = acc("interpolated");
  for (const char* name : {"repair", "reset-bn", "closed-form", "repair-blocks"}) {
    if (entry.contains(name)) p.corrected[name] = acc(name);
  }
  if (entry.contains("curves")) {
    for (const auto& [name, curve] : entry.at("curves").items()) {
      p.curves[name] = {curve.at("alpha").get<std::vector<double>>(),
                        curve.at("test_accuracy").get<std::vector<double>>()};
    }
  }
  return p;
}

}  // namespace repairbench::harness
