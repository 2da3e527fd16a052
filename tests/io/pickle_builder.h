#pragma once

#include <cstdint>
#include <string>

namespace repairbench::io::testing {

/// Assembles pickle programs opcode by opcode for tests (string literals with
/// \x escapes are error-prone: an escape swallows following hex digits).
class PickleBuilder {
 public:
  /// One opcode byte (or any raw byte).
  PickleBuilder& op(int code) {
    bytes_.push_back(static_cast<char>(code));
    return *this;
  }
  /// A little-endian unsigned integer of `n` bytes.
  PickleBuilder& le(uint64_t value, int n) {
    for (int i = 0; i < n; ++i) op(static_cast<int>((value >> (8 * i)) & 0xFF));
    return *this;
  }
  /// Raw bytes.
  PickleBuilder& raw(const std::string& text) {
    bytes_ += text;
    return *this;
  }
  /// PROTO 2.
  PickleBuilder& proto() { return op(0x80).op(2); }
  /// BINUNICODE `text`.
  PickleBuilder& str(const std::string& text) { return op('X').le(text.size(), 4).raw(text); }
  /// BININT `value`.
  PickleBuilder& i32(int32_t value) { return op('J').le(static_cast<uint32_t>(value), 4); }
  /// GLOBAL module.name.
  PickleBuilder& global(const std::string& module, const std::string& name) {
    return op('c').raw(module + "\n" + name + "\n");
  }
  /// A persistent id for storage `key` of class torch.<storage_class> with `numel` elements.
  PickleBuilder& storage(const std::string& storage_class, const std::string& key, int32_t numel) {
    op('(').str("storage").global("torch", storage_class).str(key).str("cpu").i32(numel);
    return op('t').op('Q');
  }
  /// A whole _rebuild_tensor_v2 call over a storage with the given view.
  PickleBuilder& tensor(const std::string& storage_class, const std::string& key, int32_t numel, int32_t offset,
                        std::initializer_list<int32_t> sizes, std::initializer_list<int32_t> strides) {
    global("torch._utils", "_rebuild_tensor_v2").op('(');
    storage(storage_class, key, numel).i32(offset);
    op('(');
    for (int32_t s : sizes) i32(s);
    op('t').op('(');
    for (int32_t s : strides) i32(s);
    op('t').op(0x89).global("collections", "OrderedDict").op(')').op('R');
    return op('t').op('R');
  }
  /// STOP, and the program.
  std::string stop() {
    op('.');
    return bytes_;
  }
  /// The program so far.
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

}  // namespace repairbench::io::testing
