#include "repairbench/core/runtime.h"

#include <dlfcn.h>
#include <malloc.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>

#include "repairbench/core/error.h"

namespace repairbench {
namespace {

// Set in the environment of the re-executed process so it never loops.
constexpr const char* kReexecMarker = "REPAIRBENCH_BLAS_REEXEC";

bool g_malloc_tuned = false;

const char* env_or_null(const char* name) { return std::getenv(name); }

// OpenBLAS exports these; resolving them at run time keeps the build
// independent of which BLAS the alternatives system picked.
using CharFn = char* (*)();
CharFn openblas_fn(const char* name) { return reinterpret_cast<CharFn>(dlsym(RTLD_DEFAULT, name)); }

}  // namespace

int thread_count_setting(const char* value) {
  if (value == nullptr) return 0;
  char* end = nullptr;
  errno = 0;
  const long parsed = std::strtol(value, &end, 10);
  // "-3", "abc" and "0" are refused, not ignored.
  const bool digits_only = std::isdigit(static_cast<unsigned char>(value[0])) != 0 && *end == '\0';
  RB_CHECK(digits_only && errno == 0 && parsed >= 1 && parsed <= kMaxThreads, kUsage, "REPAIRBENCH_THREADS='", value,
           "' is not a thread count: set it to a whole number from 1 to ", kMaxThreads,
           ", or unset it to use every core");
  return static_cast<int>(parsed);
}

std::string preferred_openblas_coretype() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq")) {
    return "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return "";
}

void init_runtime(int /*argc*/, char** argv) {
  // Checked before the re-execution so that a bad value is reported once.
  int threads = thread_count_setting(env_or_null("REPAIRBENCH_THREADS"));
  const bool openblas = openblas_fn("openblas_get_config") != nullptr;
  const bool may_reexec = env_or_null("REPAIRBENCH_NO_REEXEC") == nullptr && env_or_null(kReexecMarker) == nullptr &&
                          env_or_null("OPENBLAS_CORETYPE") == nullptr;
  if (openblas && may_reexec) {
    const std::string coretype = preferred_openblas_coretype();
    if (!coretype.empty()) {
      setenv("OPENBLAS_CORETYPE", coretype.c_str(), 1);
      setenv(kReexecMarker, "1", 1);
      execv("/proc/self/exe", argv);
      // execv only returns on failure; carry on with the slower kernel.
    }
  }
  if (threads == 0 && env_or_null("OMP_NUM_THREADS") == nullptr) {
    threads = static_cast<int>(std::thread::hardware_concurrency());
  }
  if (threads > 0) torch::set_num_threads(threads);
  if (env_or_null("REPAIRBENCH_MALLOC_DEFAULTS") == nullptr) {
    // 32 MiB is glibc's largest mmap threshold on 64-bit systems.
    g_malloc_tuned = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
  }
}

RuntimeInfo runtime_info() {
  RuntimeInfo info;
  if (CharFn config = openblas_fn("openblas_get_config"))
    info.blas = std::string("OpenBLAS ") + config();
  else
    info.blas = "unknown";
  if (CharFn corename = openblas_fn("openblas_get_corename")) info.blas_core = corename();
  if (const char* forced = env_or_null("OPENBLAS_CORETYPE")) info.forced_coretype = forced;
  info.threads = torch::get_num_threads();
  info.torch_version = TORCH_VERSION;
  info.malloc_tuned = g_malloc_tuned;
  return info;
}

}  // namespace repairbench
