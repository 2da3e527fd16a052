#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "harness/comparisons.h"
#include "harness/endpoint_cache.h"
#include "harness/imported.h"
#include "harness/plot.h"
#include "harness/study_claims.h"
#include "harness/sweep.h"
#include "harness/target_cli.h"
#include "harness/verdict.h"
#include "model_cases.h"
#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "repairbench/data/synthetic.h"
#include "repairbench/metrics/evaluate.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/report/report_check.h"
#include "temp_dir.h"

namespace repairbench {
namespace {

// t(0.975, df) for df = 1..29 (n = 2..30 pairs), the two-sided 95 % column
// of the standard Student's t table to three decimals.
TEST(Verdict, StudentTQuantilesMatchTheTable) {
  const double table[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                          2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                          2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045};
  for (int64_t df = 1; df <= 29; ++df) {
    EXPECT_NEAR(harness::student_t975(df), table[df - 1], 6e-4) << "df " << df;
  }
  EXPECT_NEAR(harness::student_t975(1000), 1.962, 1e-3);  // tends to the normal quantile
}

TEST(Verdict, PredictionIntervalOfOneNewRun) {
  const harness::PaperTolerance tol{1.0, 5.0, "why"};
  // n = 5, mean 74.38, s = 2.09: half-width t(0.975, 4) * 2.09 * sqrt(1.2) = 6.36.
  const std::vector<double> five = {74.38 - 2.09 * std::sqrt(2.0), 74.38, 74.38, 74.38, 74.38 + 2.09 * std::sqrt(2.0)};
  const auto c = harness::judge_against_paper("repair", five, 70.13, tol, "src");
  EXPECT_NEAR(c.ours, 74.38, 1e-9);
  EXPECT_NEAR(*c.ours_spread, 2.09, 1e-9);
  EXPECT_NEAR(c.threshold, 2.7764 * 2.09 * std::sqrt(1.2), 2e-3);
  EXPECT_NEAR(c.margin, c.threshold - 4.25, 1e-9);
  EXPECT_EQ(c.pairs, 5);
  // Inside, but wider than the 5-point resolution: inconclusive, and the
  // pairs that would decide are the first n with t(n-1) 2.09 sqrt(1+1/n) <= 5
  // (n = 10: 2.262 * 2.09 * 1.049 = 4.96).
  EXPECT_EQ(c.outcome, harness::Outcome::kInconclusive);
  EXPECT_EQ(c.pairs_to_decide, 10);
  EXPECT_FALSE(c.pass);
  EXPECT_EQ(harness::outcome_name(c), "inconclusive");

  // A zero spread falls back to the stated floor.
  const std::vector<double> same = {71.0, 71.0, 71.0};
  const auto flat = harness::judge_against_paper("flat", same, 70.13, tol, "src");
  EXPECT_DOUBLE_EQ(flat.threshold, 1.0);
  EXPECT_EQ(flat.outcome, harness::Outcome::kHolds);
  EXPECT_EQ(harness::outcome_name(flat), "consistent");
  EXPECT_NEAR(flat.margin, 1.0 - 0.87, 1e-9);

  // Either side of the edge: spread 0.5 over 4 pairs, half-width
  // t(0.975, 3) * 0.5 * sqrt(1.25) = 1.7787.
  const std::vector<double> four = {70.0 - 0.5 * std::sqrt(1.5), 70.0, 70.0, 70.0 + 0.5 * std::sqrt(1.5)};
  const double half = 3.1824 * 0.5 * std::sqrt(1.25);
  const auto in = harness::judge_against_paper("in", four, 70.0 + half - 0.01, tol, "src");
  EXPECT_EQ(in.outcome, harness::Outcome::kHolds);
  EXPECT_TRUE(in.borderline);
  EXPECT_GT(in.margin, 0);
  const auto out = harness::judge_against_paper("out", four, 70.0 + half + 0.01, tol, "src");
  EXPECT_EQ(out.outcome, harness::Outcome::kFails);
  EXPECT_EQ(harness::outcome_name(out), "differs");
  EXPECT_TRUE(out.borderline);
  EXPECT_LT(out.margin, 0);
  const auto far = harness::judge_against_paper("far", four, 60.0, tol, "src");
  EXPECT_EQ(far.outcome, harness::Outcome::kFails);
  EXPECT_FALSE(far.borderline);
  EXPECT_NEAR(far.margin_share, (far.threshold - 10.0) / far.threshold, 1e-12);

  // Fewer than three pairs never decide in favour; one far outside still differs.
  EXPECT_EQ(harness::judge_against_paper("two", {70.0, 70.2}, 70.1, tol, "src").outcome,
            harness::Outcome::kInconclusive);
  EXPECT_EQ(harness::judge_against_paper("one", {70.0}, 70.1, tol, "src").outcome, harness::Outcome::kInconclusive);
  EXPECT_EQ(harness::judge_against_paper("one", {60.0}, 70.1, tol, "src").outcome, harness::Outcome::kFails);
  // A spread that no number of pairs brings under the resolution says so.
  const auto noisy = harness::judge_against_paper("noisy", {60.0, 70.0, 80.0}, 70.0, tol, "src");
  EXPECT_EQ(noisy.outcome, harness::Outcome::kInconclusive);
  EXPECT_EQ(noisy.pairs_to_decide, 0);
  EXPECT_EQ(harness::judge_against_paper("nan", {std::nan(""), 1.0, 2.0}, 1.0, tol, "src").outcome,
            harness::Outcome::kFails);
}

TEST(Verdict, OutcomesMakeTheVerdict) {
  const harness::PaperTolerance tol{1.0, 5.0, "why"};
  const auto consistent = harness::judge_against_paper("a", {70.0, 70.1, 70.2}, 70.13, tol, "src");
  const auto differs = harness::judge_against_paper("b", {59.8, 59.9, 60.0}, 70.13, tol, "src");
  const auto inconclusive = harness::judge_against_paper("c", {70.0}, 70.13, tol, "src");
  EXPECT_TRUE(harness::check_at_least("red", 0.2, std::nullopt, 0.0, "why", "src").pass);
  EXPECT_FALSE(harness::check_at_least("red", -0.1, std::nullopt, 0.0, "why", "src").pass);

  EXPECT_EQ(harness::make_verdict("paper-numbers", {consistent}).result, "pass");
  const auto fail = harness::make_verdict("paper-numbers", {consistent, differs, inconclusive});
  EXPECT_EQ(fail.result, "fail");
  EXPECT_EQ(fail.summary, "1 of 3 checks pass, 1 inconclusive");
  EXPECT_EQ(harness::make_verdict("paper-numbers", {consistent, inconclusive}).result, "inconclusive");
  EXPECT_EQ(harness::make_verdict("paper-numbers", {}).result, "no-reference");
  const auto j = harness::to_json(fail);
  EXPECT_NEAR(j["checks"][1]["difference"].get<double>(), 59.9 - 70.13, 1e-9);
  EXPECT_EQ(j["checks"][1]["outcome"], "differs");
  EXPECT_EQ(j["checks"][2]["outcome"], "inconclusive");
  // Read back, every field of the rule survives.
  const auto back = harness::verdict_from_json(j);
  ASSERT_EQ(back.checks.size(), 3u);
  EXPECT_EQ(back.checks[2].outcome, harness::Outcome::kInconclusive);
  EXPECT_DOUBLE_EQ(back.checks[1].margin, differs.margin);
  EXPECT_EQ(back.checks[0].pairs, 3);
  EXPECT_EQ(harness::to_json(back), j);
}

TEST(Verdict, PairedClaimsHoldFailOrStayOpen) {
  EXPECT_EQ(harness::judge_paired_claim("a", {1.0, 1.2, 0.9}, "why", "src").outcome, harness::Outcome::kHolds);
  EXPECT_EQ(harness::judge_paired_claim("b", {-1.0, -1.2, -0.9}, "why", "src").outcome, harness::Outcome::kFails);
  // Straddling 0: t(0.975, 2) * 1 / sqrt(3) = 2.48 > 0.33.
  const auto open = harness::judge_paired_claim("c", {-0.67, 0.33, 1.33}, "why", "src");
  EXPECT_EQ(open.outcome, harness::Outcome::kInconclusive);
  EXPECT_EQ(harness::outcome_name(open), "inconclusive");
  EXPECT_GT(open.pairs_to_decide, 3);
  EXPECT_EQ(harness::judge_paired_claim("one", {5.0}, "why", "src").outcome, harness::Outcome::kInconclusive);
  const auto j = harness::to_json(harness::judge_paired_claim("a", {1.0, 1.2, 0.9}, "why", "src"));
  EXPECT_EQ(j["rule"], "paired_claim");
  EXPECT_EQ(j["outcome"], "holds");
  EXPECT_EQ(harness::to_json(harness::check_from_json(j)), j);
}

// Each judged study claim holds on plausible numbers and fails when two
// corrections are swapped or one effect is reversed: none holds by
// construction.
TEST(Study, EveryJudgedClaimCanFail) {
  harness::FamilyMeasurements mlp;
  mlp.family = "mlp128@fashion-mnist";
  mlp.midpoint = {{"interpolated", {57.0, 55.0, 60.0}},
                  {"repair", {74.0, 73.0, 76.0}},
                  {"rescale", {73.8, 72.6, 75.9}},
                  {"reshift", {58.0, 55.5, 60.5}},
                  {"data-free", {69.0, 67.0, 71.0}}};
  mlp.repair_one_batch = {73.8, 73.3, 75.7};
  harness::FamilyMeasurements bn;
  bn.family = "resnet20-bn@fashion-mnist";
  bn.batch_norm = true;
  bn.midpoint = {{"interpolated", {20.0, 25.0, 18.0}},
                 {"reset-bn", {88.0, 87.5, 88.4}},
                 {"repair", {88.3, 87.9, 88.6}},
                 {"rescale", {88.1, 87.8, 88.5}},
                 {"reshift", {21.0, 24.0, 20.0}}};
  const std::map<std::string, std::map<std::string, std::vector<double>>> controls = {
      {mlp.family, {{"none", {20.0, 22.0, 19.0}}}}};
  auto outcomes = [&](const harness::FamilyMeasurements& a, const harness::FamilyMeasurements& b) {
    std::map<std::string, harness::Outcome> out;
    for (const auto& c : harness::judge_study({a, b}, controls).claims) out[c.metric] = c.outcome;
    return out;
  };
  auto find = [](const std::map<std::string, harness::Outcome>& o, const std::string& family, const std::string& part) {
    for (const auto& [metric, outcome] : o) {
      if (metric.rfind(family, 0) == 0 && metric.find(part) != std::string::npos) return outcome;
    }
    throw std::runtime_error("no claim " + part + " for " + family);
  };
  const auto good = outcomes(mlp, bn);
  EXPECT_EQ(good.size(), 7u);  // MLP: rescale, reshift, data-free, budget; BN: rescale, reshift, reset-bn
  for (const auto& [metric, outcome] : good) EXPECT_EQ(outcome, harness::Outcome::kHolds) << metric;
  const auto judged = harness::judge_study({mlp, bn}, controls);
  ASSERT_FALSE(judged.measurements.empty());  // alignment against none: reported, not judged

  auto swapped = mlp;  // RESCALE and RESHIFT swapped
  std::swap(swapped.midpoint["rescale"], swapped.midpoint["reshift"]);
  auto o = outcomes(swapped, bn);
  EXPECT_EQ(find(o, mlp.family, "RESCALE"), harness::Outcome::kFails);
  EXPECT_EQ(find(o, mlp.family, "RESHIFT"), harness::Outcome::kFails);
  auto weak = mlp;  // data-free REPAIR recovering nothing
  weak.midpoint["data-free"] = weak.midpoint["interpolated"];
  EXPECT_EQ(find(outcomes(weak, bn), mlp.family, "data-free"), harness::Outcome::kFails);
  auto starved = mlp;  // one batch of statistics 3 points short
  for (auto& v : starved.repair_one_batch) v -= 3.0;
  EXPECT_EQ(find(outcomes(starved, bn), mlp.family, "one batch"), harness::Outcome::kFails);
  auto no_reset = bn;  // the BatchNorm reset recovering nothing: REPAIR far above it
  no_reset.midpoint["reset-bn"] = no_reset.midpoint["interpolated"];
  EXPECT_EQ(find(outcomes(mlp, no_reset), bn.family, "BatchNorm reset"), harness::Outcome::kFails);
}

TEST(Verdict, SpreadIsTheSampleStandardDeviation) {
  const auto s = harness::spread({1.0, 2.0, 3.0});
  EXPECT_DOUBLE_EQ(s.mean, 2.0);
  EXPECT_DOUBLE_EQ(*s.std, 1.0);
  EXPECT_FALSE(harness::spread({5.0}).std.has_value());
}

// A one-epoch, two-batch width-8 MLP endpoint on synthetic Fashion-MNIST.
harness::EndpointSpec tiny_endpoint(uint64_t seed) {
  harness::EndpointSpec spec;
  spec.model = testing::make_config("mlp", 8, "none", 1, 28, 10, 1);
  spec.dataset = "synthetic-fashion-mnist";
  spec.recipe = train::recipe_preset("mlp", "fashion-mnist");
  spec.recipe.epochs = 1;
  spec.recipe.batch_size = 64;
  spec.max_batches_per_epoch = 2;
  spec.seed = seed;
  return spec;
}

TEST(EndpointCache, TrainsOnceThenLoadsTheSameWeights) {
  testing::TempDir dir;
  const harness::EndpointSpec spec = tiny_endpoint(3);
  const auto splits = data::synthetic_splits("fashion-mnist", 256, 64, 1);
  const auto first = harness::train_or_load(spec, splits, dir.path(), false, torch::kCPU);
  EXPECT_TRUE(first.trained_now);
  EXPECT_TRUE(std::filesystem::exists(first.path));
  // A fresh training's seconds are all this run's; a cache hit spends none.
  EXPECT_GT(first.this_run_training_seconds, 0.0);
  EXPECT_EQ(first.this_run_training_seconds, first.meta.at("train_seconds").get<double>());
  const auto second = harness::train_or_load(spec, splits, dir.path(), false, torch::kCPU);
  EXPECT_FALSE(second.trained_now);
  EXPECT_EQ(second.this_run_training_seconds, 0.0);
  EXPECT_EQ(second.path, first.path);
  const auto a = models::state_dict(*first.net), b = models::state_dict(*second.net);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i].second.equal(b[i].second)) << a[i].first;
  // Any change to the recipe is another endpoint.
  auto other = spec;
  other.recipe.schedule.peak_lr = 0.1;
  EXPECT_NE(harness::cache_key(other), harness::cache_key(spec));
  EXPECT_EQ(harness::cache_key(spec), harness::cache_key(spec));
  // The recipe's source is a description: rewording it keeps the key.
  auto reworded = spec;
  reworded.recipe.source = "the same recipe, described in other words";
  EXPECT_EQ(harness::cache_key(reworded), harness::cache_key(spec));
  // --retrain trains again, deterministically the same weights on the CPU.
  const auto again = harness::train_or_load(spec, splits, dir.path(), true, torch::kCPU);
  EXPECT_TRUE(again.trained_now);
  const auto c = models::state_dict(*again.net);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i].second.equal(c[i].second)) << a[i].first;
}

