#include "fixture_compare.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

namespace repairbench::io::testing {

std::string fixture_path(const std::string& name) {
  return std::string(REPAIRBENCH_SOURCE_DIR) + "/tests/fixtures/pytorch/" + name;
}

nlohmann::json expected_fixture(const std::string& name) {
  std::ifstream in(fixture_path("expected.json"));
  if (!in) throw std::runtime_error("cannot open " + fixture_path("expected.json"));
  const nlohmann::json all = nlohmann::json::parse(in);
  if (!all.contains(name)) throw std::runtime_error("expected.json has no entry " + name);
  return all.at(name);
}

std::string python_dtype_name(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat32:
      return "float32";
    case torch::kFloat64:
      return "float64";
    case torch::kFloat16:
      return "float16";
    case torch::kBFloat16:
      return "bfloat16";
    case torch::kInt64:
      return "int64";
    case torch::kInt32:
      return "int32";
    case torch::kInt16:
      return "int16";
    case torch::kInt8:
      return "int8";
    case torch::kUInt8:
      return "uint8";
    case torch::kBool:
      return "bool";
    default:
      return c10::toString(dtype);
  }
}

namespace {

void expect_items(const PyValue::Items& actual, const nlohmann::json& expected, const std::string& where) {
  ASSERT_EQ(actual.size(), expected.size()) << where;
  for (size_t i = 0; i < actual.size(); ++i) {
    expect_matches(actual[i], expected[i], where + "[" + std::to_string(i) + "]");
  }
}

void expect_tensor(const torch::Tensor& actual, const nlohmann::json& expected, const std::string& where) {
  EXPECT_EQ(python_dtype_name(actual.scalar_type()), expected.at("dtype").get<std::string>()) << where;
  EXPECT_EQ(actual.sizes().vec(), expected.at("shape").get<std::vector<int64_t>>()) << where;
  EXPECT_TRUE(actual.is_contiguous()) << where;
  EXPECT_EQ(actual.device(), torch::Device(torch::kCPU)) << where;
  const nlohmann::json& values = expected.at("values");
  ASSERT_EQ(actual.numel(), static_cast<int64_t>(values.size())) << where;
  const torch::Tensor flat = actual.reshape({-1});
  if (actual.is_floating_point()) {
    const torch::Tensor as_double = flat.to(torch::kFloat64);
    for (int64_t i = 0; i < flat.numel(); ++i) {
      EXPECT_EQ(as_double[i].item<double>(), values[static_cast<size_t>(i)].get<double>()) << where << " element " << i;
    }
  } else {
    const torch::Tensor as_long = flat.to(torch::kInt64);
    for (int64_t i = 0; i < flat.numel(); ++i) {
      EXPECT_EQ(as_long[i].item<int64_t>(), values[static_cast<size_t>(i)].get<int64_t>()) << where << " element " << i;
    }
  }
}

}  // namespace

void expect_matches(const PyValue& actual, const nlohmann::json& expected, const std::string& where) {
  using Kind = PyValue::Kind;
  ASSERT_TRUE(expected.is_object()) << where;
  if (expected.contains("tensor")) {
    ASSERT_EQ(actual.kind(), Kind::kTensor) << where;
    expect_tensor(actual.as_tensor(), expected.at("tensor"), where);
  } else if (expected.contains("dict")) {
    ASSERT_EQ(actual.kind(), Kind::kDict) << where;
    EXPECT_EQ(actual.is_ordered_dict(), expected.at("ordered").get<bool>()) << where;
    const nlohmann::json& entries = expected.at("dict");
    ASSERT_EQ(actual.as_dict().size(), entries.size()) << where;
    for (size_t i = 0; i < entries.size(); ++i) {
      const auto& [key, value] = actual.as_dict()[i];
      expect_matches(key, entries[i][0], where + " key " + std::to_string(i));
      const std::string label = key.kind() == Kind::kString ? key.as_string() : "#" + std::to_string(i);
      expect_matches(value, entries[i][1], where + "." + label);
    }
  } else if (expected.contains("list")) {
    ASSERT_EQ(actual.kind(), Kind::kList) << where;
    expect_items(actual.as_list(), expected.at("list"), where);
  } else if (expected.contains("tuple")) {
    ASSERT_EQ(actual.kind(), Kind::kTuple) << where;
    expect_items(actual.as_tuple(), expected.at("tuple"), where);
  } else if (expected.contains("bool")) {
    ASSERT_EQ(actual.kind(), Kind::kBool) << where;
    EXPECT_EQ(actual.as_bool(), expected.at("bool").get<bool>()) << where;
  } else if (expected.contains("int")) {
    ASSERT_EQ(actual.kind(), Kind::kInt) << where;
    EXPECT_EQ(actual.as_int(), expected.at("int").get<int64_t>()) << where;
  } else if (expected.contains("float")) {
    ASSERT_EQ(actual.kind(), Kind::kFloat) << where;
    EXPECT_EQ(actual.as_float(), expected.at("float").get<double>()) << where;
  } else if (expected.contains("str")) {
    ASSERT_EQ(actual.kind(), Kind::kString) << where;
    EXPECT_EQ(actual.as_string(), expected.at("str").get<std::string>()) << where;
  } else if (expected.contains("bytes")) {
    ASSERT_EQ(actual.kind(), Kind::kBytes) << where;
    std::string bytes;
    for (const auto& b : expected.at("bytes")) bytes.push_back(static_cast<char>(b.get<int>()));
    EXPECT_EQ(actual.as_bytes(), bytes) << where;
  } else if (expected.contains("none")) {
    EXPECT_EQ(actual.kind(), Kind::kNone) << where;
  } else {
    FAIL() << where << ": unknown description " << expected.dump();
  }
}

