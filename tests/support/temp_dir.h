#pragma once

#include <string>

namespace repairbench::testing {

/// A fresh directory under the system temp dir, removed with everything in it
/// when the object goes out of scope. Tests write their own tiny data files here.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  /// path() + "/" + name.
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Writes `bytes` to `path` (binary), creating parent directories.
void write_bytes(const std::string& path, const std::string& bytes);

}  // namespace repairbench::testing
