#include "harness/target_report.h"

#include "repairbench/core/error.h"

namespace repairbench::harness {
namespace {

// The context keys TargetContext owns; every other context key is the run's.
constexpr const char* kTargetContextKeys[] = {"target",
                                              "preset",
                                              "smoke",
                                              "pairs",
                                              "seeds",
                                              "endpoint_cache",
                                              "stage_seconds",
                                              "endpoint_cumulative_training_seconds",
                                              "shards_stage_seconds_summed"};

// The report's own top-level fields, which no extension may replace.
constexpr const char* kReportKeys[] = {"format_version", "kind",    "context",  "settings", "results",
                                       "paper",          "verdict", "findings", "plots"};

TargetContext target_context_from_json(const nlohmann::json& j) {
  TargetContext c;
  c.target = j.at("target").get<std::string>();
  c.preset = j.at("preset").get<std::string>();
  c.smoke = j.at("smoke").get<bool>();
  c.pairs = j.at("pairs").get<int64_t>();
  c.endpoint_cache = j.at("endpoint_cache").get<std::string>();
  // Reports written before the run records (551f8da) name only the stages
  // their runs had: the ImageNet target, which trains nothing, has no "training".
  const nlohmann::json& stages = j.at("stage_seconds");
  c.stages.training = stages.value("training", 0.0);
  c.stages.alignment = stages.value("alignment", 0.0);
  c.stages.repair_statistics = stages.value("repair_statistics", 0.0);
  c.stages.curves = stages.value("curves", 0.0);
  c.stages.training_cumulative = j.value("endpoint_cumulative_training_seconds", 0.0);
  c.total_seconds = stages.at("total").get<double>();
  if (j.contains("shards_stage_seconds_summed")) {
    const nlohmann::json& summed = j.at("shards_stage_seconds_summed");
    StageSeconds s;
    s.training = summed.at("training").get<double>();
    s.alignment = summed.at("alignment").get<double>();
    s.repair_statistics = summed.at("repair_statistics").get<double>();
    s.curves = summed.at("curves").get<double>();
    c.shard_stages = s;
  }
  return c;
}

}  // namespace

nlohmann::json to_json(const TargetContext& c) {
  nlohmann::json seeds = nlohmann::json::array();
  for (int64_t k = 0; k < c.pairs; ++k) seeds.push_back({2 * k + 1, 2 * k + 2});
  nlohmann::json j = {{"target", c.target}, {"preset", c.preset}, {"smoke", c.smoke},
                      {"pairs", c.pairs},   {"seeds", seeds},     {"endpoint_cache", c.endpoint_cache}};
  j["stage_seconds"] = to_json(c.stages);
  j["stage_seconds"]["total"] = c.total_seconds;
  // A resumed endpoint training's earlier runs are reported apart from
  // this process's stages, so the two cannot be mixed up.
  if (c.stages.training_cumulative > 0) j["endpoint_cumulative_training_seconds"] = c.stages.training_cumulative;
  if (c.shard_stages) j["shards_stage_seconds_summed"] = to_json(*c.shard_stages);
  return j;
}

nlohmann::json to_json(const TargetReport& r) {
  nlohmann::json context = r.run;
  context.update(to_json(r.context));
  nlohmann::json j = {{"format_version", 1},
                      {"kind", "reproduction"},
                      {"context", context},
                      {"settings", r.settings},
                      {"results", r.results},
                      {"paper", {{"source", r.paper.source}, {"notes", r.paper.notes}, {"points", r.paper.points}}},
                      {"verdict", to_json(r.verdict)},
                      {"findings", r.findings},
                      {"plots", r.plots}};
  for (const auto& [key, value] : r.extensions.items()) {
    RB_CHECK(!j.contains(key), kInternal, "an extension's report field '", key, "' would replace the report's own");
    j[key] = value;
  }
  return j;
}

TargetReport target_report_from_json(const nlohmann::json& j) {
  RB_CHECK(j.is_object() && j.value("kind", "") == "reproduction" && j.value("format_version", 0) == 1, kUsage,
           "not a reproduction target's report of format 1 (\"kind\": \"reproduction\", \"format_version\": 1)");
  try {
    TargetReport r;
    const nlohmann::json& context = j.at("context");
    r.context = target_context_from_json(context);
    r.run = context;
    for (const char* key : kTargetContextKeys) r.run.erase(key);
    r.settings = j.at("settings");
    r.results = j.at("results");
    const nlohmann::json& paper = j.at("paper");
    // Older reports of a target without reference notes have none.
    r.paper = {paper.at("source").get<std::string>(), paper.value("notes", ""), paper.at("points")};
    r.verdict = verdict_from_json(j.at("verdict"));
    r.findings = j.at("findings").get<std::vector<std::string>>();
    r.plots = j.at("plots").get<std::vector<std::string>>();
    for (const auto& [key, value] : j.items()) {
      bool own = false;
      for (const char* k : kReportKeys) own = own || key == k;
      if (!own) r.extensions[key] = value;
    }
    return r;
  } catch (const nlohmann::json::exception& e) {
    RB_FAIL(kUsage, "the target report is incomplete or mistyped (", e.what(), ")");
  }
}

}  // namespace repairbench::harness