void expect_identical(const PyValue& a, const PyValue& b, const std::string& where) {
  using Kind = PyValue::Kind;
  ASSERT_EQ(a.kind(), b.kind()) << where;
  switch (a.kind()) {
    case Kind::kNone:
      return;
    case Kind::kBool:
      EXPECT_EQ(a.as_bool(), b.as_bool()) << where;
      return;
    case Kind::kInt:
      EXPECT_EQ(a.as_int(), b.as_int()) << where;
      return;
    case Kind::kFloat: {
      const double x = a.as_float();
      const double y = b.as_float();
      EXPECT_EQ(std::memcmp(&x, &y, sizeof x), 0) << where << ": " << x << " vs " << y;
      return;
    }
    case Kind::kString:
      EXPECT_EQ(a.as_string(), b.as_string()) << where;
      return;
    case Kind::kBytes:
      EXPECT_EQ(a.as_bytes(), b.as_bytes()) << where;
      return;
    case Kind::kTensor: {
      const torch::Tensor x = a.as_tensor().contiguous();
      const torch::Tensor y = b.as_tensor().contiguous();
      ASSERT_EQ(x.scalar_type(), y.scalar_type()) << where;
      ASSERT_EQ(x.sizes(), y.sizes()) << where;
      // Empty tensors may have no data pointer at all.
      if (x.nbytes() > 0) {
        EXPECT_EQ(std::memcmp(x.data_ptr(), y.data_ptr(), x.nbytes()), 0) << where;
      }
      return;
    }
    case Kind::kList:
    case Kind::kTuple: {
      const auto& x = a.kind() == Kind::kList ? a.as_list() : a.as_tuple();
      const auto& y = b.kind() == Kind::kList ? b.as_list() : b.as_tuple();
      ASSERT_EQ(x.size(), y.size()) << where;
      for (size_t i = 0; i < x.size(); ++i) {
        expect_identical(x[i], y[i], where + "[" + std::to_string(i) + "]");
      }
      return;
    }
    case Kind::kDict: {
      EXPECT_EQ(a.is_ordered_dict(), b.is_ordered_dict()) << where;
      ASSERT_EQ(a.as_dict().size(), b.as_dict().size()) << where;
      for (size_t i = 0; i < a.as_dict().size(); ++i) {
        const std::string at = where + " entry " + std::to_string(i);
        expect_identical(a.as_dict()[i].first, b.as_dict()[i].first, at + " key");
        expect_identical(a.as_dict()[i].second, b.as_dict()[i].second, at + " value");
      }
      return;
    }
  }
}

PyValue as_written(const PyValue& value) {
  switch (value.kind()) {
    case PyValue::Kind::kList:
    case PyValue::Kind::kTuple: {
      const bool list = value.kind() == PyValue::Kind::kList;
      PyValue::Items items;
      for (const PyValue& item : list ? value.as_list() : value.as_tuple()) {
        items.push_back(as_written(item));
      }
      return list ? PyValue::list(std::move(items)) : PyValue::tuple(std::move(items));
    }
    case PyValue::Kind::kDict: {
      PyValue::Entries entries;
      for (const auto& [key, item] : value.as_dict()) entries.emplace_back(key, as_written(item));
      return PyValue::dict(std::move(entries));
    }
    default:
      return value;
  }
}

}  // namespace repairbench::io::testing
