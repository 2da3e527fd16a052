#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace repairbench::io {

/// A Python object as torch.save files hold it, restricted to what checkpoints
/// contain: scalars, strings, bytes, CPU tensors, and lists, tuples and dicts
/// of those. Values are plain copyable trees (tensors are shared by reference,
/// like torch::Tensor itself). Accessors throw Error(kCheckpoint) on a kind
/// mismatch, because a mismatch means the file is not shaped as expected.
class PyValue {
 public:
  /// The Python type of the value.
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kBytes, kTensor, kList, kTuple, kDict };
  /// Elements of a list or tuple.
  using Items = std::vector<PyValue>;
  /// One key/value pair of a dict.
  using Entry = std::pair<PyValue, PyValue>;
  /// Dict entries in insertion order (Python dicts and OrderedDicts keep it).
  using Entries = std::vector<Entry>;

  /// Python None.
  PyValue() = default;

  /// Python None.
  static PyValue none() { return PyValue(); }
  /// A Python bool.
  static PyValue from_bool(bool value);
  /// A Python int (files holding ints outside int64 are rejected on reading).
  static PyValue from_int(int64_t value);
  /// A Python float.
  static PyValue from_float(double value);
  /// A Python str, held as UTF-8.
  static PyValue from_string(std::string value);
  /// A Python bytes object.
  static PyValue from_bytes(std::string value);
  /// A torch.Tensor.
  static PyValue from_tensor(torch::Tensor value);
  /// A Python list.
  static PyValue list(Items items = {});
  /// A Python tuple.
  static PyValue tuple(Items items = {});
  /// A plain Python dict.
  static PyValue dict(Entries entries = {});
  /// A collections.OrderedDict, what model.state_dict() returns.
  static PyValue ordered_dict(Entries entries = {});

  /// The Python type of the value.
  Kind kind() const { return kind_; }
  /// True for None.
  bool is_none() const { return kind_ == Kind::kNone; }
  /// True for a dict that is a collections.OrderedDict (false for other kinds).
  bool is_ordered_dict() const { return kind_ == Kind::kDict && ordered_; }

  /// The bool; throws unless kind() is kBool.
  bool as_bool() const;
  /// The int; throws unless kind() is kInt.
  int64_t as_int() const;
  /// The float; ints are accepted too, as Python code would.
  double as_float() const;
  /// The str; throws unless kind() is kString.
  const std::string& as_string() const;
  /// The bytes; throws unless kind() is kBytes.
  const std::string& as_bytes() const;
  /// The tensor; throws unless kind() is kTensor.
  const torch::Tensor& as_tensor() const;
  /// The elements; throws unless kind() is kList.
  const Items& as_list() const;
  /// The elements; throws unless kind() is kTuple.
  const Items& as_tuple() const;
  /// The entries in insertion order; throws unless kind() is kDict.
  const Entries& as_dict() const;

  /// The value stored under the str key `key` of a dict, or nullptr when absent.
  /// Throws unless kind() is kDict.
  const PyValue* find(std::string_view key) const;
  /// Like find(), but throws Error(kCheckpoint) naming the key when it is absent.
  const PyValue& at(std::string_view key) const;
  /// Sets `key` to `value` in a dict: replaces the value of an equal key in
  /// place (keeping its position, as Python does) or appends a new entry.
  /// Throws unless kind() is kDict.
  void set(PyValue key, PyValue value);

  /// Python-style equality of keys: same kind and same scalar value, element-wise
  /// for tuples. Tensors, lists and dicts never compare equal (they are unhashable).
  bool same_key(const PyValue& other) const;

  /// The Python name of a kind, for messages ("int", "OrderedDict" is reported as "dict").
  static const char* kind_name(Kind kind);

 private:
  explicit PyValue(Kind kind) : kind_(kind) {}
  void expect(Kind kind) const;
  // Appends a string that is equal for equal keys (see same_key); false for
  // unhashable values, which never compare equal.
  bool fingerprint(std::string* out) const;

  Kind kind_ = Kind::kNone;
  bool ordered_ = false;
  bool bool_ = false;
  int64_t int_ = 0;
  double float_ = 0.0;
  std::string text_;  // str (UTF-8) or bytes
  torch::Tensor tensor_;
  Items items_;
  Entries entries_;
};

}  // namespace repairbench::io
