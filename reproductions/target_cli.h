#pragma once

#include <boost/program_options.hpp>

#include <string>
#include <vector>

#include "repairbench/repro/target.h"

namespace repairbench::reproductions {

namespace po = boost::program_options;

/// The flags every reproduction target shares (preset, pairs, data, cache,
/// reports, retrain, smoke, device, fail-on-mismatch).
struct CommonFlags {
  repro::TargetSettings settings;
  std::string device = "cpu";
  bool fail_on_mismatch = false;
};

void add_common_flags(po::options_description& options, CommonFlags& flags, const std::string& target);

/// Parses argv; returns false after printing --help. Throws Error(kUsage).
bool parse_target_flags(int argc, char** argv, const std::string& about, const po::options_description& options,
                        po::variables_map& vm, CommonFlags& flags);

/// "a,b,c" -> {"a", "b", "c"} (empty parts dropped).
std::vector<std::string> split(const std::string& text);

/// "32,64,128" -> {32, 64, 128}; throws Error(kUsage) naming `flag`.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& flag);

/// Runs a target's body, turning every error into one line on stderr and an
/// exit code (as the repairbench CLI does).
int run_target(int argc, char** argv, int (*body)(int, char**));

}  // namespace repairbench::reproductions
