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

/// One difference between two reports.
struct Change {
  std::string path;  ///< JSON pointer of the value, e.g. /results/0/summary/barrier_repair.
  std::string old_value, new_value;
  double difference = 0;  ///< new - old for numbers, 0 otherwise.
  bool significant = false;
};

/// The differences between the results and verdicts of two reports of the
/// same kind: every number whose absolute change exceeds `tolerance` is
/// significant, as is any change of a string or boolean (a verdict turning).
/// Timing fields ("seconds", "..._seconds", "images_per_second") and file
/// paths are skipped: they change with the machine, not with the results.
std::vector<Change> compare_reports(const nlohmann::json& old_report, const nlohmann::json& new_report,
                                    double tolerance);

}  // namespace repairbench::report
