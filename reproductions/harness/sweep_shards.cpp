#include <algorithm>
#include <filesystem>
#include <map>

#include "harness/sweep.h"
#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "repairbench/core/json_file.h"
#include "repairbench/report/context.h"
#include "repairbench/report/report_check.h"

// Sharding: the shard reports a sharded sweep writes, and reading them back
// for a collating run.

namespace repairbench::harness {
namespace {

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

}  // namespace

std::string shard_file_name(int64_t index, int64_t count) {
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

std::vector<ShardReport> load_shard_reports(const std::string& dir) {
  namespace fs = std::filesystem;
  RB_CHECK(fs::is_directory(dir), kUsage, "no shard reports: ", dir,
           " is not a folder; run every shard (--shard k/n) first");
  std::map<int64_t, std::vector<ShardReport>> by_count;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("shard-", 0) != 0 || entry.path().extension() != ".json") continue;
    ShardReport shard = read_shard_report(entry.path().string());
    RB_CHECK(name == shard_file_name(shard.index - 1, shard.count), kUsage, shard.path, " holds shard ", shard.index,
             "/", shard.count, "; shard reports keep the names they were written with");
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
             " has no report in ", dir, " (", shard_file_name(k - 1, count), "); run it with --shard ", k, "/", count);
    const ShardReport& shard = shards[k - 1];
    RB_CHECK(shard.target == shards.front().target && shard.arguments == shards.front().arguments &&
                 shard.commit == shards.front().commit,
             kUsage, "shard ", k, " of ", count, " in ", dir,
             " ran a different target, arguments or commit than shard 1; rerun it with the same command");
  }
  return std::move(shards);
}

ShardWritten write_shard_report(const TargetSettings& settings, const nlohmann::json& shard_runs) {
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
  const std::string path = dir + "/" + shard_file_name(settings.shard_index, settings.shard_count);
  write_file_atomic(path, shard.dump(1) + "\n");
  return ShardWritten{path, static_cast<int64_t>(shard_runs.size())};
}

}  // namespace repairbench::harness
