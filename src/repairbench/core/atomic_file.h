#pragma once

#include <string>
#include <string_view>

namespace repairbench {

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, flushed and fsync'd, then renamed over `path`. A reader never
/// sees a half-written file, and a crash leaves either the old or the new one.
/// Creates missing parent directories. Throws Error(kIo) on failure.
void write_file_atomic(const std::string& path, std::string_view bytes);

/// Reads a whole file. Throws Error(kIo) naming the file if it cannot be read.
std::string read_file(const std::string& path);

}  // namespace repairbench