// An entry stored under an earlier key (which hashed the recipe's source text
// too) is found by its stored spec, renamed to its current key and loaded,
// not trained again; the folder is then marked and never scanned again.
TEST(EndpointCache, EntriesUnderAnEarlierKeyAreRenamedAndLoaded) {
  testing::TempDir dir;
  const harness::EndpointSpec spec = tiny_endpoint(5);
  const auto splits = data::synthetic_splits("fashion-mnist", 256, 64, 1);
  const auto trained = harness::train_or_load(spec, splits, dir.path(), false, torch::kCPU);
  const std::string legacy = dir.path() + "/mlp_0123456789abcdef.pt";
  std::filesystem::rename(trained.path, legacy);
  std::filesystem::remove(dir.path() + "/.keys-from-fields");
  // A file that is not a checkpoint is left alone.
  testing::write_bytes(dir.path() + "/mlp_fedcba9876543210.pt", "not a checkpoint");
  auto reworded = spec;
  reworded.recipe.source = "the same recipe, described in other words";
  const auto loaded = harness::train_or_load(reworded, splits, dir.path(), false, torch::kCPU);
  EXPECT_FALSE(loaded.trained_now);
  EXPECT_EQ(loaded.path, trained.path);
  EXPECT_TRUE(std::filesystem::exists(trained.path));
  EXPECT_FALSE(std::filesystem::exists(legacy));
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/mlp_fedcba9876543210.pt"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/.keys-from-fields"));
  const auto a = models::state_dict(*trained.net), b = models::state_dict(*loaded.net);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i].second.equal(b[i].second)) << a[i].first;
}

