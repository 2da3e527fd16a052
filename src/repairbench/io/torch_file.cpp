#include "repairbench/io/torch_file.h"

#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>
#include <set>
#include <string_view>
#include <vector>

#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "repairbench/io/legacy_format.h"
#include "repairbench/io/pickle.h"
#include "repairbench/io/utf8.h"

namespace repairbench::io {
namespace {

// Tensor bytes are copied as they are in memory, and the files are little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "repairbench::io assumes a little-endian host");

// LibTorch's own MemoryReadAdapter copies whatever range miniz asks for, and a
// damaged archive (an offset or size past the end) makes miniz ask beyond the
// buffer. This adapter hands out only the bytes that exist, so such a read
// comes up short and miniz reports a read failure instead.
class BoundedReadAdapter final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit BoundedReadAdapter(std::string_view bytes) : bytes_(bytes) {}
  size_t size() const override { return bytes_.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    if (pos >= bytes_.size()) return 0;
    const size_t count = static_cast<size_t>(std::min<uint64_t>(n, bytes_.size() - pos));
    std::memcpy(buf, bytes_.data() + pos, count);
    return count;
  }

 private:
  std::string_view bytes_;
};

// The first line of a LibTorch error, without the stack trace and the
// "(Could this error message be improved? ...)" request that c10 appends.
std::string libtorch_message(const c10::Error& e) {
  std::string text = e.what_without_backtrace();
  text = text.substr(0, text.find('\n'));
  return text.substr(0, text.find(" (Could this error message be improved?"));
}

// A torch.save zip archive read with LibTorch's PyTorchStreamReader. Every
// call into LibTorch goes through here, so that its c10::Error becomes an
// Error(kCheckpoint) that names the file and says what to do.
//
// LibTorch 1.13 exposes no record size before getRecord() allocates it (nor
// before its constructor reads the version record), so sizes cannot be checked
// here first. miniz checks, when it opens the archive, that each stored record
// with 32-bit sizes lies inside the file; a record marked deflated, or with
// zip64 sizes, can claim more: LibTorch reserves the claim (pages untouched)
// and the read then fails, or the allocation does, both as a c10::Error.
// LibTorch also builds miniz with MINIZ_DISABLE_ZIP_READER_CRC32_CHECKS, so
// damaged record data is not detected.
class Archive {
 public:
  Archive(const std::string& bytes, const std::string& name) : name_(name) {
    try {
      reader_ = std::make_unique<caffe2::serialize::PyTorchStreamReader>(
          std::make_shared<BoundedReadAdapter>(bytes));
    } catch (const c10::Error& e) {
      const std::string why = libtorch_message(e);
      // The one refusal whose LibTorch text says nothing to a user.
      RB_CHECK(why.find("hasRecord(\"version\")") == std::string::npos, kCheckpoint, name_,
               ": the zip archive has no version record, so it was not written by torch.save");
      RB_FAIL(kCheckpoint, name_, ": not a readable torch.save archive (LibTorch: ", why,
              "); the file is truncated or damaged, or was not written by torch.save: save or "
              "copy it again");
    }
  }

  // The names of all records, below the archive's top folder.
  std::vector<std::string> records() {
    try {
      return reader_->getAllRecords();
    } catch (const c10::Error& e) {
      RB_FAIL(kCheckpoint, name_, ": the zip archive is malformed (LibTorch: ", libtorch_message(e),
              "); the file is corrupt, save or copy it again");
    }
  }

  bool has(const std::string& record) {
    try {
      return reader_->hasRecord(record);
    } catch (const c10::Error& e) {
      RB_FAIL(kCheckpoint, name_, ": cannot look up record '", record, "' (LibTorch: ",
              libtorch_message(e), "); the file is corrupt, save or copy it again");
    }
  }

  // The bytes of a record, valid while the archive lives. miniz checks their
  // CRC-32 as it extracts them.
  std::string_view read(const std::string& record) {
    try {
      auto [data, size] = reader_->getRecord(record);
      owned_.push_back(std::move(data));
      return {static_cast<const char*>(owned_.back().get()), size};
    } catch (const c10::Error& e) {
      RB_FAIL(kCheckpoint, name_, ": cannot read record '", record, "' (LibTorch: ",
              libtorch_message(e), "); the file is damaged, copy or save it again");
    }
  }

