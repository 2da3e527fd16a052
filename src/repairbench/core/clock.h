#pragma once

#include <chrono>

namespace repairbench {

/// Wall seconds on the monotonic clock since `start` (stage timings).
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace repairbench