TEST(Plot, WritesAPngOfTheRequestedSize) {
  testing::TempDir dir;
  harness::Chart chart;
  chart.title = "t";
  chart.log_x = true;
  chart.series = {{"a", {32, 64, 128}, {10, 20, 15}, true, false, -1},
                  {"paper", {32, 128}, {12, 11}, false, false, -1},
                  {"dashed", {32, 128}, {5, 30}, true, true, -1}};
  harness::save_chart_png(chart, dir.file("c.png"), 640, 400);
  const cv::Mat img = cv::imread(dir.file("c.png"));
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, 640);
  EXPECT_EQ(img.rows, 400);
  chart.series = {{"nothing", {1}, {std::nan("")}, true, false, -1}};
  EXPECT_THROW(harness::save_chart_png(chart, dir.file("d.png")), Error);
}

nlohmann::json minimal_reproduction_report() {
  return {{"format_version", 1},
          {"kind", "reproduction"},
          {"context",
           {{"git_commit", "x"},
            {"torch_version", "1.13.0"},
            {"device", "cpu"},
            {"threads", 2},
            {"date", "d"},
            {"command", "c"},
            {"target", "t"},
            {"preset", "quick"},
            {"seeds", {{1, 2}}},
            {"smoke", false}}},
          {"settings", nlohmann::json::object()},
          {"results", {{{"summary", {{"barrier", 10.0}, {"seconds", 3.0}}}}}},
          {"verdict",
           {{"mode", "qualitative"},
            {"result", "pass"},
            {"summary", "1 of 1"},
            {"checks",
             {{{"metric", "m"},
               {"ours", 1.0},
               {"rule", "at_least"},
               {"threshold", 0.0},
               {"reason", "why"},
               {"pass", true}}}}}},
          {"plots", nlohmann::json::array()}};
}