 private:
  std::string name_;
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader_;
  std::deque<at::DataPtr> owned_;
};

// True for what a version record holds: decimal digits, then optional line ends.
bool is_version_text(std::string_view text) {
  const size_t digits = std::min(text.find_first_not_of("0123456789"), text.size());
  return digits > 0 && text.find_first_not_of("\r\n", digits) == std::string_view::npos;
}

enum class Format { kZip, kLegacy };

// Which of torch.save's two formats `bytes` are in; refuses everything else
// with its remedy.
Format detect_format(const std::string& bytes, const std::string& name) {
  RB_CHECK(!bytes.empty(), kCheckpoint, name,
           ": the file is empty; it was not written completely, save or copy it again");
  // The legacy format is a sequence of pickles, the first starting with the PROTO opcode.
  if (bytes[0] == '\x80') return Format::kLegacy;
  const std::string_view zip_magic("PK\x03\x04", 4);
  RB_CHECK(bytes.size() >= zip_magic.size() || zip_magic.substr(0, bytes.size()) != bytes,
           kCheckpoint, name, ": the file is truncated after ", bytes.size(),
           " bytes; save or copy it again");
  RB_CHECK(std::string_view(bytes).substr(0, zip_magic.size()) == zip_magic, kCheckpoint, name,
           ": not a PyTorch checkpoint (it is not a zip archive, nor in the legacy format of "
           "PyTorch < 1.6); expected a file written by torch.save");
  return Format::kZip;
}

PyValue read_zip(const std::string& bytes, const std::string& name) {
  Archive zip(bytes, name);
  std::set<std::string> names;
  for (const std::string& record : zip.records()) {
    RB_CHECK(record != "constants.pkl" && record.rfind("code/", 0) != 0, kCheckpoint, name,
             ": the file is a TorchScript module (torch.jit.save), not a state_dict; in Python, "
             "save its state_dict instead: torch.save(module.state_dict(), path)");
    RB_CHECK(names.insert(record).second, kCheckpoint, name,
             ": the zip archive holds two records called '", record, "'; the file is corrupt");
  }
  RB_CHECK(names.count("data.pkl") != 0, kCheckpoint, name,
           ": the zip archive has no data.pkl record, so it was not written by torch.save");
  // LibTorch has parsed the version as a number already; torch.save writes "3\n".
  for (const char* record : {".data/version", "version"}) {
    if (names.count(record) == 0) continue;
    const std::string_view text = zip.read(record);
    RB_CHECK(is_version_text(text), kCheckpoint, name, ": the version record holds '",
             text.substr(0, 16), "'; the file is corrupt");
  }
  if (names.count("byteorder") != 0) {
    const std::string_view value = zip.read("byteorder");
    RB_CHECK(value != "big", kCheckpoint, name,
             ": the file was saved on a big-endian machine, which repairbench does not read; "
             "load and save it again on a little-endian (x86 or ARM) machine");
    RB_CHECK(value == "little", kCheckpoint, name, ": the byteorder record holds '",
             value.substr(0, 16), "'; the file is corrupt");
  }
  const StorageResolver resolve = [&](const StorageRef& ref) {
    const std::string record = "data/" + ref.key;
    RB_CHECK(zip.has(record), kCheckpoint, name, ": the pickle refers to tensor storage '",
             ref.key, "' but the archive has no record data/", ref.key, "; the file is corrupt");
    return zip.read(record);
  };
  return unpickle(zip.read("data.pkl"), resolve, name);
}

// PyValue -> IValue for LibTorch's Pickler, with the checks that keep the
// result loadable by Python.
c10::IValue to_ivalue(const PyValue& value) {
  using Kind = PyValue::Kind;
  switch (value.kind()) {
    case Kind::kNone:
      return {};
    case Kind::kBool:
      return value.as_bool();
    case Kind::kInt:
      return value.as_int();
    case Kind::kFloat:
      return value.as_float();
    case Kind::kString:
      RB_CHECK(is_valid_utf8(value.as_string()), kUsage,
               "cannot save a str that is not valid UTF-8 (Python could not load it): '",
               value.as_string(), "'");
      return value.as_string();
    case Kind::kBytes:
      // c10::IValue has no bytes type, so LibTorch's Pickler cannot write one.
      RB_FAIL(kUsage, "cannot save a bytes value: LibTorch's pickler has no bytes type; store it "
                      "as a str or a uint8 tensor");
    case Kind::kTensor: {
      torch::Tensor tensor = value.as_tensor().detach().to(torch::kCPU).contiguous();
      storage_class_name(tensor.scalar_type());  // refuses dtypes Python has no storage for
      // The Pickler writes a tensor's whole storage: a view of a larger one (a
      // row of a matrix) would carry the rest along, so write a compact copy.
      if (tensor.storage_offset() != 0 || tensor.storage().nbytes() != tensor.nbytes()) {
        tensor = tensor.clone();
      }
      return tensor;
    }
    case Kind::kList: {
      c10::impl::GenericList list(c10::AnyType::get());
      list.reserve(value.as_list().size());
      for (const PyValue& item : value.as_list()) list.push_back(to_ivalue(item));
      return list;
    }
    case Kind::kTuple: {
      std::vector<c10::IValue> items;
      items.reserve(value.as_tuple().size());
      for (const PyValue& item : value.as_tuple()) items.push_back(to_ivalue(item));
      return c10::ivalue::Tuple::create(std::move(items));
    }
    case Kind::kDict: {
      // LibTorch's Pickler writes every dict as a plain dict (it knows no
      // OrderedDict), so Python's torch.load gives a dict where
      // torch.save(model.state_dict()) would give an OrderedDict. Nothing done
      // with a state_dict needs the difference: dicts keep insertion order
      // (Python >= 3.7) and nn.Module.load_state_dict takes any Mapping. The
      // OrderedDict's _metadata attribute was never written by repairbench.
      c10::impl::GenericDict dict(c10::AnyType::get(), c10::AnyType::get());
      dict.reserve(value.as_dict().size());
      for (const auto& [key, item] : value.as_dict()) {
        const Kind kind = key.kind();
        // The key types c10::Dict can hash (see c10::detail::DictKeyHash).
        RB_CHECK(kind == Kind::kString || kind == Kind::kInt || kind == Kind::kFloat ||
                     kind == Kind::kBool,
                 kUsage, "cannot save a dict key of type ", PyValue::kind_name(kind),
                 ": LibTorch's pickler writes str, int, float and bool keys");
        dict.insert_or_assign(to_ivalue(key), to_ivalue(item));
      }
      return dict;
    }
  }
  RB_FAIL(kInternal, "to_ivalue: unknown PyValue kind");
}

}  // namespace

