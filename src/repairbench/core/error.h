#pragma once

#include <c10/util/StringUtil.h>

#include <stdexcept>
#include <string>

namespace repairbench {

/// What went wrong, coarse enough to choose a process exit code.
/// Executables return `exit_code(kind)` after printing the one-line message.
enum class ErrorKind {
  /// A bug in repairbench: an invariant did not hold. 70 (sysexits'
  /// EX_SOFTWARE) so it never reads as `compare`'s "reports differ" (1) or a
  /// target's failed verdict under --fail-on-mismatch (1).
  kInternal = 70,
  kUsage = 2,       ///< Bad option, bad value, or an impossible request.
  kData = 3,        ///< A data set file is missing, truncated or malformed.
  kCheckpoint = 4,  ///< A checkpoint is missing, malformed or does not fit the model.
  kNumeric = 5,     ///< Training or evaluation produced NaN/Inf.
  kIo = 6,          ///< A file could not be written or read for another reason.
};

/// The exception every repairbench library function throws. The message says
/// what was wrong and what to do about it, on one line.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

/// Process exit code for an error kind (distinct and non-zero).
inline int exit_code(ErrorKind kind) { return static_cast<int>(kind); }

}  // namespace repairbench

/// Throws repairbench::Error(kind, <concatenation of the message parts>) unless `cond` holds.
#define RB_CHECK(cond, kind, ...)                                                          \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      throw ::repairbench::Error(::repairbench::ErrorKind::kind, ::c10::str(__VA_ARGS__)); \
    }                                                                                      \
  } while (false)

/// Throws repairbench::Error(kind, message) unconditionally.
#define RB_FAIL(kind, ...) throw ::repairbench::Error(::repairbench::ErrorKind::kind, ::c10::str(__VA_ARGS__))
