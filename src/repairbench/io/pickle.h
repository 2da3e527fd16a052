#pragma once

#include <torch/torch.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "repairbench/io/py_value.h"

namespace repairbench::io {

/// A tensor storage that a pickle refers to by persistent id, as torch.save
/// writes it: ('storage', torch.<Type>Storage, key, location, numel), and the
/// legacy format of PyTorch < 1.6 with a sixth element, view metadata (None).
struct StorageRef {
  torch::ScalarType dtype;  ///< Element type, from the storage class.
  std::string key;          ///< Record name under "<archive>/data/" (legacy: the storage's id).
  std::string location;     ///< Device it was saved from ("cpu", "cuda:0"); loading is on CPU.
  int64_t numel = 0;        ///< Number of elements in the storage.
};

/// Returns the raw bytes of a storage. The bytes must stay valid until
/// unpickle() returns; the unpickler checks that they hold `numel` elements.
using StorageResolver = std::function<std::string_view(const StorageRef&)>;

/// The element type of a torch storage class name such as "FloatStorage", or
/// nullopt for a name that is not one of the supported storage classes.
std::optional<torch::ScalarType> storage_dtype(std::string_view class_name);

/// The storage class name ("FloatStorage", ...) of a supported dtype.
/// Throws Error(kUsage) for other dtypes (complex, quantized, ...), which
/// repairbench neither reads nor writes.
std::string storage_class_name(torch::ScalarType dtype);

/// Runs a pickle as torch.save writes it (protocol 2; the opcodes of
/// protocols 3 and 4 are understood too) and returns the object it builds.
///
/// Only the classes that state_dicts and checkpoints use are allowed:
/// collections.OrderedDict, the torch storage types, the torch._utils tensor
/// and parameter rebuilders, and the ones Python uses for bytes. Anything else
/// (a whole pickled nn.Module, a numpy array, ...) throws Error(kCheckpoint)
/// naming the class. Tensors come back as contiguous CPU tensors that own
/// their memory; views of one storage are bounds-checked and copied, and
/// parameters come back as plain tensors. Hostile input throws
/// Error(kCheckpoint): lengths, nesting depth and total allocation are bounded
/// by the input's size. `name` (the file) starts every error message.
/// When `length` is given, it receives the number of bytes up to and
/// including STOP (bytes after it are not read).
PyValue unpickle(std::string_view pickle, const StorageResolver& resolve_storage, const std::string& name,
                 size_t* length = nullptr);

/// What scan_pickle() finds out about a pickle without building anything.
struct PickleScan {
  size_t length = 0;                 ///< Bytes up to and including its STOP opcode.
  std::vector<StorageRef> storages;  ///< The storages it refers to, each key once, in order.
};

/// Runs a pickle as unpickle() does, with the same checks on its opcodes and
/// classes, but without reading storages or building tensors: the legacy
/// torch.save format stores the storages after the pickle, so their keys and
/// sizes must be known, and the pickle's end found, before they can be read.
PickleScan scan_pickle(std::string_view pickle, const std::string& name);

}  // namespace repairbench::io