PyValue read_torch_bytes(const std::string& bytes, const std::string& name_for_errors) {
  if (detect_format(bytes, name_for_errors) == Format::kLegacy) {
    return read_legacy_torch_bytes(bytes, name_for_errors);
  }
  return read_zip(bytes, name_for_errors);
}

PyValue read_torch_file(const std::string& path) {
  // A checkpoint that is not there is the user's checkpoint problem, not an
  // I/O failure, and a directory would otherwise read as an empty file.
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  RB_CHECK(std::filesystem::exists(status), kCheckpoint, "checkpoint ", path, " does not exist");
  RB_CHECK(!std::filesystem::is_directory(status), kCheckpoint, "checkpoint ", path,
           " is a directory, not a file");
  return read_torch_bytes(read_file(path), path);
}

std::string torch_file_bytes(const PyValue& value) {
  const c10::IValue root = to_ivalue(value);
  try {
    // Without type tags (tag_aggregates false): with them, LibTorch wraps each
    // list and dict in torch.jit._pickle.restore_type_tag, which our reader
    // refuses and which torch.save never writes.
    std::string program;
    torch::jit::Pickler pickler(
        [&program](const char* data, size_t size) { program.append(data, size); }, nullptr,
        nullptr, nullptr, nullptr, /*tag_aggregates=*/false);
    pickler.protocol();
    pickler.pushIValue(root);
    pickler.stop();

    std::string out;
    caffe2::serialize::PyTorchStreamWriter writer([&out](const void* data, size_t size) {
      out.append(static_cast<const char*>(data), size);
      return size;
    });
    writer.writeRecord("data.pkl", program.data(), program.size());
    writer.writeRecord("byteorder", "little", 6);
    // The Pickler names storage i "i", in the order of tensorData().
    const std::vector<at::Tensor>& tensors = pickler.tensorData();
    for (size_t i = 0; i < tensors.size(); ++i) {
      const torch::jit::WriteableTensorData data = torch::jit::getWriteableTensorData(tensors[i]);
      writer.writeRecord("data/" + std::to_string(i), data.data(), data.sizeInBytes());
    }
    writer.writeEndOfFile();  // adds the version record
    return out;
  } catch (const c10::Error& e) {
    RB_FAIL(kInternal, "LibTorch could not write a torch.save archive: ", libtorch_message(e));
  }
}

void write_torch_file(const std::string& path, const PyValue& value) {
  write_file_atomic(path, torch_file_bytes(value));
}

}  // namespace repairbench::io
