#include "repairbench/core/integrity.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace repairbench {
namespace {

constexpr char kMagic[] = "RBCRC32\n";  // 8 bytes without the terminator
constexpr size_t kMagicBytes = sizeof(kMagic) - 1;
constexpr size_t kTrailerBytes = kMagicBytes + 8;

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

}  // namespace

uint32_t crc32_of(std::string_view data) {
  // zlib takes 32-bit lengths; feed big records in chunks.
  uLong crc = crc32(0L, Z_NULL, 0);
  for (size_t done = 0; done < data.size();) {
    const size_t chunk = std::min<size_t>(data.size() - done, size_t{1} << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data() + done), static_cast<uInt>(chunk));
    done += chunk;
  }
  return static_cast<uint32_t>(crc);
}

std::string seal(std::string payload) {
  const uint32_t crc = crc32_of(payload);
  // The length field keeps the low 32 bits: with the CRC it still tells a cut
  // or extended file from its original.
  const auto length = static_cast<uint32_t>(payload.size());
  payload.append(kMagic, kMagicBytes);
  put_u32(payload, crc);
  put_u32(payload, length);
  return payload;
}

std::string_view unseal(const std::string& bytes, const std::string& path, ErrorKind kind, const std::string& remedy) {
  const bool trailer = bytes.size() >= kTrailerBytes &&
                       std::memcmp(bytes.data() + bytes.size() - kTrailerBytes, kMagic, kMagicBytes) == 0;
  if (!trailer) {
    throw Error(kind, c10::str(path,
                               " has no integrity trailer: it is cut short, damaged, or from a version that "
                               "wrote none; ",
                               remedy));
  }
  const std::string_view payload(bytes.data(), bytes.size() - kTrailerBytes);
  const char* tail = bytes.data() + bytes.size() - 8;
  if (get_u32(tail + 4) != static_cast<uint32_t>(payload.size()) || get_u32(tail) != crc32_of(payload)) {
    throw Error(kind, c10::str(path, " is damaged: its bytes do not match the CRC-32 it was written with; ", remedy));
  }
  return payload;
}

}  // namespace repairbench
