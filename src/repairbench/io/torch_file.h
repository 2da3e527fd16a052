#pragma once

#include <string>

#include "repairbench/io/py_value.h"

namespace repairbench::io {

/// Reads a file written by Python's torch.save (the zip format of PyTorch >=
/// 1.6), without Python: typically a state_dict (an OrderedDict of tensors) or
/// a dict of such plus plain values. Tensors come back as contiguous CPU
/// tensors. Throws Error(kIo) when the file cannot be read, and
/// Error(kCheckpoint) with a message naming the file and the remedy when it
/// does not exist, is a directory, is empty, truncated, corrupt, not a zip, in
/// the legacy (pre-1.6) format, a TorchScript archive, big-endian, uses an
/// unsupported dtype, or holds a whole pickled model instead of a state_dict.
PyValue read_torch_file(const std::string& path);

/// read_torch_file() on bytes already in memory; `name_for_errors` stands for
/// the file in messages.
PyValue read_torch_bytes(const std::string& bytes, const std::string& name_for_errors);

/// The bytes of a torch.save file holding `value`, which Python's torch.load
/// reads back: records "<stem>/data.pkl", "<stem>/data/<i>" (64-byte aligned),
/// "<stem>/version" ("3") and "<stem>/byteorder" ("little"). `stem` names the
/// archive's top folder (torch.save uses the file name without extension).
/// Throws Error(kUsage) for values torch.save could not have written (see pickle()).
std::string torch_file_bytes(const PyValue& value, const std::string& stem);

/// Writes `value` to `path` as torch.save would, atomically (see
/// write_file_atomic): a reader sees the old file or the complete new one.
void write_torch_file(const std::string& path, const PyValue& value);

}  // namespace repairbench::io
