#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace repairbench {

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, flushed and fsync'd, then renamed over `path`. A reader never
/// sees a half-written file, and a crash leaves either the old or the new one.
/// Creates missing parent directories. Throws Error(kIo) on failure.
void write_file_atomic(const std::string& path, std::string_view bytes);

/// True when `a` and `b` name the same file: the same path after resolving
/// `.`, `..` and symbolic links, or two hard links of one inode. A path that
/// does not exist names no existing file, so it equals only itself.
bool same_file(const std::string& a, const std::string& b);

/// Refuses to write an output over one of a command's inputs (without
/// it, `merge --out a.pt` would replace the checkpoint with a report). Throws
/// Error(kUsage) naming the flag, the file and what to do.
void check_output_is_not_an_input(const std::string& flag, const std::string& out,
                                  const std::vector<std::string>& inputs);

/// Creates `dir` if missing and checks that a file can be written in it, so
/// that a command refuses an unusable output folder before any work rather
/// than after it. Throws Error(kUsage) naming `flag`, the folder and why.
void check_writable_directory(const std::string& flag, const std::string& dir);

/// Reads a whole file. Throws Error(kIo) naming the file if it cannot be read.
std::string read_file(const std::string& path);

}  // namespace repairbench
