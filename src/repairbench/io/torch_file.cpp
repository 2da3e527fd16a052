#include "repairbench/io/torch_file.h"

#include <algorithm>
#include <filesystem>
#include <string_view>
#include <utility>
#include <vector>

#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "repairbench/io/pickle.h"
#include "repairbench/io/zip_archive.h"

namespace repairbench::io {
namespace {

// Tensor bytes are copied as they are in memory, and the files are little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "repairbench::io assumes a little-endian host");

// The record name below the archive's top folder, or "" for a top-level name.
std::string_view below_top(std::string_view name) {
  const size_t slash = name.find('/');
  return slash == std::string_view::npos ? std::string_view() : name.substr(slash + 1);
}

// True for what a version record holds: decimal digits, then optional line ends.
bool is_version_text(std::string_view text) {
  const size_t digits = std::min(text.find_first_not_of("0123456789"), text.size());
  return digits > 0 && text.find_first_not_of("\r\n", digits) == std::string_view::npos;
}

// Rejects the files that are not in torch.save's zip format, each with its remedy.
void check_header(const std::string& bytes, const std::string& name) {
  RB_CHECK(!bytes.empty(), kCheckpoint, name,
           ": the file is empty; it was not written completely, save or copy it again");
  // The legacy format is a bare pickle stream, starting with the PROTO opcode.
  RB_CHECK(bytes[0] != '\x80', kCheckpoint, name,
           ": the file is in the legacy torch.save format of PyTorch < 1.6, which repairbench "
           "does not read; re-save it with PyTorch >= 1.6 (in Python: "
           "torch.save(torch.load(path), path))");
  const std::string_view zip_magic("PK\x03\x04", 4);
  RB_CHECK(bytes.size() >= zip_magic.size() || zip_magic.substr(0, bytes.size()) != bytes,
           kCheckpoint, name, ": the file is truncated after ", bytes.size(),
           " bytes; save or copy it again");
  RB_CHECK(std::string_view(bytes).substr(0, zip_magic.size()) == zip_magic, kCheckpoint, name,
           ": not a PyTorch checkpoint (it is not a zip archive); expected a file written by "
           "torch.save in PyTorch >= 1.6");
}

}  // namespace

PyValue read_torch_bytes(const std::string& bytes, const std::string& name_for_errors) {
  const std::string& name = name_for_errors;
  check_header(bytes, name);
  const ZipReader zip(bytes, name);

  const ZipEntry* program = nullptr;
  for (const ZipEntry& entry : zip.entries()) {
    const std::string_view rest = below_top(entry.name);
    RB_CHECK(rest != "constants.pkl" && rest.rfind("code/", 0) != 0, kCheckpoint, name,
             ": the file is a TorchScript module (torch.jit.save), not a state_dict; in Python, "
             "save its state_dict instead: torch.save(module.state_dict(), path)");
    if (rest == "data.pkl") {
      RB_CHECK(program == nullptr, kCheckpoint, name,
               ": the archive holds two data.pkl records; the file is corrupt");
      program = &entry;
    }
  }
  RB_CHECK(program != nullptr, kCheckpoint, name,
           ": the zip archive has no data.pkl record, so it was not written by torch.save");
  const std::string prefix = program->name.substr(0, program->name.size() - 8);  // "<top>/"

  if (const ZipEntry* version = zip.find(prefix + "version")) {
    // torch.save writes "3\n"; reading it also verifies its CRC.
    const std::string_view text = zip.read(*version);
    RB_CHECK(is_version_text(text), kCheckpoint, name, ": the version record holds '",
             text.substr(0, 16), "'; the file is corrupt");
  }
  if (const ZipEntry* order = zip.find(prefix + "byteorder")) {
    const std::string_view value = zip.read(*order);
    RB_CHECK(value != "big", kCheckpoint, name,
             ": the file was saved on a big-endian machine, which repairbench does not read; "
             "load and save it again on a little-endian (x86 or ARM) machine");
    RB_CHECK(value == "little", kCheckpoint, name, ": the byteorder record holds '",
             value.substr(0, 16), "'; the file is corrupt");
  }

  const StorageResolver resolve = [&](const StorageRef& ref) {
    const ZipEntry* record = zip.find(prefix + "data/" + ref.key);
    RB_CHECK(record != nullptr, kCheckpoint, name, ": the pickle refers to tensor storage '",
             ref.key, "' but the archive has no record ", prefix, "data/", ref.key,
             "; the file is corrupt");
    return zip.read(*record);
  };
  return unpickle(zip.read(*program), resolve, name);
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

std::string torch_file_bytes(const PyValue& value, const std::string& stem) {
  RB_CHECK(!stem.empty() && stem.find('/') == std::string::npos, kUsage,
           "torch_file_bytes: archive stem '", stem, "' must be a non-empty name without '/'");
  const Pickled pickled = pickle(value);
  std::vector<std::pair<std::string, std::string_view>> records;
  records.emplace_back(stem + "/data.pkl", pickled.program);
  records.emplace_back(stem + "/byteorder", "little");
  for (size_t i = 0; i < pickled.storages.size(); ++i) {
    const torch::Tensor& storage = pickled.storages[i];
    records.emplace_back(
        stem + "/data/" + std::to_string(i),
        std::string_view(static_cast<const char*>(storage.data_ptr()), storage.nbytes()));
  }
  records.emplace_back(stem + "/version", "3\n");
  return write_zip(records);
}

void write_torch_file(const std::string& path, const PyValue& value) {
  // Like torch.save: the top folder is the file name without its last extension.
  std::string stem = std::filesystem::path(path).stem().string();
  if (stem.empty()) stem = "archive";
  write_file_atomic(path, torch_file_bytes(value, stem));
}

}  // namespace repairbench::io
