#pragma once

#include <string>

namespace repairbench {

/// What `init_runtime` arranged, for logs and report context blocks.
struct RuntimeInfo {
  std::string blas;             ///< "OpenBLAS <config>" or "unknown".
  std::string blas_core;        ///< Core type OpenBLAS runs (e.g. "SkylakeX"), or "".
  std::string forced_coretype;  ///< OPENBLAS_CORETYPE as the process saw it at start-up.
  int threads = 1;              ///< torch intra-op threads.
  std::string torch_version;
  bool malloc_tuned = false;  ///< init_runtime set glibc's mmap and trim thresholds.
};

/// Prepares the process for fast numerics; call it first thing in main().
///
/// OpenBLAS mis-detects the virtual CPUs of our machines and then runs a generic
/// kernel about 5x slower (2048^3 sgemm: ~40 vs ~200 GFLOP/s, measured here). It
/// reads OPENBLAS_CORETYPE only when the library loads, which has already
/// happened when main() runs, so if the variable is unset and the CPU supports a
/// better kernel, this re-executes the program once with it set. Set
/// REPAIRBENCH_NO_REEXEC=1 to keep the process as it is. Then sets torch's
/// intra-op threads to all cores (LibTorch starts with one here), unless
/// OMP_NUM_THREADS or REPAIRBENCH_THREADS says otherwise.
///
/// Finally it keeps freed memory in the process for reuse: glibc otherwise
/// returns every large freed block (above its adaptive mmap threshold, or at
/// the heap's top) to the kernel, so a training step's megabyte-sized
/// activations are faulted in afresh, page by page, every step. Allocations up
/// to 32 MiB come from the heap and up to 1 GiB of free heap is kept; this
/// halved the page faults of the MLP training benchmark (docs/performance.md).
/// REPAIRBENCH_MALLOC_DEFAULTS=1 keeps glibc's defaults.
/// Throws Error(kUsage) when REPAIRBENCH_THREADS is set to anything but a
/// thread count (see thread_count_setting), so executables call it inside
/// their error handling.
void init_runtime(int argc, char** argv);

/// The largest thread count REPAIRBENCH_THREADS accepts.
constexpr int kMaxThreads = 4096;

/// The thread count a REPAIRBENCH_THREADS value asks for: 0 when unset
/// (nullptr), the number for "1".."4096"; anything else ("-3", "abc", "0",
/// "2x", "") throws Error(kUsage) naming the variable and what it accepts.
int thread_count_setting(const char* value);

/// The BLAS and threading state of this process.
RuntimeInfo runtime_info();

/// OPENBLAS_CORETYPE value that suits this CPU ("SkylakeX", "Haswell"), or ""
/// when the generic kernel is the best available.
std::string preferred_openblas_coretype();

}  // namespace repairbench
