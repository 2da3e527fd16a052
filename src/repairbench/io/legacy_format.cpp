#include "repairbench/io/legacy_format.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "repairbench/core/error.h"
#include "repairbench/io/pickle.h"

namespace repairbench::io {
namespace {

// The first pickle's body: the magic number as LONG1 (10 little-endian bytes), then STOP.
constexpr char kMagicPickle[] = {'\x8a', '\x0a', '\x6c', '\xfc', '\x9c', '\x46', '\xf9',
                                 '\x20', '\x6a', '\xa8', '\x50', '\x19', '.'};
// torch/serialization.py's PROTOCOL_VERSION, the second pickle.
constexpr int64_t kProtocolVersion = 1001;

class LegacyReader {
 public:
  LegacyReader(std::string_view bytes, const std::string& name) : bytes_(bytes), name_(name) {}

  PyValue read() {
    read_magic();
    const PyValue version = next_header("protocol version");
    RB_CHECK(version.kind() == PyValue::Kind::kInt && version.as_int() == kProtocolVersion, kCheckpoint, name_,
             ": the legacy torch.save header holds protocol version ", describe(version), ", not ", kProtocolVersion,
             "; the file is damaged or was not written by torch.save");
    check_system(next_header("system information"));

    require_more("the pickled object");
    const std::string_view program = bytes_.substr(pos_);
    const PickleScan scan = scan_pickle(program, name_);
    pos_ += scan.length;
    const std::unordered_map<std::string, std::string_view> data = read_storages(scan.storages);
    const StorageResolver resolve = [&data](const StorageRef& ref) { return data.at(ref.key); };
    return unpickle(program, resolve, name_);
  }

 private:
  static std::string describe(const PyValue& value) {
    return value.kind() == PyValue::Kind::kInt ? std::to_string(value.as_int())
                                               : std::string("a ") + PyValue::kind_name(value.kind());
  }

  void require_more(const char* what) const {
    RB_CHECK(pos_ < bytes_.size(), kCheckpoint, name_, ": the file is truncated after ", bytes_.size(),
             " bytes, before ", what, "; save or copy it again");
  }

  void read_magic() {
    size_t pos = 2;                                              // after PROTO and its protocol number
    if (bytes_.size() > pos && bytes_[pos] == '\x95') pos += 9;  // FRAME, from protocol 4 on
    const std::string_view expected(kMagicPickle, sizeof kMagicPickle);
    const std::string_view found = bytes_.substr(std::min(pos, bytes_.size()), expected.size());
    RB_CHECK(found == expected.substr(0, found.size()), kCheckpoint, name_,
             ": the file starts like a Python pickle but not with the magic number of "
             "torch.save's legacy format, so it is not a PyTorch checkpoint (or its start is "
             "damaged); expected a file written by torch.save");
    RB_CHECK(found.size() == expected.size(), kCheckpoint, name_, ": the file is truncated after ", bytes_.size(),
             " bytes, inside its magic number; save or copy it again");
    pos_ = pos + expected.size();
  }

  // One of the small pickles around the object, which refer to no storage.
  PyValue next_header(const char* what) {
    require_more(what);
    const StorageResolver none = [this, what](const StorageRef&) -> std::string_view {
      RB_FAIL(kCheckpoint, name_, ": the ", what,
              " of the legacy torch.save header refers to a tensor storage; the file is corrupt");
    };
    size_t length = 0;
    PyValue value = unpickle(bytes_.substr(pos_), none, name_, &length);
    pos_ += length;
    return value;
  }

  void check_system(const PyValue& info) const {
    const PyValue* little = info.kind() == PyValue::Kind::kDict ? info.find("little_endian") : nullptr;
    RB_CHECK(little != nullptr && little->kind() == PyValue::Kind::kBool, kCheckpoint, name_,
             ": the legacy torch.save header has no system information (little_endian); the file "
             "is damaged or was not written by torch.save");
    RB_CHECK(little->as_bool(), kCheckpoint, name_,
             ": the file was saved on a big-endian machine, which repairbench does not read; "
             "load and save it again on a little-endian (x86 or ARM) machine");
  }

  // After the object: the list of storage keys, then each storage's element
  // count and bytes in the list's order. Returns the bytes of each key.
  std::unordered_map<std::string, std::string_view> read_storages(const std::vector<StorageRef>& refs) {
    std::unordered_map<std::string, const StorageRef*> by_key;
    for (const StorageRef& ref : refs) by_key.emplace(ref.key, &ref);
    const PyValue keys = next_header("list of storage keys");
    RB_CHECK(keys.kind() == PyValue::Kind::kList, kCheckpoint, name_,
             ": the list of storage keys after the pickled object is a ", PyValue::kind_name(keys.kind()),
             "; the file is corrupt");
    std::unordered_map<std::string, std::string_view> data;
    for (const PyValue& key_value : keys.as_list()) {
      RB_CHECK(key_value.kind() == PyValue::Kind::kString, kCheckpoint, name_, ": a storage key is a ",
               PyValue::kind_name(key_value.kind()), ", not a str; the file is corrupt");
      const std::string& key = key_value.as_string();
      const auto ref = by_key.find(key);
      RB_CHECK(ref != by_key.end(), kCheckpoint, name_, ": the list of storage keys names '", key,
               "', which the pickled object does not use; the file is corrupt");
      RB_CHECK(data.count(key) == 0, kCheckpoint, name_, ": storage '", key, "' is listed twice; the file is corrupt");
      data.emplace(key, read_storage(*ref->second));
    }
    for (const StorageRef& ref : refs) {
      RB_CHECK(data.count(ref.key) != 0, kCheckpoint, name_, ": the pickle refers to tensor storage '", ref.key,
               "' but the file holds no data for it (its key is missing from the storage list); "
               "the file is corrupt");
    }
    return data;
  }

  std::string_view read_storage(const StorageRef& ref) {
    RB_CHECK(bytes_.size() - pos_ >= 8, kCheckpoint, name_, ": the file is truncated after ", bytes_.size(),
             " bytes, before the data of storage '", ref.key, "'; save or copy it again");
    uint64_t count = 0;
    for (int i = 7; i >= 0; --i) {
      count = (count << 8) | static_cast<unsigned char>(bytes_[pos_ + static_cast<size_t>(i)]);
    }
    pos_ += 8;
    // torch.load refuses a count other than the one in the persistent id too.
    RB_CHECK(count == static_cast<uint64_t>(ref.numel), kCheckpoint, name_, ": storage '", ref.key, "' holds ",
             static_cast<int64_t>(count), " elements but the pickle declares ", ref.numel, "; the file is corrupt");
    const uint64_t element_size = c10::elementSize(ref.dtype);
    const uint64_t left = bytes_.size() - pos_;
    RB_CHECK(count <= left / element_size, kCheckpoint, name_, ": storage '", ref.key, "' should hold ", count,
             " elements of ", element_size, " bytes but the file ends ", left,
             " bytes later; the file is truncated, save or copy it again");
    const std::string_view out = bytes_.substr(pos_, count * element_size);
    pos_ += out.size();
    return out;
  }

  std::string_view bytes_;
  const std::string& name_;
  size_t pos_ = 0;
};

}  // namespace

PyValue read_legacy_torch_bytes(std::string_view bytes, const std::string& name) {
  return LegacyReader(bytes, name).read();
}

}  // namespace repairbench::io
