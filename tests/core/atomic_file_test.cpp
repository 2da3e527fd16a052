#include "repairbench/core/atomic_file.h"

#include <gtest/gtest.h>

#include <filesystem>

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

// `merge --out a.pt` must not replace the input a.pt, however
// the same file is spelled.
TEST(AtomicFile, SameFileSeesThroughDotsLinksAndHardLinks) {
  testing::TempDir dir;
  const std::string a = dir.file("a.pt");
  write_file_atomic(a, "checkpoint");
  write_file_atomic(dir.file("b.pt"), "other");
  std::filesystem::create_directories(dir.file("sub"));
  std::filesystem::create_symlink(a, dir.file("link.pt"));
  std::filesystem::create_hard_link(a, dir.file("hard.pt"));
  EXPECT_TRUE(same_file(a, a));
  EXPECT_TRUE(same_file(a, dir.path() + "/./a.pt"));
  EXPECT_TRUE(same_file(a, dir.path() + "/sub/../a.pt"));
  EXPECT_TRUE(same_file(a, dir.file("link.pt")));
  EXPECT_TRUE(same_file(a, dir.file("hard.pt")));
  EXPECT_FALSE(same_file(a, dir.file("b.pt")));
  EXPECT_FALSE(same_file(a, dir.file("report.json")));
  EXPECT_TRUE(same_file(dir.file("new.json"), dir.path() + "/./new.json"));

  EXPECT_NO_THROW(check_output_is_not_an_input("--out", dir.file("report.json"), {a, dir.file("b.pt")}));
  EXPECT_NO_THROW(check_output_is_not_an_input("--out", "", {a}));
  for (const std::string& out : {a, dir.file("link.pt"), dir.path() + "/./a.pt"}) {
    try {
      check_output_is_not_an_input("--out", out, {dir.file("b.pt"), a});
      ADD_FAILURE() << "--out " << out << " over the input " << a << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage);
      EXPECT_NE(std::string(e.what()).find("--out " + out + " is the input " + a), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(read_file(a), "checkpoint");
}

}  // namespace
}  // namespace repairbench
