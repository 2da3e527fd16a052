#include "repairbench/core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "repairbench/core/error.h"

namespace repairbench {

void write_file_atomic(const std::string& path, std::string_view bytes) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  RB_CHECK(!ec, kIo, "cannot create directory ", target.parent_path().string(), ": ", ec.message());

  // The temporary name is unique per process so concurrent writers of the same
  // path do not clobber each other's partial files; the last rename wins.
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  RB_CHECK(fd >= 0, kIo, "cannot write ", tmp, ": ", std::strerror(errno));
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string reason = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      RB_FAIL(kIo, "cannot write ", tmp, ": ", reason, " (disk full?)");
    }
    written += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(tmp.c_str());
    RB_FAIL(kIo, "cannot replace ", path, ": ", reason);
  }
}

bool same_file(const std::string& a, const std::string& b) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) {
    const bool same = fs::equivalent(a, b, ec);
    return !ec && same;
  }
  const fs::path ca = fs::weakly_canonical(a, ec);
  if (ec) return a == b;
  const fs::path cb = fs::weakly_canonical(b, ec);
  return ec ? a == b : ca == cb;
}

void check_output_is_not_an_input(const std::string& flag, const std::string& out,
                                  const std::vector<std::string>& inputs) {
  if (out.empty()) return;
  for (const std::string& input : inputs) {
    RB_CHECK(!same_file(out, input), kUsage, flag, " ", out, " is the input ", input,
             "; writing there would replace it; choose another path for ", flag);
  }
}

void check_writable_directory(const std::string& flag, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  RB_CHECK(!ec, kUsage, flag, " ", dir, " cannot be created: ", ec.message(), "; choose a folder you can write");
  RB_CHECK(fs::is_directory(dir, ec), kUsage, flag, " ", dir, " is not a folder; choose a folder you can write");
  std::string probe = (fs::path(dir) / ".repairbench-write-check.XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  RB_CHECK(fd >= 0, kUsage, flag, " ", dir, " is not writable: ", std::strerror(errno),
           "; choose a folder you can write");
  ::close(fd);
  ::unlink(probe.c_str());
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  RB_CHECK(in.good(), kIo, "cannot open ", path, ": ", std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  RB_CHECK(!in.bad(), kIo, "error while reading ", path);
  return buffer.str();
}

}  // namespace repairbench
