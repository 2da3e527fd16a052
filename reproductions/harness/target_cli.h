#pragma once

#include <boost/program_options.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "repairbench/core/error.h"
#include "harness/sweep.h"
#include "harness/target.h"

namespace repairbench::harness {

namespace po = boost::program_options;

/// The flags every reproduction target shares (preset, pairs, data, cache,
/// reports, retrain, smoke, device, fail-on-mismatch).
struct CommonFlags {
  TargetSettings settings;
  std::string device = "cpu";
  bool fail_on_mismatch = false;
  /// Epochs the quick preset trains when --epochs is not given (0: the
  /// recipe's); set by the target before parse_target_flags.
  int64_t quick_epochs = 0;
  std::string shard;  ///< --shard k/n as given.
  bool sequential_endpoints = false;  ///< --sequential-endpoints.
};

void add_common_flags(po::options_description& options, CommonFlags& flags, const std::string& target);

/// Parses argv; returns false after printing --help. Throws Error(kUsage).
bool parse_target_flags(int argc, char** argv, const std::string& about, const po::options_description& options,
                        po::variables_map& vm, CommonFlags& flags);

/// "a,b,c" -> {"a", "b", "c"} (empty parts dropped).
std::vector<std::string> split(const std::string& text);

/// "32,64,128" -> {32, 64, 128}; throws Error(kUsage) naming `flag`.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& flag);

/// The first entry of `reference`'s points for which `match` holds, as a paper
/// point (none in smoke mode: synthetic data has no paper numbers).
std::optional<PaperPoint> find_paper(const TargetSettings& settings, const nlohmann::json& reference,
                                            const std::function<bool(const nlohmann::json&)>& match);

/// The whole of a sweep target after its points are built: runs them, judges
/// them (sweep_checks), writes the report with `settings_json`, the
/// results, the paper's points from `reference`, plots and findings (`notes`
/// always, then the failed checks with `gap_cause`), and prints the summary.
/// Returns the exit code.
int run_sweep_target(const CommonFlags& flags, const std::vector<SweepPoint>& points,
                     const SweepLayout& layout, const nlohmann::json& settings_json,
                     const nlohmann::json& reference, const std::string& gap_cause, int argc, char** argv,
                     const std::vector<std::string>& notes = {});

/// `points` evenly spaced alphas from 0 to 1 (11, 21, 51 or 101 in the paper).
std::vector<double> alpha_grid(int64_t points);

/// Runs a target's body, turning every error into one line on stderr and an
/// exit code (as the repairbench CLI does).
int run_target(int argc, char** argv, int (*body)(int, char**));

}  // namespace repairbench::harness
