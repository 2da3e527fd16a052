#include "repairbench/core/runtime.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <thread>

#include "repairbench/core/error.h"

namespace repairbench {
namespace {

// The re-execution in init_runtime forces an OpenBLAS kernel that the library
// did not pick itself; this checks that it still computes the right numbers.
// Reference: the same product in float64, which OpenBLAS computes with a
// different (dgemm) kernel, and a naive loop for a small block.
TEST(Runtime, ForcedBlasCoreTypeStaysNumericallyRight) {
  const RuntimeInfo info = runtime_info();
  if (std::getenv("REPAIRBENCH_NO_REEXEC") == nullptr && !preferred_openblas_coretype().empty() &&
      info.blas.rfind("OpenBLAS", 0) == 0) {
    EXPECT_FALSE(info.forced_coretype.empty()) << "init_runtime did not force OPENBLAS_CORETYPE";
  }
  torch::manual_seed(0);
  for (int64_t n : {17, 256, 1024}) {
    const auto a = torch::randn({n, n});
    const auto b = torch::randn({n, n});
    const auto c32 = torch::mm(a, b);
    const auto c64 = torch::mm(a.to(torch::kFloat64), b.to(torch::kFloat64));
    // float32 accumulation error grows like sqrt(n) * eps * |a||b|.
    const double tol = 1e-5 * std::sqrt(static_cast<double>(n)) * 4.0;
    EXPECT_LT((c32.to(torch::kFloat64) - c64).abs().max().item<double>(), tol * 10) << "n=" << n;
  }
  const auto a = torch::randn({8, 5}, torch::kFloat64);
  const auto b = torch::randn({5, 3}, torch::kFloat64);
  const auto c = torch::mm(a, b);
  for (int64_t i = 0; i < 8; ++i) {
    for (int64_t j = 0; j < 3; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < 5; ++k) sum += a[i][k].item<double>() * b[k][j].item<double>();
      EXPECT_NEAR(c[i][j].item<double>(), sum, 1e-12);
    }
  }
}

TEST(Runtime, ThreadCountFollowsTheEnvironmentOrAllCores) {
  if (std::getenv("OMP_NUM_THREADS") != nullptr) GTEST_SKIP() << "OMP_NUM_THREADS decides";
  const char* requested = std::getenv("REPAIRBENCH_THREADS");
  const int expected =
      requested != nullptr ? std::atoi(requested) : static_cast<int>(std::thread::hardware_concurrency());
  EXPECT_EQ(runtime_info().threads, expected);
}

// A REPAIRBENCH_THREADS that is not a thread count is refused
// naming the variable and what it accepts, never ignored.
TEST(Runtime, ThreadCountSettingAcceptsOnlyThreadCounts) {
  EXPECT_EQ(thread_count_setting(nullptr), 0);
  EXPECT_EQ(thread_count_setting("1"), 1);
  EXPECT_EQ(thread_count_setting("16"), 16);
  EXPECT_EQ(thread_count_setting("4096"), kMaxThreads);
  for (const char* bad : {"-3", "abc", "0", "", "2x", " 2", "4097", "99999999999999999999", "1.5"}) {
    try {
      thread_count_setting(bad);
      ADD_FAILURE() << "REPAIRBENCH_THREADS='" << bad << "' was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage) << bad;
      const std::string message = e.what();
      EXPECT_NE(message.find(std::string("REPAIRBENCH_THREADS='") + bad + "'"), std::string::npos) << message;
      EXPECT_NE(message.find("from 1 to 4096"), std::string::npos) << message;
    }
  }
}

}  // namespace
}  // namespace repairbench
