#pragma once

#include <cstdint>

namespace repairbench {

/// Deflate never compresses better than about 1032:1, so S compressed bytes
/// cannot unpack to more than this many times S: the bound the readers (IDX,
/// SVHN, torch.save records) put on what a possibly corrupt header may make
/// them allocate.
constexpr uint64_t kMaxDeflateRatio = 1032;

}  // namespace repairbench
