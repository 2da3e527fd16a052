#include <gtest/gtest.h>

#include <filesystem>

#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "temp_dir.h"

namespace repairbench {
namespace {

TEST(AtomicFile, WritesCreatesParentsAndReplaces) {
  testing::TempDir dir;
  const std::string path = dir.file("a/b/out.bin");
  write_file_atomic(path, std::string("first\0x", 7));
  EXPECT_EQ(read_file(path), std::string("first\0x", 7));
  write_file_atomic(path, "second");
  EXPECT_EQ(read_file(path), "second");
  // No temporary file is left behind.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.file("a/b"))) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(AtomicFile, ReadingAMissingFileNamesIt) {
  try {
    read_file("/nonexistent/repairbench/file.bin");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/repairbench/file.bin"), std::string::npos);
  }
}

}  // namespace
}  // namespace repairbench
