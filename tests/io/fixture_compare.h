#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "repairbench/io/py_value.h"

namespace repairbench::io::testing {

/// Path of a file in tests/fixtures/pytorch (made by tools/make_pytorch_fixtures.py).
std::string fixture_path(const std::string& name);

/// The description of fixture `name` in tests/fixtures/pytorch/expected.json.
nlohmann::json expected_fixture(const std::string& name);

/// The Python name of a dtype ("float32", "bfloat16", ...), as expected.json spells it.
std::string python_dtype_name(torch::ScalarType dtype);

/// Adds a GoogleTest failure, naming the path inside the value (`where`), for
/// every difference between `actual` and the JSON description `expected`
/// (format: see describe() in tools/make_pytorch_fixtures.py). Numbers must
/// match exactly.
void expect_matches(const PyValue& actual, const nlohmann::json& expected, const std::string& where);

/// Adds a GoogleTest failure for every difference between two values: same
/// structure, kinds, dict order and OrderedDict-ness, dtypes, shapes and bits.
void expect_identical(const PyValue& a, const PyValue& b, const std::string& where);

/// What reading back the file of `value` that write_torch_file() wrote gives:
/// `value` with every OrderedDict a plain dict, since LibTorch's Pickler
/// writes plain dicts (see torch_file.cpp).
PyValue as_written(const PyValue& value);

}  // namespace repairbench::io::testing