TEST(ReportCheck, AcceptsAConformingReportAndNamesWhatIsMissing) {
  testing::TempDir dir;
  auto r = minimal_reproduction_report();
  EXPECT_TRUE(report::check_report(r, dir.path()).empty());
  r["plots"].push_back("missing.png");
  r["verdict"]["checks"][0]["reason"] = "";
  r["context"].erase("git_commit");
  const auto problems = report::check_report(r, dir.path());
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_NE(problems[0].find("git_commit"), std::string::npos);
}

TEST(Compare, FlagsChangesBeyondTheToleranceAndIgnoresTimings) {
  auto a = minimal_reproduction_report(), b = a;
  b["results"][0]["summary"]["seconds"] = 99.0;
  EXPECT_TRUE(report::compare_reports(a, b, 0.0).empty());
  b["results"][0]["summary"]["barrier"] = 10.4;
  auto changes = report::compare_reports(a, b, 0.5);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_FALSE(changes[0].significant);
  changes = report::compare_reports(a, b, 0.1);
  EXPECT_TRUE(changes[0].significant);
  EXPECT_EQ(changes[0].path, "/results/0/summary/barrier");
  b["verdict"]["result"] = "fail";
  changes = report::compare_reports(a, b, 1.0);
  EXPECT_TRUE(std::any_of(changes.begin(), changes.end(),
                          [](const report::Change& c) { return c.path == "/verdict/result" && c.significant; }));
}

