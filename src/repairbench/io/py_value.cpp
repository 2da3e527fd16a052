#include "repairbench/io/py_value.h"

#include <cstring>
#include <unordered_map>

#include "repairbench/core/error.h"

namespace repairbench::io {

PyValue PyValue::from_bool(bool value) {
  PyValue v(Kind::kBool);
  v.bool_ = value;
  return v;
}

PyValue PyValue::from_int(int64_t value) {
  PyValue v(Kind::kInt);
  v.int_ = value;
  return v;
}

PyValue PyValue::from_float(double value) {
  PyValue v(Kind::kFloat);
  v.float_ = value;
  return v;
}

PyValue PyValue::from_string(std::string value) {
  PyValue v(Kind::kString);
  v.text_ = std::move(value);
  return v;
}

PyValue PyValue::from_bytes(std::string value) {
  PyValue v(Kind::kBytes);
  v.text_ = std::move(value);
  return v;
}

PyValue PyValue::from_tensor(torch::Tensor value) {
  RB_CHECK(value.defined(), kInternal, "PyValue::from_tensor got an undefined tensor");
  PyValue v(Kind::kTensor);
  v.tensor_ = std::move(value);
  return v;
}

PyValue PyValue::list(Items items) {
  PyValue v(Kind::kList);
  v.items_ = std::move(items);
  return v;
}

PyValue PyValue::tuple(Items items) {
  PyValue v(Kind::kTuple);
  v.items_ = std::move(items);
  return v;
}

PyValue PyValue::dict(Entries entries) {
  // Hashing the keys keeps building a dict from n entries O(n): files with
  // many entries must not cost quadratic time.
  PyValue v(Kind::kDict);
  std::unordered_map<std::string, size_t> index;
  std::string fingerprint;
  for (auto& [key, value] : entries) {
    fingerprint.clear();
    if (!key.fingerprint(&fingerprint)) {
      v.entries_.emplace_back(std::move(key), std::move(value));
      continue;
    }
    const auto [it, inserted] = index.emplace(fingerprint, v.entries_.size());
    if (inserted) {
      v.entries_.emplace_back(std::move(key), std::move(value));
    } else {
      v.entries_[it->second].second = std::move(value);
    }
  }
  return v;
}

PyValue PyValue::ordered_dict(Entries entries) {
  PyValue v = dict(std::move(entries));
  v.ordered_ = true;
  return v;
}

const char* PyValue::kind_name(Kind kind) {
  switch (kind) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kBytes:
      return "bytes";
    case Kind::kTensor:
      return "Tensor";
    case Kind::kList:
      return "list";
    case Kind::kTuple:
      return "tuple";
    case Kind::kDict:
      return "dict";
  }
  return "?";
}

void PyValue::expect(Kind kind) const {
  RB_CHECK(kind_ == kind, kCheckpoint, "expected a Python ", kind_name(kind), " but found a ", kind_name(kind_));
}

bool PyValue::as_bool() const {
  expect(Kind::kBool);
  return bool_;
}

int64_t PyValue::as_int() const {
  expect(Kind::kInt);
  return int_;
}

double PyValue::as_float() const {
  if (kind_ == Kind::kInt) return static_cast<double>(int_);
  expect(Kind::kFloat);
  return float_;
}

const std::string& PyValue::as_string() const {
  expect(Kind::kString);
  return text_;
}

const std::string& PyValue::as_bytes() const {
  expect(Kind::kBytes);
  return text_;
}

const torch::Tensor& PyValue::as_tensor() const {
  expect(Kind::kTensor);
  return tensor_;
}

const PyValue::Items& PyValue::as_list() const {
  expect(Kind::kList);
  return items_;
}

const PyValue::Items& PyValue::as_tuple() const {
  expect(Kind::kTuple);
  return items_;
}

const PyValue::Entries& PyValue::as_dict() const {
  expect(Kind::kDict);
  return entries_;
}

const PyValue* PyValue::find(std::string_view key) const {
  expect(Kind::kDict);
  for (const auto& [k, v] : entries_) {
    if (k.kind_ == Kind::kString && k.text_ == key) return &v;
  }
  return nullptr;
}

const PyValue& PyValue::at(std::string_view key) const {
  const PyValue* value = find(key);
  RB_CHECK(value != nullptr, kCheckpoint, "the dict has no key '", key, "'");
  return *value;
}

void PyValue::set(PyValue key, PyValue value) {
  expect(Kind::kDict);
  for (auto& entry : entries_) {
    if (entry.first.same_key(key)) {
      entry.second = std::move(value);
      return;
    }
  }
  entries_.emplace_back(std::move(key), std::move(value));
}

bool PyValue::fingerprint(std::string* out) const {
  out->push_back(static_cast<char>('0' + static_cast<int>(kind_)));
  switch (kind_) {
    case Kind::kNone:
      return true;
    case Kind::kBool:
      out->push_back(bool_ ? '1' : '0');
      return true;
    case Kind::kInt:
      out->append(std::to_string(int_));
      return true;
    case Kind::kFloat:
      // -0.0 == 0.0 in Python; NaN is never equal to itself, so NaN keys stay apart.
      if (float_ != float_) return false;
      {
        const double normalized = float_ == 0.0 ? 0.0 : float_;
        uint64_t bits = 0;
        std::memcpy(&bits, &normalized, sizeof bits);
        out->append(std::to_string(bits));
      }
      return true;
    case Kind::kString:
    case Kind::kBytes:
      // The length prefix keeps tuple fingerprints unambiguous.
      out->append(std::to_string(text_.size())).push_back(':');
      out->append(text_);
      return true;
    case Kind::kTuple:
      out->append(std::to_string(items_.size())).push_back(':');
      for (const PyValue& item : items_) {
        if (!item.fingerprint(out)) return false;
      }
      return true;
    case Kind::kTensor:
    case Kind::kList:
    case Kind::kDict:
      return false;
  }
  return false;
}

bool PyValue::same_key(const PyValue& other) const {
  if (kind_ != other.kind_) return false;
  switch (kind_) {
    case Kind::kNone:
      return true;
    case Kind::kBool:
      return bool_ == other.bool_;
    case Kind::kInt:
      return int_ == other.int_;
    case Kind::kFloat:
      return float_ == other.float_;
    case Kind::kString:
    case Kind::kBytes:
      return text_ == other.text_;
    case Kind::kTuple:
      if (items_.size() != other.items_.size()) return false;
      for (size_t i = 0; i < items_.size(); ++i) {
        if (!items_[i].same_key(other.items_[i])) return false;
      }
      return true;
    case Kind::kTensor:
    case Kind::kList:
    case Kind::kDict:
      return false;
  }
  return false;
}

}  // namespace repairbench::io
