#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace repairbench::report {

/// The context block every report opens with (google/benchmark's style): git
/// commit, LibTorch version, BLAS and core type, threads, device, host CPU,
/// UTC date, the command line and the peak resident memory.
nlohmann::json run_context(const std::string& device, int argc, char** argv);

/// Peak resident memory of this process so far (getrusage), in MiB; the
/// context block records it when the report is written, i.e. the run's peak.
double peak_rss_mib();

/// `git rev-parse HEAD` of the source tree, with "-dirty" when it has
/// uncommitted changes; "unknown" outside a git checkout.
std::string git_commit();

/// Current UTC time as ISO 8601.
std::string utc_now();

}  // namespace repairbench::report
