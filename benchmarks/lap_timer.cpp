// lap_timer: times repairbench::align::solve_linear_assignment on square
// float64 matrices stored as raw row-major little-endian files (n*n*8 bytes).
//
//   lap_timer [--repeats N] [--minimize] [--write-assignments] FILE...
//
// For each FILE it prints one line
//   RESULT <file> <n> <min_ms> <median_ms> <objective>
// with wall-clock times of N solves (the solver is single-threaded; the input
// check is included, file reading is not). --write-assignments stores the
// matched column of every row as raw int64 in FILE.cols. Maximises unless
// --minimize is given.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "repairbench/align/assignment.h"
#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "repairbench/core/runtime.h"

namespace {

struct Options {
  int repeats = 5;
  bool maximize = true;
  bool write_assignments = false;
  std::vector<std::string> files;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if (arg == "--repeats") {
      RB_CHECK(a + 1 < argc, kUsage, "--repeats needs a value");
      char* end = nullptr;
      const long r = std::strtol(argv[++a], &end, 10);
      RB_CHECK(*end == '\0' && r >= 1 && r <= 100000, kUsage, "--repeats must be 1..100000, got ", argv[a]);
      o.repeats = static_cast<int>(r);
    } else if (arg == "--minimize") {
      o.maximize = false;
    } else if (arg == "--write-assignments") {
      o.write_assignments = true;
    } else if (arg == "--help" || arg == "-h") {
      std::printf("usage: lap_timer [--repeats N] [--minimize] [--write-assignments] FILE...\n");
      std::exit(0);
    } else {
      RB_CHECK(arg.rfind("--", 0) != 0, kUsage, "unknown option ", arg);
      o.files.push_back(arg);
    }
  }
  RB_CHECK(!o.files.empty(), kUsage, "no matrix files given (see --help)");
  return o;
}

std::vector<double> read_matrix(const std::string& path, int64_t* n) {
  const std::string bytes = repairbench::read_file(path);
  const int64_t count = static_cast<int64_t>(bytes.size() / sizeof(double));
  *n = std::llround(std::sqrt(static_cast<double>(count)));
  RB_CHECK(bytes.size() % sizeof(double) == 0 && *n * *n == count, kData, path, " holds ", bytes.size(),
           " bytes, not a square float64 matrix");
  std::vector<double> m(count);
  if (count > 0) std::memcpy(m.data(), bytes.data(), bytes.size());
  return m;
}

void time_file(const Options& o, const std::string& path) {
  int64_t n = 0;
  const std::vector<double> m = read_matrix(path, &n);
  std::vector<double> ms;
  std::vector<int64_t> cols;
  for (int r = 0; r < o.repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    cols = repairbench::align::solve_linear_assignment(m.data(), n, o.maximize);
    const auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms.size() % 2 == 1 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
  // Compensated sum: the objective is compared with scipy's to 1e-9 relative.
  double objective = 0.0, carry = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double y = m[i * n + cols[i]] - carry;
    const double t = objective + y;
    carry = (t - objective) - y;
    objective = t;
  }
  std::printf("RESULT %s %lld %.4f %.4f %.17g\n", path.c_str(), static_cast<long long>(n), ms[0], median, objective);
  std::fflush(stdout);
  if (o.write_assignments) {
    repairbench::write_file_atomic(
        path + ".cols", std::string_view(reinterpret_cast<const char*>(cols.data()), cols.size() * sizeof(int64_t)));
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    repairbench::init_runtime(argc, argv);
    const Options o = parse(argc, argv);
    std::printf("# lap_timer: single-threaded solver, %d repeats, %s, wall-clock ms\n", o.repeats,
                o.maximize ? "maximize" : "minimize");
    for (const std::string& f : o.files) time_file(o, f);
  } catch (const repairbench::Error& e) {
    std::fprintf(stderr, "lap_timer: %s\n", e.what());
    return repairbench::exit_code(e.kind());
  }
  return 0;
}