// Per-metric tolerances: the first matching rule decides, abs and
// rel add up, a number no rule matches must not move, and a tolerances file
// must say why each bound is what it is.
TEST(Compare, PerMetricRulesDecideInOrder) {
  auto a = minimal_reproduction_report(), b = a;
  a["results"][0]["summary"]["test_accuracy"] = 50.0;
  a["results"][0]["summary"]["test_loss"] = 2.0;
  a["results"][0]["summary"]["permutations"] = {0, 1, 2};
  b = a;
  b["results"][0]["summary"]["test_loss"] = 2.0 + 1.5e-6;  // within 1e-6 + 1e-6 * 2
  report::Tolerances t;
  t.rules = {{"*/permutations*", 0, 0, "indices"}, {"*loss*", 1e-6, 1e-6, "float sums"}};
  auto changes = report::compare_reports(a, b, t);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_FALSE(changes[0].significant);
  EXPECT_EQ(changes[0].rule.pattern, "*loss*");
  b["results"][0]["summary"]["test_loss"] = 2.0 + 4e-6;
  b["results"][0]["summary"]["permutations"][1] = 2;
  b["results"][0]["summary"]["test_accuracy"] = 50.0 + 1e-12;  // no rule: must not move
  changes = report::compare_reports(a, b, t);
  ASSERT_EQ(changes.size(), 3u);
  for (const auto& c : changes) EXPECT_TRUE(c.significant) << c.path;
  EXPECT_EQ(t.rule_for("/results/0/summary/permutations/1").why, "indices");
  EXPECT_EQ(t.rule_for("/results/0/summary/test_accuracy").abs, 0.0);

  testing::TempDir dir;
  write_file_atomic(dir.file("t.json"),
                    R"({"rules": [{"pattern": "*loss*", "abs": 1e-6, "why": "sums"}, {"pattern": "*", "why": "x"}]})");
  const report::Tolerances loaded = report::load_tolerances(dir.file("t.json"));
  ASSERT_EQ(loaded.rules.size(), 2u);
  EXPECT_EQ(loaded.rules[0].abs, 1e-6);
  EXPECT_EQ(loaded.rules[1].rel, 0.0);
  for (const std::string& bad : {std::string(R"({"rules": [{"pattern": "*", "abs": 1}]})"),
                                 std::string(R"({"rules": [{"pattern": "*", "abs": -1, "why": "w"}]})"),
                                 std::string(R"({"rules": [{"abs": 1, "why": "w"}]})"), std::string(R"({"r": []})")}) {
    write_file_atomic(dir.file("bad.json"), bad);
    try {
      report::load_tolerances(dir.file("bad.json"));
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage) << bad;
      EXPECT_NE(std::string(e.what()).find(dir.file("bad.json")), std::string::npos) << e.what();
    }
  }
}

