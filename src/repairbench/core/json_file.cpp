#include "repairbench/core/json_file.h"

#include <filesystem>

#include "repairbench/core/atomic_file.h"

namespace repairbench {
namespace {

const char* type_name(JsonType type) {
  switch (type) {
    case JsonType::kObject:
      return "an object";
    case JsonType::kArray:
      return "an array";
    case JsonType::kString:
      return "a string";
    case JsonType::kInteger:
      return "an integer";
    case JsonType::kNumber:
      return "a number";
    case JsonType::kBool:
      return "true or false";
  }
  return "?";
}

bool has_type(const nlohmann::json& value, JsonType type) {
  switch (type) {
    case JsonType::kObject:
      return value.is_object();
    case JsonType::kArray:
      return value.is_array();
    case JsonType::kString:
      return value.is_string();
    case JsonType::kInteger:
      return value.is_number_integer();
    case JsonType::kNumber:
      return value.is_number();
    case JsonType::kBool:
      return value.is_boolean();
  }
  return false;
}

}  // namespace

nlohmann::json parse_json(const std::string& text, const std::string& source, ErrorKind kind) {
  // The callback sees each container open with its depth (0 for the top
  // level) before any of its content is built, so a deep file stops here
  // with at most kMaxJsonDepth levels in memory.
  const nlohmann::json::parser_callback_t bound = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    const bool opens =
        event == nlohmann::json::parse_event_t::object_start || event == nlohmann::json::parse_event_t::array_start;
    if (opens && depth >= kMaxJsonDepth) {
      throw Error(kind, c10::str(source, " nests objects and arrays deeper than ", kMaxJsonDepth,
                                 " levels; it is not a repairbench file"));
    }
    return true;
  };
  try {
    // nlohmann's parser refuses NaN, Infinity and numbers that overflow a
    // double (1e999), so every number of a file that parses is finite.
    return nlohmann::json::parse(text, bound);
  } catch (const nlohmann::json::exception& e) {
    throw Error(kind, c10::str(source, " is not valid JSON: ", e.what()));
  }
}

nlohmann::json read_json_file(const std::string& path, ErrorKind kind) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  RB_CHECK(fs::exists(status), kIo, path, " does not exist");
  RB_CHECK(!fs::is_directory(status), kIo, path, " is a directory, not a file");
  const std::uintmax_t bytes = fs::file_size(path, ec);
  RB_CHECK(ec || bytes <= kMaxJsonBytes, kIo, path, " holds ", bytes, " bytes, more than the ", kMaxJsonBytes,
           " a repairbench JSON file may have");
  return parse_json(read_file(path), path, kind);
}

const nlohmann::json& json_field(const nlohmann::json& object, const std::string& key, JsonType type,
                                 const std::string& where, ErrorKind kind) {
  if (!object.is_object()) throw Error(kind, c10::str(where, " is not a JSON object"));
  const auto it = object.find(key);
  if (it == object.end()) throw Error(kind, c10::str(where, " has no \"", key, "\" (", type_name(type), ")"));
  if (!has_type(*it, type)) {
    throw Error(kind, c10::str(where, ": \"", key, "\" must be ", type_name(type), ", not ", it->type_name(), " ",
                               it->dump().substr(0, 40)));
  }
  return *it;
}

std::string json_string(const nlohmann::json& object, const std::string& key, const std::string& where,
                        ErrorKind kind) {
  return json_field(object, key, JsonType::kString, where, kind).get<std::string>();
}

int64_t json_int(const nlohmann::json& object, const std::string& key, const std::string& where, ErrorKind kind) {
  return json_field(object, key, JsonType::kInteger, where, kind).get<int64_t>();
}

double json_number(const nlohmann::json& object, const std::string& key, const std::string& where, ErrorKind kind) {
  return json_field(object, key, JsonType::kNumber, where, kind).get<double>();
}

bool json_bool(const nlohmann::json& object, const std::string& key, const std::string& where, ErrorKind kind) {
  return json_field(object, key, JsonType::kBool, where, kind).get<bool>();
}

void json_only_keys(const nlohmann::json& object, std::initializer_list<const char*> allowed, const std::string& where,
                    ErrorKind kind) {
  if (!object.is_object()) return;
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (const char* a : allowed) known = known || key == a;
    if (known) continue;
    std::string names;
    for (const char* a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
    throw Error(kind, c10::str(where, " has an unknown key \"", key, "\"; the keys are ", names));
  }
}

}  // namespace repairbench
