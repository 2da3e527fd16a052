// Main for every Google Benchmark binary: the same runtime set-up (BLAS core
// type, threads) as the real executables, so benchmarks time what users get.
#include <benchmark/benchmark.h>

#include "repairbench/core/runtime.h"

int main(int argc, char** argv) {
  repairbench::init_runtime(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
