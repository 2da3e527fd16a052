#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace repairbench::io {

/// One record of a zip archive, located inside the archive's bytes.
struct ZipEntry {
  std::string name;        ///< Path inside the archive, e.g. "model/data.pkl".
  uint64_t offset = 0;     ///< Where the record's bytes start in the archive.
  uint64_t size = 0;       ///< Number of bytes as stored in the archive.
  uint32_t crc32 = 0;      ///< CRC-32 from the central directory.
  uint16_t method = 0;     ///< Compression method; only 0 (stored) can be read.
  bool encrypted = false;  ///< Encrypted records cannot be read.
};

/// Reads a zip archive held in memory, as torch.save writes it: records
/// STORED (uncompressed), zip64 fields accepted. Compressed or encrypted
/// records are listed (TorchScript archives have some, and must be recognised)
/// but cannot be read. The input may be truncated or hostile: every offset and
/// length is checked against the buffer, and any problem throws
/// Error(kCheckpoint) with a message that starts with the archive's name.
class ZipReader {
 public:
  /// Parses the central directory of `bytes`, which must outlive the reader.
  /// `name` is the file name used in error messages.
  ZipReader(std::string_view bytes, std::string name);

  /// All records, in central-directory order.
  const std::vector<ZipEntry>& entries() const { return entries_; }
  /// The record called `name`, or nullptr.
  const ZipEntry* find(const std::string& name) const;
  /// The bytes of a record of this archive, after checking their CRC-32.
  /// Throws Error(kCheckpoint) for a compressed or encrypted record.
  std::string_view read(const ZipEntry& entry) const;

 private:
  void parse_central_directory(uint64_t offset, uint64_t size, uint64_t count);

  std::string_view bytes_;
  std::string name_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> index_;
};

/// Builds a zip archive of STORED records, in the given order, with each
/// record's data starting at a multiple of 64 bytes (so that tensor data can
/// be mapped and read in place) and correct CRC-32s. Names must be unique.
/// Throws Error(kUsage) beyond the classic zip limits (4 GiB, 65535 records),
/// which checkpoints of the models here never reach.
std::string write_zip(const std::vector<std::pair<std::string, std::string_view>>& records);

}  // namespace repairbench::io
