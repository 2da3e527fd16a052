#include "harness/run_record.h"

#include "repairbench/core/error.h"
#include "repairbench/report/merge_report.h"

namespace repairbench::harness {
namespace {

// The report's endpoint entry with the whole metadata, which a collating
// run needs in place of the checkpoint.
nlohmann::json endpoint_json(const Endpoint& e) {
  nlohmann::json j = to_json(e);
  j["meta"] = e.meta;
  return j;
}

Endpoint endpoint_from_json(const nlohmann::json& j) {
  Endpoint e;
  e.path = j.at("path").get<std::string>();
  e.trained_now = j.at("trained_now").get<bool>();
  e.this_run_training_seconds = j.value("this_run_training_seconds", 0.0);
  e.meta = j.at("meta");
  return e;
}

}  // namespace

StageSeconds& StageSeconds::operator+=(const StageSeconds& o) {
  training += o.training;
  training_cumulative += o.training_cumulative;
  alignment += o.alignment;
  repair_statistics += o.repair_statistics;
  curves += o.curves;
  return *this;
}

StageSeconds stage_seconds(const Endpoint& endpoint) {
  StageSeconds s;
  if (!endpoint.trained_now) return s;  // loaded from the cache: no training in this process
  s.training = endpoint.this_run_training_seconds;
  s.training_cumulative = endpoint.meta.value("train_seconds", 0.0);
  return s;
}

StageSeconds stage_seconds(const pipeline::MergeResult& merge) {
  StageSeconds s;
  s.alignment = merge.seconds_alignment;
  s.repair_statistics = merge.seconds_endpoint_stats;
  for (const auto& c : merge.curves) s.curves += c.seconds;
  return s;
}

StageSeconds RunRecord::stages() const {
  StageSeconds s;
  if (merge) s += stage_seconds(*merge);
  for (const auto& e : endpoints) s += stage_seconds(e);
  return s;
}

nlohmann::json to_json(const StageSeconds& stages) {
  return {{"training", stages.training},
          {"alignment", stages.alignment},
          {"repair_statistics", stages.repair_statistics},
          {"curves", stages.curves}};
}

nlohmann::json to_json(const RunRecord& record) {
  nlohmann::json j = {{"point", record.key.point}, {"pair", record.key.pair}};
  if (!record.error.empty()) {
    j["error"] = record.error;
    return j;
  }
  RB_CHECK(record.merge && record.endpoints.size() == 2, kInternal, "run '", record.key.point, "' pair ",
           record.key.pair + 1, " has neither an error nor a merge of two endpoints");
  j["merge"] = report::merge_results_json(*record.merge);
  j["permutations"] = report::permutations_json(record.merge->alignment);
  j["endpoints"] = {endpoint_json(record.endpoints[0]), endpoint_json(record.endpoints[1])};
  return j;
}

RunRecord run_record_from_json(const nlohmann::json& j) {
  try {
    RunRecord r;
    r.key = {j.at("point").get<std::string>(), j.at("pair").get<int64_t>()};
    if (j.contains("error")) {
      r.error = j.at("error").get<std::string>();
      return r;
    }
    r.merge = report::merge_result_from_json(j.at("merge"), j.at("permutations"));
    for (const auto& e : j.at("endpoints")) r.endpoints.push_back(endpoint_from_json(e));
    RB_CHECK(r.endpoints.size() == 2, kUsage, "run '", r.key.point, "' pair ", r.key.pair + 1, " stores ",
             r.endpoints.size(), " endpoints, not 2");
    return r;
  } catch (const nlohmann::json::exception& e) {
    RB_FAIL(kUsage, "a stored run is incomplete or mistyped (", e.what(), "); rerun its shard");
  }
}

}  // namespace repairbench::harness
