// GoogleTest main for every repairbench test binary: the same runtime set-up
// (BLAS core type, threads) as the real executables, so tests check the
// numerics that users get.
#include <gtest/gtest.h>

#include "repairbench/core/runtime.h"

int main(int argc, char** argv) {
  repairbench::init_runtime(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
