#include "repairbench/io/py_value.h"

#include <gtest/gtest.h>

#include "repairbench/core/error.h"

namespace repairbench::io {
namespace {

TEST(PyValue, AccessorsCheckTheKind) {
  EXPECT_TRUE(PyValue().is_none());
  EXPECT_EQ(PyValue::from_int(-3).as_int(), -3);
  EXPECT_EQ(PyValue::from_int(2).as_float(), 2.0);
  EXPECT_EQ(PyValue::from_float(0.5).as_float(), 0.5);
  EXPECT_TRUE(PyValue::from_bool(true).as_bool());
  EXPECT_EQ(PyValue::from_bytes(std::string("\0x", 2)).as_bytes(), std::string("\0x", 2));
  EXPECT_EQ(PyValue::tuple({PyValue::none()}).as_tuple().size(), 1u);
  try {
    PyValue::from_string("7").as_int();
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCheckpoint);
    EXPECT_EQ(std::string(e.what()), "expected a Python int but found a str");
  }
  EXPECT_THROW(PyValue::list().as_tuple(), Error);
  EXPECT_THROW(PyValue::from_float(1.0).as_int(), Error);
  EXPECT_THROW(PyValue::none().find("k"), Error);
}

TEST(PyValue, DictsKeepInsertionOrderAndReplaceEqualKeys) {
  PyValue d = PyValue::ordered_dict({{PyValue::from_string("b"), PyValue::from_int(1)},
                                     {PyValue::from_string("a"), PyValue::from_int(2)},
                                     {PyValue::from_string("b"), PyValue::from_int(3)}});
  EXPECT_TRUE(d.is_ordered_dict());
  ASSERT_EQ(d.as_dict().size(), 2u);
  EXPECT_EQ(d.as_dict()[0].first.as_string(), "b");
  EXPECT_EQ(d.at("b").as_int(), 3);
  d.set(PyValue::from_string("a"), PyValue::from_int(4));
  d.set(PyValue::from_int(1), PyValue::none());
  d.set(PyValue::tuple({PyValue::from_int(1), PyValue::from_string("x")}), PyValue::none());
  d.set(PyValue::tuple({PyValue::from_int(1), PyValue::from_string("x")}), PyValue::from_int(5));
  ASSERT_EQ(d.as_dict().size(), 4u);
  EXPECT_EQ(d.as_dict()[1].second.as_int(), 4);
  EXPECT_EQ(d.as_dict()[3].second.as_int(), 5);
  EXPECT_EQ(d.find("missing"), nullptr);
  try {
    d.at("missing");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'missing'"), std::string::npos);
  }
  EXPECT_FALSE(PyValue::dict().is_ordered_dict());
  // Keys of different kinds or values stay apart; 0.0 and -0.0 are one key.
  const PyValue mixed = PyValue::dict({{PyValue::from_int(1), PyValue::none()},
                                       {PyValue::from_string("1"), PyValue::none()},
                                       {PyValue::from_float(0.0), PyValue::none()},
                                       {PyValue::from_float(-0.0), PyValue::none()},
                                       {PyValue::from_float(0.1), PyValue::none()},
                                       {PyValue::from_float(0.1000001), PyValue::none()}});
  EXPECT_EQ(mixed.as_dict().size(), 5u);
}

TEST(PyValue, BuildingALargeDictIsFast) {
  PyValue::Entries entries;
  for (int i = 0; i < 200000; ++i) {
    entries.emplace_back(PyValue::from_string("layer" + std::to_string(i)), PyValue::from_int(i));
  }
  const PyValue d = PyValue::dict(std::move(entries));
  EXPECT_EQ(d.as_dict().size(), 200000u);
}

}  // namespace
}  // namespace repairbench::io
