// The catalogue of bad JSON reports (what `repairbench compare` and
// `check-report` read): load_report refuses each with Error(kIo) naming the
// file and the problem (non-finite numbers included: the parser refuses NaN,
// Infinity and overflowing numbers), and the schema check lists wrongly typed
// fields as problems instead of throwing a JSON type error.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "expect_error.h"
#include "repairbench/report/report_check.h"
#include "temp_dir.h"

namespace repairbench::report {
namespace {

using repairbench::testing::TempDir;
using repairbench::testing::throws_error;
using repairbench::testing::write_bytes;

// A merge report that follows the schema; the cases break one part of it.
const char* const kGoodReport = R"({"format_version": 1, "kind": "merge",
  "context": {"git_commit": "abc", "torch_version": "1.13", "device": "cpu", "threads": 2,
              "date": "2024-01-01", "command": "repairbench merge"},
  "settings": {}, "results": {"barrier": 12.5, "curves": [0.5, 0.25]}})";

TEST(BadReports, JsonReports) {
  struct Case {
    std::string name;
    std::string text;  // the file's content
    std::string says;
  };
  const std::string good = kGoodReport;
  const std::vector<Case> cases = {
      {"empty file", "", "is not valid JSON"},
      {"cut in half", good.substr(0, good.size() / 2), "is not valid JSON"},
      {"binary garbage", std::string("\x89PNG\r\n\x1a\n\0\0", 10), "is not valid JSON"},
      {"NaN literal", R"({"results": {"barrier": NaN}})", "is not valid JSON"},
      {"Infinity literal", R"({"results": {"barrier": Infinity}})", "is not valid JSON"},
      {"single quotes", "{'kind': 'merge'}", "is not valid JSON"},
      {"trailing comma", R"({"kind": "merge",})", "is not valid JSON"},
      {"two documents", good + good, "is not valid JSON"},
      {"number overflowing a double", R"({"results": {"barrier": 1e999}})", "number overflow parsing '1e999'"},
      {"negative overflow inside an array", R"({"results": {"curves": [0.5, -1e400]}})",
       "number overflow parsing '-1e400'"},
      // 100,000 levels overflowed the stack in nlohmann's recursive copies.
      {"arrays 100,000 deep", std::string(100000, '[') + std::string(100000, ']'), "nests objects and arrays deeper"},
      {"objects 100,000 deep",
       [] {
         std::string t;
         for (int i = 0; i < 100000; ++i) t += "{\"a\":";
         return t + "1" + std::string(100000, '}');
       }(),
       "nests objects and arrays deeper"},
      {"one level too deep", std::string(65, '[') + std::string(65, ']'), "deeper than 64 levels"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    const std::string path = dir.file("report.json");
    write_bytes(path, c.text);
    EXPECT_TRUE(throws_error(ErrorKind::kIo, [&] { load_report(path); }, {path, c.says})) << c.name;
  }
  TempDir dir;
  EXPECT_TRUE(throws_error(ErrorKind::kIo, [&] { load_report(dir.file("absent.json")); },
                           {dir.file("absent.json"), "does not exist"}));
  EXPECT_TRUE(throws_error(ErrorKind::kIo, [&] { load_report(dir.path()); }, {dir.path(), "is a directory"}));
  write_bytes(dir.file("good.json"), good);
  EXPECT_TRUE(check_report(load_report(dir.file("good.json")), dir.path()).empty());
  // The deepest nesting allowed still loads.
  write_bytes(dir.file("deep.json"), std::string(64, '[') + std::string(64, ']'));
  EXPECT_NO_THROW(load_report(dir.file("deep.json")));
}

// Tolerance files: every key is checked, so a misspelt one is refused rather
// than read as absent (an "abs_tol" rule ran with abs 0), and a deep file is
// refused before it is built.
TEST(BadReports, ToleranceFiles) {
  struct Case {
    std::string name;
    std::string text;
    std::vector<std::string> says;
  };
  const std::vector<Case> cases = {
      {"misspelt bound",
       R"({"rules": [{"pattern": "results.*", "abs_tol": 0.5, "why": "noise"}]})",
       {"rule 0", "unknown key \"abs_tol\"", "pattern, abs, rel, why"}},
      {"unknown top-level key", R"({"rule": [], "rules": []})", {"unknown key \"rule\"", "about, rules"}},
      {"bound as text",
       R"({"rules": [{"pattern": "x", "abs": "0.5", "why": "noise"}]})",
       {"abs must be a number >= 0"}},
      {"no why", R"({"rules": [{"pattern": "x", "abs": 0.5}]})", {"does not say why"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    const std::string path = dir.file("tolerances.json");
    write_bytes(path, c.text);
    std::vector<std::string> says = c.says;
    says.push_back(path);
    EXPECT_TRUE(throws_error(
        ErrorKind::kUsage, [&] { load_tolerances(path); }, says))
        << c.name;
  }
  TempDir dir;
  const std::string deep = dir.file("deep.json");
  write_bytes(deep, R"({"rules": )" + std::string(100000, '[') + std::string(100000, ']') + "}");
  EXPECT_TRUE(throws_error(ErrorKind::kIo, [&] { load_tolerances(deep); }, {deep, "deeper than 64 levels"}));
  const std::string good = dir.file("good.json");
  write_bytes(good, R"({"about": "x", "rules": [{"pattern": "results.*", "abs": 0.5, "rel": 0, "why": "noise"}]})");
  const Tolerances t = load_tolerances(good);
  ASSERT_EQ(t.rules.size(), 1u);
  EXPECT_EQ(t.rules[0].abs, 0.5);
}

// Each report has one field of the wrong JSON type; the check must name the
// problem rather than throw nlohmann's type_error.
TEST(BadReports, WronglyTypedReportFieldsAreProblemsNotExceptions) {
  struct Case {
    std::string name;
    std::function<void(nlohmann::json&)> edit;
    std::string problem;
  };
  // A reproduction report whose verdict fields have the wrong types.
  const auto bad_verdict = [](nlohmann::json& r) {
    r["kind"] = "reproduction";
    r["verdict"] = nlohmann::json::parse(R"({"result": 3, "mode": "quick", "checks": [1, {"reason": 5}]})");
  };
  const std::vector<Case> cases = {
      {"format_version as text", [](nlohmann::json& r) { r["format_version"] = "1"; }, "format_version is not 1"},
      {"format_version 2", [](nlohmann::json& r) { r["format_version"] = 2; }, "format_version is not 1"},
      {"kind as a number", [](nlohmann::json& r) { r["kind"] = 7; }, "kind is neither merge nor reproduction"},
      {"context as a list", [](nlohmann::json& r) { r["context"] = nlohmann::json::array(); }, "no context block"},
      {"settings as text", [](nlohmann::json& r) { r["settings"] = "none"; }, "no settings object"},
      {"verdict result as a number", bad_verdict, "verdict result is not pass/fail/inconclusive/no-reference"},
      {"a verdict check that is a number", bad_verdict, "a verdict check lacks metric"},
      {"a verdict reason that is a number", bad_verdict,
       "a verdict check does not say why its tolerance is what it is"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    nlohmann::json report = nlohmann::json::parse(kGoodReport);
    c.edit(report);
    std::vector<std::string> problems;
    ASSERT_NO_THROW(problems = check_report(report, "")) << c.name;
    EXPECT_NE(std::find(problems.begin(), problems.end(), c.problem), problems.end()) << c.name;
  }
  EXPECT_EQ(check_report(nlohmann::json::array(), ""), std::vector<std::string>{"the report is not a JSON object"});
  // Two reports that are not objects have no results to compare, rather than a type error.
  EXPECT_TRUE(compare_reports(nlohmann::json::array(), 3, 0.0).empty());
  // ... and no permutations to agree on (fuzz_report_json found value() throwing on an array).
  EXPECT_TRUE(permutation_agreement(nlohmann::json::parse("[[[7]]]"), nlohmann::json::array()).empty());
  EXPECT_TRUE(permutation_agreement(nlohmann::json::parse(kGoodReport), 3).empty());
}

}  // namespace
}  // namespace repairbench::report
