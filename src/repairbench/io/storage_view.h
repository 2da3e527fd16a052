#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace repairbench::io {

/// Raw bytes of one torch storage, as read from an archive record.
struct StorageBytes {
  torch::ScalarType dtype;  ///< Element type.
  int64_t numel = 0;        ///< Number of elements (the record may hold more bytes).
  std::string_view bytes;   ///< The record; at least numel * element size bytes.
};

/// The number of bytes of the tensor view (offset, sizes, strides) of
/// `storage`, after checking that every element it addresses lies inside the
/// storage. Throws Error(kCheckpoint) (message starting with `name`) for
/// negative sizes or strides, out-of-range views and sizes that overflow.
/// Runs before any allocation, so hostile shapes cost nothing.
uint64_t checked_view_bytes(const StorageBytes& storage, int64_t offset, const std::vector<int64_t>& sizes,
                            const std::vector<int64_t>& strides, const std::string& name);

/// A contiguous CPU tensor that owns a copy of the view (offset, sizes,
/// strides) of `storage`. The view must have passed checked_view_bytes().
/// Bool storages must hold only 0 and 1 (anything else throws Error(kCheckpoint)).
torch::Tensor copy_view(const StorageBytes& storage, int64_t offset, const std::vector<int64_t>& sizes,
                        const std::vector<int64_t>& strides, const std::string& name);

}  // namespace repairbench::io