// The share of each group's permutation two reports agree on.
TEST(Compare, PermutationAgreementPerGroup) {
  nlohmann::json a = {
      {"results",
       {{"alignment",
         {{"groups",
           {{{"name", "fc1"}, {"permutation", {0, 1, 2, 3}}}, {{"name", "fc2"}, {"permutation", {1, 0}}}}}}}}}};
  nlohmann::json b = a;
  b["results"]["alignment"]["groups"][0]["permutation"] = {0, 2, 1, 3};
  const auto agreement = report::permutation_agreement(a, b);
  ASSERT_EQ(agreement.size(), 2u);
  EXPECT_EQ(agreement[0].path, "/results/alignment/groups/0/permutation");
  EXPECT_EQ(agreement[0].equal, 2);
  EXPECT_EQ(agreement[0].size, 4);
  EXPECT_EQ(agreement[1].equal, 2);
  EXPECT_EQ(agreement[1].size, 2);
}

TEST(Sweep, PaperPointsAndFindings) {
  const nlohmann::json entry = {
      {"endpoint0", {{"test_accuracy", 95.59}}},
      {"endpoint1", {{"test_accuracy", 95.53}}},
      {"interpolated", {{"test_accuracy", 65.97}}},
      {"reset-bn", {{"test_accuracy", 94.07}}},
      {"curves", {{"reset-bn", {{"alpha", {0.0, 0.5, 1.0}}, {"test_accuracy", {95.54, 94.07, 95.66}}}}}}};
  const auto p = harness::paper_point_from_json(entry, "figure_data.csv");
  EXPECT_DOUBLE_EQ(p.endpoint0, 95.59);
  EXPECT_DOUBLE_EQ(*p.interpolated, 65.97);
  EXPECT_DOUBLE_EQ(p.corrected.at("reset-bn"), 94.07);
  EXPECT_EQ(p.curves.at("reset-bn").value.size(), 3u);
  EXPECT_EQ(p.source, "figure_data.csv");

  const harness::PaperTolerance tol{1.0, 5.0, "why"};
  const auto pass = harness::judge_against_paper("a", {94.5, 94.5, 94.5}, 94.07, tol, "src");
  const auto fail = harness::judge_against_paper("b", {59.86, 59.86, 59.86}, 70.13, tol, "src");
  const auto open = harness::judge_against_paper("c", {59.86}, 60.13, tol, "src");
  EXPECT_TRUE(harness::sweep_findings({pass, open}, "cause").empty());
  const auto findings = harness::sweep_findings({pass, fail, open}, "cause");
  ASSERT_EQ(findings.size(), 2u);  // the check that differs, then the cause once
  EXPECT_NE(findings[0].find("ours 59.86, paper 70.13 (difference -10.27"), std::string::npos);
  EXPECT_NE(findings[0].find("from 3 pairs by 9.27 points"), std::string::npos);
  // The meaning of a difference follows its direction and quantity.
  auto as = [](harness::Check c, harness::Quantity q) {
    c.quantity = q;
    return c;
  };
  const auto above = harness::judge_against_paper("mid", {57.0, 57.5, 58.0}, 26.69, tol, "src");
  const auto meanings = harness::sweep_findings(
      {as(fail, harness::Quantity::kEndpoints), as(above, harness::Quantity::kAlignedMidpoint),
       as(fail, harness::Quantity::kCorrectedMidpoint), as(above, harness::Quantity::kEndpoints)},
      "");
  ASSERT_EQ(meanings.size(), 4u);  // no known differences given: none appended
  EXPECT_NE(meanings[0].find("our endpoints are weaker"), std::string::npos) << meanings[0];
  EXPECT_NE(meanings[1].find("keeps more accuracy than the paper's"), std::string::npos) << meanings[1];
  EXPECT_NE(meanings[2].find("recovers less of the barrier"), std::string::npos) << meanings[2];
  EXPECT_NE(meanings[3].find("our endpoints are stronger"), std::string::npos) << meanings[3];
  EXPECT_EQ(meanings[1].find("weaker"), std::string::npos) << meanings[1];
  EXPECT_EQ(findings[1], "cause");
}

