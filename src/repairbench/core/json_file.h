#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "repairbench/core/error.h"

namespace repairbench {

/// Deepest nesting of objects and arrays a JSON file we read may have. Our
/// own reports nest 6 levels; nlohmann's value copies recurse once per level,
/// so a crafted file 100,000 levels deep overflowed the stack (SIGSEGV in
/// `compare`). The parser's callback refuses a deeper file while it is read.
inline constexpr int kMaxJsonDepth = 64;

/// Largest JSON file we read: a 5-pair ResNet report is a few MiB; a file past
/// this is not one of ours and would only exhaust memory.
inline constexpr std::uintmax_t kMaxJsonBytes = std::uintmax_t{1} << 30;

/// Parses `text` as JSON read from `source` (a path, for the message).
/// Throws Error(kind) naming `source` when the text is not JSON, holds NaN or
/// an overflowing number, or nests deeper than kMaxJsonDepth.
nlohmann::json parse_json(const std::string& text, const std::string& source, ErrorKind kind = ErrorKind::kIo);

/// Reads and parses a JSON file (parse_json), refusing a missing file, a
/// directory and a file larger than kMaxJsonBytes with Error(kind).
nlohmann::json read_json_file(const std::string& path, ErrorKind kind = ErrorKind::kIo);

/// The JSON types a typed read asks for.
enum class JsonType { kObject, kArray, kString, kInteger, kNumber, kBool };

/// `object[key]`, which must exist and have `type`; otherwise throws
/// Error(kind) naming `where` (the file and the path to `object`), the key,
/// the type wanted and the type found. kInteger accepts only whole numbers.
const nlohmann::json& json_field(const nlohmann::json& object, const std::string& key, JsonType type,
                                 const std::string& where, ErrorKind kind = ErrorKind::kUsage);

/// Typed reads through json_field.
std::string json_string(const nlohmann::json& object, const std::string& key, const std::string& where,
                        ErrorKind kind = ErrorKind::kUsage);
int64_t json_int(const nlohmann::json& object, const std::string& key, const std::string& where,
                 ErrorKind kind = ErrorKind::kUsage);
double json_number(const nlohmann::json& object, const std::string& key, const std::string& where,
                   ErrorKind kind = ErrorKind::kUsage);
bool json_bool(const nlohmann::json& object, const std::string& key, const std::string& where,
               ErrorKind kind = ErrorKind::kUsage);

/// Refuses any key of `object` outside `allowed`, naming it and the allowed
/// ones: a misspelt key (`abs_tol` for `abs`) must not be read as absent.
void json_only_keys(const nlohmann::json& object, std::initializer_list<const char*> allowed, const std::string& where,
                    ErrorKind kind = ErrorKind::kUsage);

}  // namespace repairbench
