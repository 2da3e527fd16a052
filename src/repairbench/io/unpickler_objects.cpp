// The objects the unpickler may build: allowed globals, persistent storages,
// tensors, and the final conversion to PyValue.
#include "repairbench/core/error.h"
#include "repairbench/io/unpickler.h"
#include "repairbench/io/utf8.h"

namespace repairbench::io::detail {
namespace {

// Deeper nesting than any checkpoint has; also what stops a cyclic structure.
constexpr int kMaxDepth = 1000;

bool is_string(const Node* node, std::string_view text) {
  return node->type == Node::Type::kValue && node->value.kind() == PyValue::Kind::kString &&
         node->value.as_string() == text;
}

}  // namespace

Node* Unpickler::global(const std::string& module, const std::string& name) {
  Node* node = make(Node::Type::kGlobal);
  const std::string qualified = module + "." + name;
  if (qualified == "collections.OrderedDict") {
    node->callable = Callable::kOrderedDict;
  } else if (qualified == "torch._utils._rebuild_tensor") {
    node->callable = Callable::kRebuildTensor;
  } else if (qualified == "torch._utils._rebuild_tensor_v2") {
    node->callable = Callable::kRebuildTensorV2;
  } else if (qualified == "torch._utils._rebuild_parameter" ||
             qualified == "torch._utils._rebuild_parameter_with_state") {
    node->callable = Callable::kRebuildParameter;
  } else if (qualified == "_codecs.encode") {
    node->callable = Callable::kEncode;
  } else if (qualified == "builtins.bytes" || qualified == "__builtin__.bytes") {
    node->callable = Callable::kBytes;
  } else if (module == "torch" && name.size() > 7 && name.compare(name.size() - 7, 7, "Storage") == 0) {
    const std::optional<torch::ScalarType> dtype = storage_dtype(name);
    RB_CHECK(dtype.has_value(), kCheckpoint, name_, ": holds a tensor stored as torch.", name,
             ", a dtype that repairbench does not support (it reads float32, float64, float16, "
             "bfloat16, int64, int32, int16, int8, uint8 and bool); convert that tensor in "
             "Python and save again");
    node->callable = Callable::kStorageClass;
    node->storage.dtype = *dtype;
  } else if (module.rfind("torch._utils", 0) == 0 || module.rfind("torch._tensor", 0) == 0) {
    RB_FAIL(kCheckpoint, name_, ": holds a tensor rebuilt by ", qualified,
            " (a sparse, quantized, subclassed or otherwise special tensor), which repairbench "
            "cannot read; save plain dense tensors");
  } else {
    RB_FAIL(kCheckpoint, name_, ": holds a pickled Python object of class ", qualified,
            ", not a state_dict; if it is a whole saved model, save model.state_dict() instead "
            "(in Python: torch.save(model.state_dict(), path))");
  }
  return node;
}

Node* Unpickler::call(Node* callable, Node* args) {
  if (callable->type != Node::Type::kGlobal || args->type != Node::Type::kTuple) {
    corrupt("REDUCE without a class and an argument tuple");
  }
  const std::vector<Node*>& a = args->items;
  switch (callable->callable) {
    case Callable::kOrderedDict: {
      // OrderedDict pickles as OrderedDict() followed by SETITEMS.
      if (!a.empty()) corrupt("OrderedDict called with arguments");
      Node* dict = make(Node::Type::kDict);
      dict->ordered = true;
      return dict;
    }
    case Callable::kRebuildTensor:
    case Callable::kRebuildTensorV2:
      return rebuild_tensor(a);
    case Callable::kRebuildParameter:
      // The data tensor is all a state_dict needs; requires_grad and hooks go.
      if (a.size() < 3 || a.size() > 4 || a[0]->type != Node::Type::kValue ||
          a[0]->value.kind() != PyValue::Kind::kTensor) {
        corrupt("_rebuild_parameter without a tensor");
      }
      return a[0];
    case Callable::kEncode: {
      if (a.size() != 2 || a[0]->value.kind() != PyValue::Kind::kString ||
          !(is_string(a[1], "latin1") || is_string(a[1], "latin-1"))) {
        corrupt("_codecs.encode other than latin1 text");
      }
      std::optional<std::string> bytes = utf8_to_latin1(a[0]->value.as_string());
      if (!bytes) corrupt("_codecs.encode of text outside latin1");
      return make_value(PyValue::from_bytes(std::move(*bytes)));
    }
    case Callable::kBytes:
      if (!a.empty()) corrupt("bytes() called with arguments");
      return make_value(PyValue::from_bytes(""));
    case Callable::kStorageClass:
      break;
  }
  corrupt("a storage class called like a function");
}

Node* Unpickler::persistent_load(Node* pid) {
  // torch.save's persistent id: ('storage', torch.<Type>Storage, key, location, numel),
  // plus view metadata in the legacy format (None since PyTorch 0.4, which
  // dropped storage views; see torch/serialization.py, _legacy_save).
  const std::vector<Node*>& id = pid->items;
  if (pid->type == Node::Type::kTuple && id.size() == 6 &&
      !(id[5]->type == Node::Type::kValue && id[5]->value.is_none())) {
    RB_FAIL(kCheckpoint, name_,
            ": holds a storage view, which only PyTorch < 0.4 wrote and repairbench does not "
            "read; load it with an old PyTorch and save it again with torch.save");
  }
  if (pid->type != Node::Type::kTuple || (id.size() != 5 && id.size() != 6) || !is_string(id[0], "storage") ||
      id[1]->type != Node::Type::kGlobal || id[1]->callable != Callable::kStorageClass ||
      id[2]->value.kind() != PyValue::Kind::kString || id[3]->value.kind() != PyValue::Kind::kString) {
    corrupt("a persistent id that is not a torch storage");
  }
  StorageRef ref{id[1]->storage.dtype, id[2]->value.as_string(), id[3]->value.as_string(),
                 int_arg(id[4], "storage size")};
  // Tensors sharing a storage name the same key; they get the same storage.
  const auto found = storages_.find(ref.key);
  if (found != storages_.end()) {
    if (found->second->storage.dtype != ref.dtype || found->second->storage.numel != ref.numel) {
      corrupt("storage '" + ref.key + "' used with two different types or sizes");
    }
    return found->second;
  }
  if (scan_ != nullptr) {
    if (ref.numel < 0) corrupt("storage '" + ref.key + "' with a negative size");
    Node* node = make(Node::Type::kStorage);
    node->storage = StorageBytes{ref.dtype, ref.numel, {}};
    storages_.emplace(ref.key, node);
    scan_->push_back(std::move(ref));
    return node;
  }
  const std::string_view bytes = resolve_(ref);
  const uint64_t element_size = c10::elementSize(ref.dtype);
  if (ref.numel < 0 || static_cast<uint64_t>(ref.numel) > bytes.size() / element_size) {
    RB_FAIL(kCheckpoint, name_, ": storage '", ref.key, "' should hold ", ref.numel, " elements but its record has ",
            bytes.size(), " bytes; the file is corrupt");
  }
  // Reading a storage is what justifies allocating tensors from it.
  budget_ += 4 * uint64_t{bytes.size()};
  Node* node = make(Node::Type::kStorage);
  node->storage = StorageBytes{ref.dtype, ref.numel, bytes};
  storages_.emplace(ref.key, node);
  return node;
}

int64_t Unpickler::int_arg(const Node* node, const char* what) const {
  if (node->type != Node::Type::kValue || node->value.kind() != PyValue::Kind::kInt) {
    corrupt(std::string(what) + " is not an int");
  }
  return node->value.as_int();
}

std::vector<int64_t> Unpickler::ints_arg(const Node* node, const char* what) const {
  if (node->type != Node::Type::kTuple) corrupt(std::string(what) + " is not a tuple");
  std::vector<int64_t> out;
  out.reserve(node->items.size());
  for (const Node* item : node->items) out.push_back(int_arg(item, what));
  return out;
}

void Unpickler::spend(uint64_t bytes, const char* what) {
  RB_CHECK(bytes <= budget_, kCheckpoint, name_, ": ", what,
           " would need far more memory than the file's size justifies; the file is corrupt");
  budget_ -= bytes;
}

Node* Unpickler::rebuild_tensor(const std::vector<Node*>& args) {
  // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
  if (args.size() < 4 || args[0]->type != Node::Type::kStorage) {
    corrupt("_rebuild_tensor without a storage");
  }
  const StorageBytes& storage = args[0]->storage;
  const int64_t offset = int_arg(args[1], "tensor offset");
  const std::vector<int64_t> sizes = ints_arg(args[2], "tensor size");
  const std::vector<int64_t> strides = ints_arg(args[3], "tensor stride");
  spend(checked_view_bytes(storage, offset, sizes, strides, name_), "a tensor");
  // A scan has no storage bytes; an empty tensor stands for the view.
  if (scan_ != nullptr) return make_value(PyValue::from_tensor(torch::empty({0}, storage.dtype)));
  return make_value(PyValue::from_tensor(copy_view(storage, offset, sizes, strides, name_)));
}

PyValue Unpickler::convert(const Node* node, int depth) {
  // A cycle also ends here, as nesting without end.
  RB_CHECK(depth <= kMaxDepth, kCheckpoint, name_, ": the data nests deeper than ", kMaxDepth,
           " levels (or refers to itself); this is not a checkpoint");
  // Shared objects are copied once per reference; the budget bounds that.
  spend(sizeof(PyValue), "the data structure");
  switch (node->type) {
    case Node::Type::kValue:
      if (node->value.kind() == PyValue::Kind::kString) {
        spend(node->value.as_string().size(), "the data structure");
      } else if (node->value.kind() == PyValue::Kind::kBytes) {
        spend(node->value.as_bytes().size(), "the data structure");
      }
      return node->value;
    case Node::Type::kList:
    case Node::Type::kTuple: {
      PyValue::Items items;
      items.reserve(node->items.size());
      for (const Node* item : node->items) items.push_back(convert(item, depth + 1));
      return node->type == Node::Type::kList ? PyValue::list(std::move(items)) : PyValue::tuple(std::move(items));
    }
    case Node::Type::kDict: {
      PyValue::Entries entries;
      entries.reserve(node->items.size() / 2);
      for (size_t i = 0; i + 1 < node->items.size(); i += 2) {
        PyValue key = convert(node->items[i], depth + 1);
        const PyValue::Kind kind = key.kind();
        RB_CHECK(kind != PyValue::Kind::kList && kind != PyValue::Kind::kDict && kind != PyValue::Kind::kTensor,
                 kCheckpoint, name_, ": a dict key is a ", PyValue::kind_name(kind),
                 ", which Python cannot hash; the file is corrupt");
        entries.emplace_back(std::move(key), convert(node->items[i + 1], depth + 1));
      }
      return node->ordered ? PyValue::ordered_dict(std::move(entries)) : PyValue::dict(std::move(entries));
    }
    case Node::Type::kGlobal:
    case Node::Type::kStorage:
      break;
  }
  RB_FAIL(kCheckpoint, name_,
          ": the data holds a bare class or storage, not a value; the file "
          "is corrupt");
}

}  // namespace repairbench::io::detail
