#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "harness/sweep.h"
#include "harness/target.h"
#include "harness/verdict.h"
#include "repairbench/core/error.h"

namespace repairbench::harness {

namespace po = boost::program_options;

/// The flags every reproduction target shares (preset, pairs, data, cache,
/// reports, retrain, smoke, device, fail-on-mismatch).
struct CommonFlags {
  TargetSettings settings;
  std::string preset = "paper";  ///< --preset as given (parse_preset).
  std::string device = "cpu";
  bool fail_on_mismatch = false;
  /// Epochs the quick preset trains when --epochs is not given (0: the
  /// recipe's); set by the target before parse_target_flags.
  int64_t quick_epochs = 0;
  std::string shard;                  ///< --shard k/n as given.
  bool sequential_endpoints = false;  ///< --sequential-endpoints.
};

void add_common_flags(po::options_description& options, CommonFlags& flags, const std::string& target);

/// Parses argv; returns false after printing --help. Throws Error(kUsage).
bool parse_target_flags(int argc, char** argv, const std::string& about, const po::options_description& options,
                        po::variables_map& vm, CommonFlags& flags);

/// A flag's value, or when it was not given its preset's default: `smoke`
/// in smoke mode (if not ""), else `paper` or `quick` by the preset.
std::string flag_or_preset(const TargetSettings& settings, const std::string& flag, const std::string& paper,
                           const std::string& quick, const std::string& smoke = "");

/// "a,b,c" -> {"a", "b", "c"} (empty parts dropped).
std::vector<std::string> split(const std::string& text);

/// "32,64,128" -> {32, 64, 128}; throws Error(kUsage) naming `flag`.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& flag);

/// The first entry of `reference`'s points for which `match` holds, as a paper
/// point (none in smoke mode: synthetic data has no paper numbers).
std::optional<PaperPoint> find_paper(const TargetSettings& settings, const nlohmann::json& reference,
                                     const std::function<bool(const nlohmann::json&)>& match);

/// `points` evenly spaced alphas from 0 to 1 (11, 21, 51 or 101 in the paper).
std::vector<double> alpha_grid(int64_t points);

/// The points a target sweeps, planned from its parsed flags.
struct Plan {
  std::vector<SweepPoint> points;
  SweepLayout layout;
  /// The report's "settings"; run_target adds the alphas and the match.
  nlohmann::json settings;
};

/// What a target measures beyond its sweep (split CIFAR-100's output
/// ensemble, the variance-collapse figure's per-layer ratios).
struct Extension {
  std::vector<Check> checks;
  nlohmann::json report = nlohmann::json::object();  ///< Fields added to the report.
  std::vector<std::string> plots;                    ///< Files it drew in out_dir.
  std::string table;                                 ///< Printed after the sweep's table.
};

/// A reproduction target, declared: its flags, its points, its paper
/// reference and what it adds. run_target does the rest the same way for
/// every target.
struct TargetSpec {
  std::string name;   ///< e.g. "mlp_datasets": flags, reports/<name>.
  std::string about;  ///< First line of --help.
  /// Paper reference (reproductions/<name>/reference.json via
  /// report::load_paper_reference), "" for a figure without stored numbers.
  std::string reference;
  std::string paper_source;  ///< Without a reference: what the report says instead.
  int64_t quick_epochs = 0;  ///< Epochs of the quick preset (0: the recipe's).
  /// What the target knows of how its setup differs from the paper's,
  /// reported after the findings of the paper numbers that differ; and
  /// findings always reported. Neither holds a number (the findings' numbers
  /// are the run's own: sweep_findings; tests/harness/findings_have_no_numbers.sh).
  std::string known_differences;
  std::vector<std::string> notes;
  std::string mode;  ///< Overrides the verdict's mode ("paper-numbers" under the paper preset, else "qualitative").
  /// The sweep's own checks (sweep_checks); off for a target that judges only
  /// the claims its extension checks.
  bool judge_sweep = true;
  std::function<void(po::options_description&)> flags;  ///< The target's own flags.
  /// After the flags are parsed: checks the target's flags and data sets
  /// (require_datasets) and builds the points.
  std::function<Plan(const TargetSettings&, const nlohmann::json& reference)> plan;
  /// Optional: what the target adds once every point ran (not in a shard).
  std::function<Extension(const TargetSettings&, const Plan&, const std::vector<PointOutcome>&)> extend;
};

/// Runs a declared target: parses the common flags and the target's, plans
/// its points, runs the sweep (or this shard of it), judges it
/// (sweep_checks and the extension's checks), writes the report with its
/// results, the paper's points, plots and findings (`notes`, then the failed
/// paper-number checks with `known_differences`) and prints the summary. Every error
/// becomes one line on stderr and an exit code, as in the repairbench CLI.
int run_target(int argc, char** argv, const TargetSpec& spec);

}  // namespace repairbench::harness
