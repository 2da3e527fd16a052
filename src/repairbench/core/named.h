#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "repairbench/core/error.h"

namespace repairbench {

/// One row of a setting's table: a value of its enum and the name that
/// command lines, reports and stored files use for it. Each setting keeps
/// one table (e.g. pipeline::Matcher's in matcher.cpp); names are parsed
/// once, where they enter, and everything inside works with the enum.
template <class Enum>
struct Named {
  Enum value;
  const char* name;
};

/// "a, b or c": the names of `table`, for error messages and help texts.
template <class Enum, size_t N>
std::string names_of(const Named<Enum> (&table)[N]) {
  std::string out;
  for (size_t i = 0; i < N; ++i) out += std::string(i == 0 ? "" : i + 1 == N ? " or " : ", ") + table[i].name;
  return out;
}

/// The names of `table`, in its order.
template <class Enum, size_t N>
std::vector<std::string> name_list(const Named<Enum> (&table)[N]) {
  std::vector<std::string> out;
  for (const auto& row : table) out.emplace_back(row.name);
  return out;
}

/// The value called `name`; throws Error(kUsage) naming `what` (e.g.
/// "--stats-order"), the name given and the names allowed.
template <class Enum, size_t N>
Enum parse_named(const Named<Enum> (&table)[N], const std::string& name, const char* what) {
  for (const auto& row : table) {
    if (name == row.name) return row.value;
  }
  RB_FAIL(kUsage, what, " '", name, "' is unknown; expected ", names_of(table));
}

/// The name of `value` in `table`.
template <class Enum, size_t N>
const char* name_of(const Named<Enum> (&table)[N], Enum value) {
  for (const auto& row : table) {
    if (row.value == value) return row.name;
  }
  RB_FAIL(kInternal, "a setting's value ", static_cast<int>(value), " has no name in its table");
}

}  // namespace repairbench
