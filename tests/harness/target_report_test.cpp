#include "harness/target_report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>

#include "harness/target.h"
#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "repairbench/report/report_check.h"
#include "temp_dir.h"

namespace repairbench {
namespace {

namespace fs = std::filesystem;

// Every golden target report (every kernel's set, every target) is a report
// the harness wrote: reading it as a TargetReport and writing it again must
// give the same JSON, field for field, the targets' extension fields included.
// Some were written before every stage and the paper's notes were always
// stored; those come back with the stage at 0 s and empty notes.
TEST(TargetReport, EveryGoldenTargetReportRoundTrips) {
  const fs::path golden = fs::path(REPAIRBENCH_SOURCE_DIR) / "tests/regression/golden";
  int reports = 0;
  for (const auto& kernel : fs::directory_iterator(golden)) {
    if (!fs::is_directory(kernel.path() / "targets")) continue;
    for (const auto& entry : fs::directory_iterator(kernel.path() / "targets")) {
      SCOPED_TRACE(entry.path().string());
      const nlohmann::json stored = report::load_report(entry.path().string());
      const harness::TargetReport typed = harness::target_report_from_json(stored);
      EXPECT_EQ(typed.context.target, entry.path().stem().string());
      nlohmann::json expected = stored;
      for (const char* stage : {"training", "alignment", "repair_statistics", "curves"}) {
        if (!expected["context"]["stage_seconds"].contains(stage)) expected["context"]["stage_seconds"][stage] = 0.0;
      }
      if (!expected["paper"].contains("notes")) expected["paper"]["notes"] = "";
      // Compared as written: a NaN (stored as null) is then equal to itself.
      EXPECT_EQ(harness::to_json(typed).dump(1), expected.dump(1));
      ++reports;
    }
  }
  EXPECT_GE(reports, 9);  // at least one kernel's set of the nine targets
}

harness::TargetReport small_report() {
  harness::TargetReport r;
  r.run = {{"git_commit", "abc"},  {"torch_version", "1.13.1"},      {"device", "cpu"},
           {"threads", 1},         {"date", "2026-12-02T00:00:00Z"}, {"command", "repro_mlp_datasets --smoke"},
           {"peak_rss_mib", 100.0}};
  r.context = {"mlp_datasets", "quick", true, 2, "/cache", {}, 12.5, std::nullopt};
  r.context.stages.training = 3;
  r.context.stages.training_cumulative = 7;
  r.verdict = harness::make_verdict(
      "qualitative", {harness::check_at_least("REPAIR reduces the barrier <&>", 40, 2.5, 0, "the paper's claim", "")});
  r.findings = {"a finding"};
  r.extensions = {{"variance_ratios", {1.0, 0.5}}};
  return r;
}

TEST(TargetReport, WritesTheSeedsAndTheCumulativeTrainingAndReadsThemBack) {
  const auto j = harness::to_json(small_report());
  EXPECT_EQ(j["context"]["seeds"], nlohmann::json::parse("[[1, 2], [3, 4]]"));
  EXPECT_EQ(j["context"]["git_commit"], "abc");
  EXPECT_EQ(j["context"]["endpoint_cumulative_training_seconds"], 7.0);
  EXPECT_EQ(j["context"]["stage_seconds"]["total"], 12.5);
  EXPECT_EQ(j["variance_ratios"][1], 0.5);
  EXPECT_TRUE(report::check_report(j, ".").empty());
  const auto back = harness::target_report_from_json(j);
  EXPECT_EQ(back.context.stages.training_cumulative, 7.0);
  EXPECT_EQ(back.verdict.checks.at(0).ours_spread, 2.5);
  EXPECT_FALSE(back.verdict.checks.at(0).paper);
  EXPECT_EQ(back.run, small_report().run);
  EXPECT_EQ(harness::to_json(back), j);
}

// The printed verdict names its pairs and the CPU and BLAS kernel, and each
// paper-number check its outcome, interval, margin and, when inconclusive,
// the pairs that would decide; a collated run's shard times stand apart.
TEST(TargetReport, ThePrintedVerdictNamesPairsKernelAndMargins) {
  auto r = small_report();
  r.run["cpu"] = "Test CPU";
  r.run["blas"] = "OpenBLAS 0.3.21";
  r.run["blas_core"] = "Haswell";
  const harness::PaperTolerance tol{1.0, 5.0, "the why"};
  const std::vector<double> five = {74.38 - 2.09 * std::sqrt(2.0), 74.38, 74.38, 74.38, 74.38 + 2.09 * std::sqrt(2.0)};
  r.verdict = harness::make_verdict(
      "paper-numbers", {harness::judge_against_paper("REPAIR midpoint", five, 70.13, tol, "src"),
                        harness::judge_against_paper("endpoints", {86.5, 86.55, 86.6}, 87.68, tol, "src")});
  r.context.shard_stages = harness::StageSeconds{};
  r.context.shard_stages->alignment = 4;
  harness::TargetSettings s;
  s.out_dir = "/tmp/out";
  std::ostringstream out;
  harness::print_target_summary(out, s, r, "", "/tmp/out/report.json");
  const std::string text = out.str();
  for (const char* part :
       {"verdict (paper-numbers): fail, 0 of 2 checks pass, 1 inconclusive; pairs (1,2) (3,4); CPU Test CPU, "
        "OpenBLAS 0.3.21 (kernel Haswell)",
        "[INCONCLUSIVE] REPAIR midpoint: ours 74.38 +- 2.09, paper 70.13 (difference +4.25); one new run of ours lies "
        "in 68.02 .. 80.74 (n = 5, half-width 6.36, margin +2.11 = 33 % of it); decides at a half-width <= 5.00: 10 "
        "pairs at this spread would (the why)",
        "[FAIL differs] endpoints: ours 86.55", "margin -0.13 = -13 % of it)",
        "collated: its shards' processes spent training 0.0 s, alignment 4.0 s"}) {
    EXPECT_NE(text.find(part), std::string::npos) << "no '" << part << "' in:\n" << text;
  }
  const auto j = harness::to_json(r);
  EXPECT_EQ(j["context"]["shards_stage_seconds_summed"]["alignment"], 4.0);
  EXPECT_EQ(harness::target_report_from_json(j).context.shard_stages->alignment, 4.0);
}

TEST(TargetReport, RefusesAnExtensionFieldThatReplacesTheReportsOwn) {
  auto r = small_report();
  r.extensions["verdict"] = "overwritten";
  EXPECT_THROW(harness::to_json(r), Error);
}

TEST(TargetReport, RefusesOtherKindsAndTruncatedReportsWithAUsageError) {
  auto j = harness::to_json(small_report());
  auto merge = j;
  merge["kind"] = "merge";
  auto truncated = j;
  truncated.erase("verdict");
  auto mistyped = j;
  mistyped["context"]["pairs"] = "two";
  for (const auto& bad : {merge, truncated, mistyped, nlohmann::json::array()}) {
    try {
      harness::target_report_from_json(bad);
      ADD_FAILURE() << "accepted " << bad.dump().substr(0, 80);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    }
  }
}

// The index shows each readable report's verdict, checks and findings,
// escaped, and says which report it could not read instead of stopping.
TEST(TargetReport, TheIndexListsEveryReportAndNamesAnUnreadableOne) {
  testing::TempDir root;
  fs::create_directories(root.file("mlp_datasets"));
  auto report = small_report();
  // A NaN (a relative reduction of a zero barrier) is stored as null and shown as an empty cell.
  report.verdict.checks.push_back(
      harness::check_at_least("a zero barrier's reduction", std::nan(""), std::nullopt, 0, "the paper's claim", ""));
  write_file_atomic(root.file("mlp_datasets/report.json"), harness::to_json(report).dump());
  testing::write_bytes(root.file("broken/report.json"), "{\"kind\": \"reproduction\"");
  harness::write_reports_index(root.path());
  const std::string html = read_file(root.file("index.html"));
  EXPECT_NE(html.find("<h2>mlp_datasets</h2>"), std::string::npos);
  EXPECT_NE(html.find("REPAIR reduces the barrier &lt;&amp;&gt;"), std::string::npos);
  EXPECT_NE(html.find("<td>40.00</td><td>2.50</td><td></td>"), std::string::npos);
  EXPECT_NE(html.find("<td>a zero barrier's reduction</td><td></td><td></td><td></td>"), std::string::npos);
  EXPECT_EQ(html.find("nan"), std::string::npos);
  EXPECT_NE(html.find("a finding"), std::string::npos);
  EXPECT_NE(html.find("<h2>broken</h2><p>unreadable report:"), std::string::npos);
}

}  // namespace
}  // namespace repairbench
