// Internal to repairbench::io: the pickle virtual machine behind unpickle().
// Its opcode loop is in unpickler.cpp; the objects it may build (the allowed
// classes, persistent storages and tensors) are in unpickler_objects.cpp.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "repairbench/io/pickle.h"
#include "repairbench/io/py_value.h"
#include "repairbench/io/storage_view.h"

namespace repairbench::io::detail {

/// The classes and functions a pickle may name; everything else is refused.
enum class Callable {
  kOrderedDict,       ///< collections.OrderedDict
  kRebuildTensor,     ///< torch._utils._rebuild_tensor(storage, offset, size, stride)
  kRebuildTensorV2,   ///< torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)
  kRebuildParameter,  ///< torch._utils._rebuild_parameter[_with_state](data, ...)
  kEncode,            ///< _codecs.encode(text, "latin1"): how protocol 2 writes bytes
  kBytes,             ///< builtins.bytes(): how protocol 2 writes empty bytes
  kStorageClass,      ///< torch.<Type>Storage, only inside a persistent id
};

/// One object of the machine. Objects refer to each other by pointer into an
/// arena, which gives Python's reference semantics (a memoized list appended
/// to later is the same list) and makes cycles and deep nesting harmless until
/// the final conversion to PyValue, which bounds both.
struct Node {
  /// What the node is.
  enum class Type { kValue, kList, kTuple, kDict, kGlobal, kStorage };
  Type type = Type::kValue;
  PyValue value;             ///< kValue: a scalar, str, bytes or tensor.
  std::vector<Node*> items;  ///< kList, kTuple; kDict: key, value, key, value, ...
  bool ordered = false;      ///< kDict: an OrderedDict.
  Callable callable{};       ///< kGlobal.
  StorageBytes storage{};    ///< kGlobal of a storage class: its dtype; kStorage: all fields.
};

/// Runs one pickle program; see unpickle() and scan_pickle() for the contract.
class Unpickler {
 public:
  /// `in`, `resolve`, `name` and `scan` must outlive the machine. With `scan`,
  /// the machine only scans (see scan_pickle()): it appends each storage it
  /// meets to `*scan` instead of resolving it, and builds no tensors.
  Unpickler(std::string_view in, const StorageResolver& resolve, const std::string& name,
            std::vector<StorageRef>* scan = nullptr);
  /// Runs the program to its STOP and returns the object it built (None when scanning).
  PyValue run();
  /// Bytes read so far; after run(), the program's length up to and including STOP.
  size_t position() const { return pos_; }

 private:
  [[noreturn]] void corrupt(const std::string& what) const;
  uint64_t read_le(int n);
  std::string_view take(uint64_t n);
  std::string_view line();

  Node* make(Node::Type type);
  Node* make_value(PyValue value);
  Node* make_sequence(Node::Type type, std::vector<Node*> items);
  void push(Node* node);
  Node* pop();
  Node* top();
  std::vector<Node*> pop_mark();
  void append_items(Node* list, const std::vector<Node*>& items);
  void set_items(Node* dict, const std::vector<Node*>& items);
  void step(uint8_t op);

  Node* global(const std::string& module, const std::string& name);
  Node* call(Node* callable, Node* args);
  Node* persistent_load(Node* pid);
  Node* rebuild_tensor(const std::vector<Node*>& args);
  int64_t int_arg(const Node* node, const char* what) const;
  std::vector<int64_t> ints_arg(const Node* node, const char* what) const;
  void spend(uint64_t bytes, const char* what);
  PyValue convert(const Node* node, int depth);

  std::string_view in_;
  size_t pos_ = 0;
  const StorageResolver& resolve_;
  const std::string& name_;
  std::deque<Node> arena_;
  std::vector<Node*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Node*> memo_;
  std::unordered_map<std::string, Node*> storages_;
  std::vector<StorageRef>* scan_;
  uint64_t budget_;  // bytes that tensors and the conversion may still allocate
  bool stopped_ = false;
};

}  // namespace repairbench::io::detail
