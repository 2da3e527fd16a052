// GoogleTest main for every repairbench test binary: the same runtime set-up
// (BLAS core type, threads) as the real executables, so tests check the
// numerics that users get.
#include <gtest/gtest.h>

#include <cstdio>

#include "repairbench/core/error.h"
#include "repairbench/core/runtime.h"

int main(int argc, char** argv) {
  try {
    repairbench::init_runtime(argc, argv);
  } catch (const repairbench::Error& e) {
    std::fprintf(stderr, "%s: error: %s\n", argv[0], e.what());
    return repairbench::exit_code(e.kind());
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