// Settings of a smoke sweep of `pairs` pairs whose cache and reports live in `dir`.
harness::TargetSettings smoke_settings(const testing::TempDir& dir, int64_t pairs) {
  harness::TargetSettings s;
  s.target = "test";
  s.smoke = true;
  s.pairs = pairs;
  s.concurrent_endpoints = false;
  s.cache_dir = dir.path() + "/cache";
  s.out_dir = dir.path() + "/out";
  return s;
}

// A width-8 Fashion-MNIST MLP point of `depth` extra layers with REPAIR, at alphas 0, 0.5 and 1.
harness::SweepPoint smoke_point(const harness::TargetSettings& s, int64_t depth) {
  auto p = harness::trained_point(s, testing::make_config("mlp", 8, "none", depth, 28, 10, 1), "fashion-mnist",
                                  {repair::RepairMethod::kForward});
  p.label = "p";
  p.merge.alphas = {0.0, 0.5, 1.0};
  return p;
}

// A pair whose endpoints diverge is reported, and the point keeps the
// results of its other pairs (one unlucky seed does not erase a width).
TEST(Sweep, ADivergedPairLeavesTheOtherPairsResults) {
  testing::TempDir dir;
  harness::TargetSettings s = smoke_settings(dir, 3);
  auto p = smoke_point(s, 1);
  p.merge.variance_ratios = false;
  const auto splits = data::synthetic_splits("fashion-mnist", 256, 64, 1);
  const harness::EndpointSpec base = p.base;
  p.endpoints = [&](int64_t k) {
    if (k == 1) RB_FAIL(kNumeric, "training diverged at epoch 1 (test)");
    auto a = base, b = base;
    a.seed = static_cast<uint64_t>(2 * k + 1);
    b.seed = static_cast<uint64_t>(2 * k + 2);
    return std::make_pair(harness::train_or_load(a, splits, s.cache_dir, false, torch::kCPU),
                          harness::train_or_load(b, splits, s.cache_dir, false, torch::kCPU));
  };
  const auto run = harness::run_sweep(s, {p});
  EXPECT_FALSE(run.shard);  // unsharded: the outcomes, no shard report
  const auto& outcomes = run.outcomes;
  ASSERT_EQ(outcomes.size(), 1u);
  const auto& o = outcomes[0];
  EXPECT_TRUE(o.error.empty());
  EXPECT_EQ(o.merges.size(), 2u);
  EXPECT_EQ(o.endpoints.size(), 4u);
  ASSERT_EQ(o.diverged.size(), 1u);
  EXPECT_EQ(o.diverged[0].pair, 1);
  const auto checks = harness::sweep_checks(s, outcomes, {"MLP", "width", true, true});
  const auto share = std::find_if(checks.begin(), checks.end(), [](const harness::Check& c) {
    return c.metric.find("share of pairs trained without diverging") != std::string::npos;
  });
  ASSERT_NE(share, checks.end());
  EXPECT_FALSE(share->pass);
  EXPECT_NEAR(share->ours, 2.0 / 3.0, 1e-12);
  EXPECT_NE(share->reason.find("pair 2 (seeds 3, 4)"), std::string::npos) << share->reason;
  const auto results = harness::sweep_results_json(outcomes);
  EXPECT_EQ(results.at(0).at("pairs").size(), 2u);
  EXPECT_EQ(results.at(0).at("diverged_pairs").at(0).at("pair"), 1);

  // The output ensemble of each pair that ran: at alpha 0 it is endpoint a
  // alone. Collated (no networks in memory), pair 3's endpoints are loaded
  // again as pair 3, not as the second pair.
  std::vector<double> endpoint_a;  // pairs 1 and 3
  for (int64_t k : {0, 2}) {
    endpoint_a.push_back(
        metrics::evaluate(*p.endpoints(k).first.net, splits.test, p.merge.eval_batch_size, torch::kCPU).accuracy);
  }
  EXPECT_NE(endpoint_a[0], endpoint_a[1]);  // else the test could not tell the pairs apart
  for (bool collate : {false, true}) {
    s.collate = collate;
    const auto ensembles = harness::output_ensembles(s, o, splits.test);
    ASSERT_EQ(ensembles.curves.size(), 2u);
    ASSERT_EQ(ensembles.midpoint.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_DOUBLE_EQ(ensembles.curves[i][0].at("test_accuracy").get<double>(), endpoint_a[i])
          << "pair " << i << (collate ? " collated" : "");
    }
  }
}

