#pragma once

#include <string>

#include "repairbench/io/py_value.h"

namespace repairbench::io {

/// Reads a file written by Python's torch.save, without Python: the zip format
/// of PyTorch >= 1.6 (through LibTorch's PyTorchStreamReader) or the legacy
/// format of older versions. It typically holds a state_dict (an OrderedDict
/// of tensors) or a dict of such plus plain values. Tensors come back as
/// contiguous CPU tensors. Throws Error(kIo) when the file cannot be read, and
/// Error(kCheckpoint) with a message naming the file and the remedy when it
/// does not exist, is a directory, is empty, truncated, corrupt, in neither
/// format, a TorchScript archive, big-endian, uses an unsupported dtype, or
/// holds a whole pickled model instead of a state_dict.
PyValue read_torch_file(const std::string& path);

/// read_torch_file() on bytes already in memory; `name_for_errors` stands for
/// the file in messages.
PyValue read_torch_bytes(const std::string& bytes, const std::string& name_for_errors);

/// The bytes of a torch.save file holding `value`, which Python's torch.load
/// reads back, written by LibTorch's Pickler and PyTorchStreamWriter: records
/// "archive/data.pkl", "archive/byteorder" ("little"), "archive/data/<i>"
/// (64-byte aligned) and "archive/version". Dicts, OrderedDicts included, are
/// written as plain dicts (see the comment in torch_file.cpp). Throws
/// Error(kUsage) for values this writer cannot express or Python could not
/// load: bytes, dict keys other than str, int, float and bool, str that is not
/// valid UTF-8, and tensor dtypes without a torch storage class.
std::string torch_file_bytes(const PyValue& value);

/// Writes `value` to `path` as torch_file_bytes() does, atomically (see
/// write_file_atomic): a reader sees the old file or the complete new one.
void write_torch_file(const std::string& path, const PyValue& value);

}  // namespace repairbench::io
