#include "repairbench/report/context.h"

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>

#include "repairbench/core/runtime.h"

namespace repairbench::report {
namespace {

std::string command_output(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return "";
  std::string out;
  char buffer[256];
  while (fgets(buffer, sizeof buffer, pipe.get()) != nullptr) out += buffer;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  }
  return "unknown";
}

}  // namespace

std::string git_commit() {
  const std::string dir = REPAIRBENCH_SOURCE_DIR;
  const std::string head = command_output("git -C '" + dir + "' rev-parse HEAD 2>/dev/null");
  if (head.empty()) return "unknown";
  const std::string dirty = command_output("git -C '" + dir + "' status --porcelain --untracked-files=no 2>/dev/null");
  return dirty.empty() ? head : head + "-dirty";
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

nlohmann::json run_context(const std::string& device, int argc, char** argv) {
  const RuntimeInfo info = runtime_info();
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  nlohmann::json context = {{"repairbench_version", REPAIRBENCH_VERSION},
                            {"git_commit", git_commit()},
                            {"torch_version", info.torch_version},
                            {"blas", info.blas},
                            {"blas_core", info.blas_core},
                            {"malloc_tuned", info.malloc_tuned},
                            {"threads", info.threads},
                            {"device", device},
                            {"cpu", cpu_model()},
                            {"date", utc_now()},
                            {"command", command},
                            {"peak_rss_mib", peak_rss_mib()}};
  // oneDNN picks its convolution kernels from the CPU unless capped; the
  // golden runs cap it (tests/regression/golden_platform.sh), and a report
  // says so, since its convolutions' floats depend on it.
  if (const char* isa = std::getenv("ONEDNN_MAX_CPU_ISA")) context["onednn_max_cpu_isa"] = isa;
  return context;
}

double peak_rss_mib() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

}  // namespace repairbench::report
