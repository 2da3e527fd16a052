// Replays the fuzz seed corpus and every input the fuzzers ever crashed on
// (tests/fuzz/regressions/<target>/) through the same harness the libFuzzer
// targets use: each reader must return or throw repairbench::Error, and
// under `make test-asan` must do so without a sanitizer report.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "harness.h"
#include "repairbench/core/atomic_file.h"

namespace repairbench::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> inputs_of(const std::string& target_name) {
  const fs::path root = fs::path(REPAIRBENCH_SOURCE_DIR) / "tests" / "fuzz";
  std::vector<fs::path> files;
  for (const char* kind : {"corpus", "regressions"}) {
    const fs::path dir = root / kind / target_name;
    if (!fs::is_directory(dir)) continue;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
  }
  return files;
}

class FuzzRegression : public ::testing::TestWithParam<std::string> {};

TEST_P(FuzzRegression, EveryKeptInputIsReadOrRejectedWithError) {
  const Target& t = target(GetParam());
  const std::vector<fs::path> files = inputs_of(t.name);
  // Each target has a seed corpus; an empty list means the tree is incomplete.
  ASSERT_FALSE(files.empty()) << "no inputs for fuzz target " << t.name;
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    const std::string bytes = read_file(file.string());
    EXPECT_NO_THROW(t.run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  }
}

std::vector<std::string> target_names() {
  std::vector<std::string> names;
  for (const Target& t : targets()) names.push_back(t.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Readers, FuzzRegression, ::testing::ValuesIn(target_names()),
                         [](const ::testing::TestParamInfo<std::string>& target) { return target.param; });

}  // namespace
}  // namespace repairbench::fuzz
