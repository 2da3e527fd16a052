// The pickler: writes a PyValue the way torch.save (protocol 2) does, so that
// Python's torch.load reads it back, and the storage-class table it shares
// with the unpickler.
#include <array>
#include <cstring>
#include <utility>

#include "repairbench/core/error.h"
#include "repairbench/io/pickle.h"
#include "repairbench/io/utf8.h"

namespace repairbench::io {
namespace {

constexpr std::array<std::pair<const char*, torch::ScalarType>, 10> kStorageClasses = {{
    {"FloatStorage", torch::kFloat32},
    {"DoubleStorage", torch::kFloat64},
    {"HalfStorage", torch::kFloat16},
    {"BFloat16Storage", torch::kBFloat16},
    {"LongStorage", torch::kInt64},
    {"IntStorage", torch::kInt32},
    {"ShortStorage", torch::kInt16},
    {"CharStorage", torch::kInt8},
    {"ByteStorage", torch::kUInt8},
    {"BoolStorage", torch::kBool},
}};

class Pickler {
 public:
  Pickled finish(const PyValue& value) {
    out_.program.append("\x80\x02");  // PROTO 2
    save(value);
    out_.program.push_back('.');  // STOP
    return std::move(out_);
  }

 private:
  void op(char code) { out_.program.push_back(code); }
  void op(uint8_t code) { out_.program.push_back(static_cast<char>(code)); }
  void le(uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) op(static_cast<uint8_t>(value >> (8 * i)));
  }
  void global(const char* module, const std::string& name) {
    op('c');
    out_.program.append(module).append("\n").append(name).append("\n");
  }
  void empty_ordered_dict() {
    global("collections", "OrderedDict");
    op(')');  // EMPTY_TUPLE
    op('R');  // REDUCE
  }

  void save_int(int64_t value) {
    if (value >= 0 && value <= 0xFF) {
      op('K');  // BININT1
      le(static_cast<uint64_t>(value), 1);
    } else if (value >= 0 && value <= 0xFFFF) {
      op('M');  // BININT2
      le(static_cast<uint64_t>(value), 2);
    } else if (value >= INT32_MIN && value <= INT32_MAX) {
      op('J');  // BININT
      le(static_cast<uint64_t>(value), 4);
    } else {
      // LONG1 with the shortest two's-complement encoding, as Python writes it.
      int bytes = 8;
      while (bytes > 1) {
        const int shift = 8 * (bytes - 1) - 1;
        const int64_t high = value >> shift;  // arithmetic shift keeps the sign
        if (high != 0 && high != -1) break;
        --bytes;
      }
      op(static_cast<uint8_t>(0x8a));
      le(static_cast<uint64_t>(bytes), 1);
      le(static_cast<uint64_t>(value), bytes);
    }
  }

  void save_string(const std::string& text) {
    RB_CHECK(is_valid_utf8(text), kUsage,
             "cannot save a str that is not valid UTF-8 (Python could not load it): '", text, "'");
    RB_CHECK(text.size() <= UINT32_MAX, kUsage, "cannot save a str of ", text.size(), " bytes");
    op('X');  // BINUNICODE
    le(text.size(), 4);
    out_.program.append(text);
  }

  void save_bytes(const std::string& bytes) {
    // Protocol 2 has no bytes opcode: Python writes _codecs.encode(latin-1 text).
    if (bytes.empty()) {
      global("__builtin__", "bytes");
      op(')');
    } else {
      global("_codecs", "encode");
      save_string(latin1_to_utf8(bytes));
      save_string("latin1");
      op(static_cast<uint8_t>(0x86));  // TUPLE2
    }
    op('R');
  }

  void save_ints(c10::IntArrayRef values) {
    if (values.empty()) return op(')');
    if (values.size() > 3) op('(');
    for (const int64_t v : values) save_int(v);
    op(values.size() > 3 ? static_cast<uint8_t>('t') : static_cast<uint8_t>(0x84 + values.size()));
  }

  void save_tensor(const torch::Tensor& value) {
    const std::string storage_class = storage_class_name(value.scalar_type());
    const torch::Tensor tensor = value.detach().to(torch::kCPU).contiguous();
    const std::string key = std::to_string(out_.storages.size());
    out_.storages.push_back(tensor);
    global("torch._utils", "_rebuild_tensor_v2");
    op('(');
    op('(');  // persistent id: ('storage', class, key, location, numel)
    save_string("storage");
    global("torch", storage_class);
    save_string(key);
    save_string("cpu");
    save_int(tensor.numel());
    op('t');
    op('Q');  // BINPERSID
    save_int(0);
    save_ints(tensor.sizes());
    save_ints(tensor.strides());
    op(static_cast<uint8_t>(0x89));  // requires_grad: NEWFALSE
    empty_ordered_dict();            // backward_hooks
    op('t');
    op('R');
  }

  void save(const PyValue& value) {
    using Kind = PyValue::Kind;
    switch (value.kind()) {
      case Kind::kNone:
        return op('N');
      case Kind::kBool:
        return op(static_cast<uint8_t>(value.as_bool() ? 0x88 : 0x89));
      case Kind::kInt:
        return save_int(value.as_int());
      case Kind::kFloat: {
        op('G');  // BINFLOAT, big-endian
        uint64_t bits = 0;
        const double f = value.as_float();
        std::memcpy(&bits, &f, sizeof bits);
        for (int i = 7; i >= 0; --i) op(static_cast<uint8_t>(bits >> (8 * i)));
        return;
      }
      case Kind::kString:
        return save_string(value.as_string());
      case Kind::kBytes:
        return save_bytes(value.as_bytes());
      case Kind::kTensor:
        return save_tensor(value.as_tensor());
      case Kind::kList:
        op(']');
        if (value.as_list().empty()) return;
        op('(');
        for (const PyValue& item : value.as_list()) save(item);
        return op('e');  // APPENDS
      case Kind::kTuple: {
        const PyValue::Items& items = value.as_tuple();
        if (items.empty()) return op(')');
        if (items.size() > 3) op('(');
        for (const PyValue& item : items) save(item);
        return op(items.size() > 3 ? static_cast<uint8_t>('t')
                                   : static_cast<uint8_t>(0x84 + items.size()));
      }
      case Kind::kDict:
        if (value.is_ordered_dict()) {
          empty_ordered_dict();
        } else {
          op('}');
        }
        if (value.as_dict().empty()) return;
        op('(');
        for (const auto& [key, item] : value.as_dict()) {
          save(key);
          save(item);
        }
        return op('u');  // SETITEMS
    }
  }

  Pickled out_;
};

}  // namespace

std::optional<torch::ScalarType> storage_dtype(std::string_view class_name) {
  for (const auto& [name, dtype] : kStorageClasses) {
    if (class_name == name) return dtype;
  }
  return std::nullopt;
}

std::string storage_class_name(torch::ScalarType dtype) {
  for (const auto& [name, type] : kStorageClasses) {
    if (type == dtype) return name;
  }
  RB_FAIL(kUsage, "cannot save a tensor of dtype ", c10::toString(dtype),
          ": repairbench writes float32, float64, float16, bfloat16, int64, int32, int16, int8, "
          "uint8 and bool tensors");
}

Pickled pickle(const PyValue& value) { return Pickler().finish(value); }

}  // namespace repairbench::io
