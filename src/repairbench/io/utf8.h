#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace repairbench::io {

/// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or
/// code points above U+10FFFF), which is what Python accepts for a str.
bool is_valid_utf8(std::string_view text);

/// The bytes whose values are the code points of `text`: how Python's
/// protocol-2 pickles carry a bytes object (as latin-1 text). nullopt when
/// `text` is not valid UTF-8 or has a code point above U+00FF.
std::optional<std::string> utf8_to_latin1(std::string_view text);

}  // namespace repairbench::io
