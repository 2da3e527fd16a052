#include "repairbench/io/utf8.h"

#include <cstdint>

namespace repairbench::io {
namespace {

// Decodes the code point starting at text[*pos] and advances *pos; false on
// malformed input.
bool next_code_point(std::string_view text, size_t* pos, uint32_t* code_point) {
  const auto lead = static_cast<unsigned char>(text[*pos]);
  int length = 0;
  uint32_t value = 0;
  uint32_t minimum = 0;
  if (lead < 0x80) {
    *code_point = lead;
    ++*pos;
    return true;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2;
    value = lead & 0x1F;
    minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    value = lead & 0x0F;
    minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    value = lead & 0x07;
    minimum = 0x10000;
  } else {
    return false;
  }
  if (text.size() - *pos < static_cast<size_t>(length)) return false;
  for (int i = 1; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(text[*pos + static_cast<size_t>(i)]);
    if ((byte & 0xC0) != 0x80) return false;
    value = (value << 6) | (byte & 0x3F);
  }
  if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return false;
  *code_point = value;
  *pos += static_cast<size_t>(length);
  return true;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  size_t pos = 0;
  uint32_t code_point = 0;
  while (pos < text.size()) {
    if (!next_code_point(text, &pos, &code_point)) return false;
  }
  return true;
}

std::optional<std::string> utf8_to_latin1(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  uint32_t code_point = 0;
  while (pos < text.size()) {
    if (!next_code_point(text, &pos, &code_point) || code_point > 0xFF) return std::nullopt;
    out.push_back(static_cast<char>(code_point));
  }
  return out;
}

}  // namespace repairbench::io
