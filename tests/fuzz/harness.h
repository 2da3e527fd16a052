#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

// The code that feeds one input to one of repairbench's readers, shared by the
// libFuzzer targets (fuzz_target.cpp) and the regression replay in
// tests/io/fuzz_regression_test.cpp, so both exercise exactly the same calls.
namespace repairbench::fuzz {

/// One reader under test. `run` returns normally when the reader accepted the
/// input or rejected it with repairbench::Error; any other exception escapes
/// (libFuzzer reports it as a crash, the regression test as a failure).
struct Target {
  std::string name;  ///< Also the folder name under tests/fuzz/corpus and regressions.
  void (*run)(const uint8_t* data, size_t size);
};

/// Every target, in a fixed order.
const std::vector<Target>& targets();

/// The target called `name`; throws std::invalid_argument if there is none.
const Target& target(const std::string& name);

}  // namespace repairbench::fuzz
