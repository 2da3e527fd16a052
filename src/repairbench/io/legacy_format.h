// Internal to repairbench::io: the reader of torch.save's legacy format, behind
// read_torch_bytes().
#pragma once

#include <string>
#include <string_view>

#include "repairbench/io/py_value.h"

namespace repairbench::io {

/// Reads a file in the format torch.save wrote before PyTorch 1.6 (and still
/// writes with _use_new_zipfile_serialization=False; see _legacy_save in
/// torch/serialization.py). It is a sequence of pickles: the magic number
/// 0x1950a86a20f9469cfc6c, the protocol version 1001, a dict of system
/// information (protocol_version, little_endian, type_sizes), the object
/// itself, whose persistent ids are ('storage', torch.<Type>Storage, key,
/// location, numel, None), and the list of storage keys; then, for each key
/// in that order, the storage's element count as a little-endian int64 and
/// its raw little-endian bytes. Returns what unpickle() returns for the object;
/// throws Error(kCheckpoint), naming `name`, for files that are cut, damaged or
/// not in this format.
PyValue read_legacy_torch_bytes(std::string_view bytes, const std::string& name);

}  // namespace repairbench::io
