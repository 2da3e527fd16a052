// Helpers shared by the data tests: writing tiny files in the real formats and
// checking that a reader rejects a bad one with a useful message.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "expect_error.h"
#include "repairbench/core/error.h"

namespace repairbench::data::test {

/// Success when `fn` throws Error(kData) whose message contains every needle.
inline ::testing::AssertionResult throws_data_error(const std::function<void()>& fn,
                                                    const std::vector<std::string>& needles) {
  return repairbench::testing::throws_error(ErrorKind::kData, fn, needles);
}

/// An IDX file: zero, zero, element type, dim count, big-endian dims, payload.
inline std::string idx_bytes(uint8_t dtype, const std::vector<uint32_t>& dims, const std::string& payload) {
  std::string bytes = {'\0', '\0', static_cast<char>(dtype), static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>(d >> shift));
  }
  return bytes + payload;
}

/// Bytes 0, 1, 2, ... (mod 256): pixel values that make the expected tensor obvious.
inline std::string counting_bytes(size_t n, size_t start = 0) {
  std::string bytes(n, '\0');
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>((start + i) % 256);
  return bytes;
}

/// Writes `bytes` gzip-compressed to `path`.
inline void write_gzip(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

}  // namespace repairbench::data::test
