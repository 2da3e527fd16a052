// Main for every Google Benchmark binary: the same runtime set-up (BLAS core
// type, threads) as the real executables, so benchmarks time what users get,
// and the run's context (commit, LibTorch version, threads, BLAS core type) in
// the JSON output beside Google Benchmark's own (CPU, caches, date).
#include <benchmark/benchmark.h>

#include <cstdio>

#include "repairbench/core/error.h"
#include "repairbench/core/runtime.h"
#include "repairbench/report/context.h"

int main(int argc, char** argv) {
  try {
    repairbench::init_runtime(argc, argv);
  } catch (const repairbench::Error& e) {
    std::fprintf(stderr, "%s: error: %s\n", argv[0], e.what());
    return repairbench::exit_code(e.kind());
  }
  const auto context = repairbench::report::run_context("cpu", argc, argv);
  for (const auto& [key, value] : context.items()) {
    benchmark::AddCustomContext("repairbench_" + key, value.is_string() ? value.get<std::string>() : value.dump());
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
