// Checking that a call is refused the way a user should see it: a
// repairbench::Error of the expected kind whose one-line message carries the
// given pieces (typically the file's path and a word for the problem).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "repairbench/core/error.h"

namespace repairbench::testing {

/// Success when `fn` throws Error(kind) whose message contains every needle
/// and is one line.
inline ::testing::AssertionResult throws_error(ErrorKind kind, const std::function<void()>& fn,
                                               const std::vector<std::string>& needles) {
  try {
    fn();
  } catch (const Error& e) {
    const std::string message = e.what();
    if (e.kind() != kind) {
      return ::testing::AssertionFailure()
             << "kind " << static_cast<int>(e.kind()) << " instead of " << static_cast<int>(kind) << ": " << message;
    }
    for (const std::string& needle : needles) {
      if (message.find(needle) == std::string::npos) {
        return ::testing::AssertionFailure() << "message lacks '" << needle << "': " << message;
      }
    }
    if (message.find('\n') != std::string::npos) {
      return ::testing::AssertionFailure() << "message spans several lines: " << message;
    }
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "not a repairbench::Error: " << e.what();
  }
  return ::testing::AssertionFailure() << "no exception: the input was accepted";
}

}  // namespace repairbench::testing
