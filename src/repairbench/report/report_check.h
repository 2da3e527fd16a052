#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace repairbench::report {

/// Reads a JSON report from `path`. Throws Error(kIo) naming the file when it
/// is missing, a directory, or not valid JSON (NaN, Infinity and numbers that
/// overflow a double, such as 1e999, are not).
nlohmann::json load_report(const std::string& path);

/// Checks a report against the schema every repairbench report follows
/// (format_version 1; kind "merge" or "reproduction"; a context block with the
/// commit, LibTorch version, device, threads and date; settings; results;
/// reproductions also preset, seeds, a verdict whose checks each carry ours,
/// a rule, a threshold and its reason, and plots that exist next to the
/// report). Returns the problems found, empty when it conforms. `dir` is the
/// report's folder, for the plot files.
std::vector<std::string> check_report(const nlohmann::json& report, const std::string& dir);

/// How far one kind of number may move before it counts as changed: a
/// number at a JSON pointer matching `pattern` (a glob: `*` matches any run of
/// characters, '/' included; `?` one character) changes significantly when
/// |new - old| > abs + rel * |old|. `why` says why the bound is what it is.
struct ToleranceRule {
  std::string pattern = "*";
  double abs = 0;
  double rel = 0;
  std::string why;
};

/// Per-metric tolerances: the first rule whose pattern matches a number's
/// path decides; a number no rule matches must not move at all.
struct Tolerances {
  std::vector<ToleranceRule> rules;
  /// The rule for `path`; when none matches, pattern "(no rule)" with abs = rel = 0.
  ToleranceRule rule_for(const std::string& path) const;
};

/// One rule "*" with this absolute tolerance (`repairbench compare --tolerance`).
Tolerances uniform_tolerance(double tolerance);

/// Reads a tolerances file: {"rules": [{"pattern", "abs", "rel", "why"}, ...]}
/// (abs and rel default to 0; every rule must say why). Throws Error(kIo) for
/// a file that cannot be read or is not JSON, Error(kUsage) naming the rule
/// that is malformed (a negative or non-numeric bound, no pattern, no why).
Tolerances load_tolerances(const std::string& path);

/// One difference between two reports.
struct Change {
  std::string path;  ///< JSON pointer of the value, e.g. /results/0/summary/barrier_repair.
  std::string old_value, new_value;
  double difference = 0;  ///< new - old for numbers, 0 otherwise.
  bool significant = false;
  ToleranceRule rule;  ///< The rule that judged a number; pattern "" for other values.
};

/// The differences between the results and verdicts of two reports of the
/// same kind: every number whose change exceeds its rule's bound is
/// significant, as is any change of a string or boolean (a verdict turning)
/// and any value present in one report only. Timing fields ("seconds",
/// "..._seconds", "images_per_second") and file paths are skipped: they change
/// with the machine, not with the results.
std::vector<Change> compare_reports(const nlohmann::json& old_report, const nlohmann::json& new_report,
                                    const Tolerances& tolerances);
std::vector<Change> compare_reports(const nlohmann::json& old_report, const nlohmann::json& new_report,
                                    double tolerance);

/// How far two reports' alignments agree: for every group permutation (an
/// index list under a "permutation" key) present in both with the same
/// length, how many positions hold the same channel.
struct PermutationAgreement {
  std::string path;  ///< JSON pointer of the old report's list.
  int64_t equal = 0, size = 0;
};
std::vector<PermutationAgreement> permutation_agreement(const nlohmann::json& old_report,
                                                        const nlohmann::json& new_report);

}  // namespace repairbench::report
