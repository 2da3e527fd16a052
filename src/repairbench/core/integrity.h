#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "repairbench/core/error.h"

namespace repairbench {

/// zlib's CRC-32 of `data`.
uint32_t crc32_of(std::string_view data);

/// `payload` followed by a 16-byte trailer: "RBCRC32\n", the payload's
/// CRC-32 and its length, little-endian. For files whose own format checks
/// nothing on reading: LibTorch's archive reader (training states) loads a
/// flipped bit as if it were a weight.
std::string seal(std::string payload);

/// The payload of a sealed file's `bytes`, after checking the trailer's
/// length and CRC. Throws Error(kind) naming `path` for a file without a
/// trailer, a cut one, or one whose bytes changed; `remedy` says what to do.
std::string_view unseal(const std::string& bytes, const std::string& path, ErrorKind kind, const std::string& remedy);

}  // namespace repairbench