// The qualitative variance checks judge the std ratios on the test set: a
// correction whose held-out ratio is off fails "restores the last layer's
// std" although its statistics-data ratio reads 1 (as it always does).
TEST(Sweep, TheVarianceChecksJudgeTheHeldOutRatio) {
  testing::TempDir dir;
  const harness::TargetSettings s = smoke_settings(dir, 1);
  auto p = smoke_point(s, 2);
  auto outcomes = harness::run_sweep(s, {p}).outcomes;
  ASSERT_EQ(outcomes.size(), 1u);
  ASSERT_FALSE(outcomes[0].merges.front().variance_ratios.empty());
  auto restores = [&] {
    for (const auto& c : harness::sweep_checks(s, outcomes, {"MLP", "width", true, true})) {
      if (c.metric.find("restores the last layer's std, test set") != std::string::npos) return c;
    }
    throw std::runtime_error("no variance check");
  };
  auto& last = outcomes[0].merges.front().variance_ratios.back();
  last.after = {1.0};
  last.held_out_after = {1.0};
  EXPECT_TRUE(restores().pass);
  last.held_out_after = {0.8};
  const auto off = restores();
  EXPECT_FALSE(off.pass);
  EXPECT_NEAR(off.ours, 0.8, 1e-12);
}

TEST(TargetCli, FlagOrPresetDefaults) {
  harness::TargetSettings s;
  EXPECT_EQ(harness::flag_or_preset(s, "", "a,b", "a", "z"), "a,b");
  EXPECT_EQ(harness::flag_or_preset(s, "given", "a,b", "a", "z"), "given");
  s.preset = harness::Preset::kQuick;
  EXPECT_EQ(harness::flag_or_preset(s, "", "a,b", "a", "z"), "a");
  s.smoke = true;
  EXPECT_EQ(harness::flag_or_preset(s, "", "a,b", "a", "z"), "z");
  EXPECT_EQ(harness::flag_or_preset(s, "", "a,b", "a"), "a");  // no smoke default: the preset's
  EXPECT_EQ(harness::flag_or_preset(s, "given", "a,b", "a", "z"), "given");
}

TEST(Sweep, PaperCurveComparedAsOurs) {
  const nlohmann::json entry = {
      {"endpoint0", {{"test_accuracy", 66.14}}},
      {"endpoint1", {{"test_accuracy", 65.38}}},
      {"repair", {{"test_accuracy", 62.07}}},
      {"curves", {{"repair", {{"alpha", {0.0, 0.5, 1.0}}, {"test_accuracy", {66.1, 62.07, 65.4}}}}}}};
  auto p = harness::paper_point_from_json(entry, "figure_data.csv");
  p.compare_as("reset-bn", "repair");
  EXPECT_DOUBLE_EQ(p.corrected.at("reset-bn"), 62.07);
  EXPECT_EQ(p.curves.at("reset-bn").value, p.curves.at("repair").value);
  EXPECT_THROW(p.compare_as("reset-bn", "closed-form"), Error);
}

TEST(Imported, MissingCheckpointNamesTheFileAndTheFlag) {
  testing::TempDir dir;
  harness::TargetSettings s;
  s.pairs = 1;
  harness::ImportedCheckpoints from{dir.path(), "module.", "imagenet"};
  write_file_atomic(dir.path() + "/resnet50_1.pt", "x");
  try {
    harness::require_checkpoints(s, from, {"resnet50"});
    FAIL() << "a missing seed-2 checkpoint was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kData);
    EXPECT_NE(std::string(e.what()).find(dir.path() + "/resnet50_2.pt not found"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--checkpoint-dir"), std::string::npos) << e.what();
  }
  write_file_atomic(dir.path() + "/resnet50_2.pt", "x");
  EXPECT_NO_THROW(harness::require_checkpoints(s, from, {"resnet50"}));
  harness::ImportedCheckpoints unset{"", "module.", "imagenet"};
  s.smoke = true;
  s.out_dir = dir.path() + "/out";
  harness::require_checkpoints(s, unset, {"resnet50"});  // smoke: nothing to check, the default folder set
  EXPECT_EQ(unset.dir, dir.path() + "/out/smoke-checkpoints");
  EXPECT_THROW(harness::torchvision_config("vgg11", false), Error);
  EXPECT_EQ(harness::torchvision_config("resnet18", false).family, models::Family::kResNet18ImageNet);
  EXPECT_EQ(harness::torchvision_config("resnet50", true).image_size, 64);
}

}  // namespace
}  // namespace repairbench
