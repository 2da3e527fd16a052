#include "repairbench/io/torch_file.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>

#include "fixture_compare.h"
#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "temp_dir.h"
#include "torch_archive.h"

namespace repairbench::io {
namespace {

using repairbench::testing::archive_records;
using repairbench::testing::ArchiveRecord;
using repairbench::testing::make_archive;
using testing::as_written;
using testing::expect_identical;
using testing::expected_fixture;
using testing::fixture_path;

// The Error that reading `path` throws; fails the test when there is none.
Error error_reading(const std::string& path) {
  try {
    read_torch_file(path);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "reading " << path << " did not throw";
  return Error(ErrorKind::kInternal, "");
}

void expect_checkpoint_error(const Error& e, std::initializer_list<const char*> parts) {
  EXPECT_EQ(e.kind(), ErrorKind::kCheckpoint) << e.what();
  for (const char* part : parts)
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << "'" << part << "' not in: " << e.what();
}

class TorchFileFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(TorchFileFixture, MatchesWhatPythonSaved) {
  const PyValue value = read_torch_file(fixture_path(GetParam()));
  testing::expect_matches(value, expected_fixture(GetParam()), GetParam());
}

INSTANTIATE_TEST_SUITE_P(PythonFiles, TorchFileFixture,
                         ::testing::Values("state_dict.pt", "parameters.pt", "dtypes.pt", "views.pt", "nested.pt",
                                           "nested_protocol4.pt"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           return name.substr(0, name.find('.'));
                         });

TEST(TorchFile, StateDictIsAnOrderedDictOfTensors) {
  const PyValue sd = read_torch_file(fixture_path("state_dict.pt"));
  ASSERT_TRUE(sd.is_ordered_dict());
  std::vector<std::string> keys;
  for (const auto& [key, value] : sd.as_dict()) keys.push_back(key.as_string());
  EXPECT_EQ(keys, (std::vector<std::string>{"fc.weight", "fc.bias", "bn.weight", "bn.bias", "bn.running_mean",
                                            "bn.running_var", "bn.num_batches_tracked"}));
  EXPECT_EQ(sd.at("bn.num_batches_tracked").as_tensor().scalar_type(), torch::kInt64);
  EXPECT_EQ(sd.at("bn.num_batches_tracked").as_tensor().item<int64_t>(), 1);
}

TEST(TorchFile, ViewsOfOneStorageComeBackAsIndependentTensors) {
  const PyValue v = read_torch_file(fixture_path("views.pt"));
  const torch::Tensor base = v.at("base").as_tensor();
  EXPECT_TRUE(torch::equal(v.at("transposed").as_tensor(), base.t()));
  EXPECT_TRUE(torch::equal(v.at("strided").as_tensor(),
                           base.index({torch::indexing::Slice(1), torch::indexing::Slice(0, 4, 2)})));
  base.fill_(0);
  EXPECT_EQ(v.at("row").as_tensor()[0].item<float>(), 8.f);
}

TEST(TorchFile, RefusesOtherKindsOfFilesWithTheirRemedy) {
  expect_checkpoint_error(error_reading(fixture_path("whole_model.pt")),
                          {"whole_model.pt", "__main__.TinyNet", "model.state_dict()"});
  expect_checkpoint_error(error_reading(fixture_path("torchscript.pt")),
                          {"torchscript.pt", "TorchScript", "state_dict"});
  expect_checkpoint_error(error_reading(fixture_path("complex.pt")), {"complex.pt", "ComplexFloatStorage", "dtype"});
  expect_checkpoint_error(error_reading("/nonexistent/model.pt"), {"/nonexistent/model.pt", "does not exist"});

  repairbench::testing::TempDir dir;
  repairbench::testing::write_bytes(dir.file("empty.pt"), "");
  expect_checkpoint_error(error_reading(dir.file("empty.pt")), {"empty.pt", "empty"});
  repairbench::testing::write_bytes(dir.file("short.pt"), "PK\x03");
  expect_checkpoint_error(error_reading(dir.file("short.pt")), {"short.pt", "truncated"});
  repairbench::testing::write_bytes(dir.file("text.pt"), "hello, world\n");
  expect_checkpoint_error(error_reading(dir.file("text.pt")), {"text.pt", "not a zip"});
  const std::string good = read_file(fixture_path("state_dict.pt"));
  repairbench::testing::write_bytes(dir.file("cut.pt"), good.substr(0, good.size() / 2));
  expect_checkpoint_error(error_reading(dir.file("cut.pt")), {"cut.pt", "truncated"});
  repairbench::testing::write_bytes(dir.file("pickle.pt"), std::string("\x80\x02K\x01.", 5));
  expect_checkpoint_error(error_reading(dir.file("pickle.pt")),
                          {"pickle.pt", "magic number", "not a PyTorch checkpoint"});
  const std::string other = make_archive({{"readme.txt", "hi"}});
  repairbench::testing::write_bytes(dir.file("other.zip"), other);
  expect_checkpoint_error(error_reading(dir.file("other.zip")), {"other.zip", "no data.pkl"});
  // The same without its version record (renamed in both of its headers).
  std::string unversioned = other;
  for (size_t at = 0; (at = unversioned.find("archive/version", at)) != std::string::npos;) {
    unversioned[at + 14] = 'X';
  }
  repairbench::testing::write_bytes(dir.file("unversioned.zip"), unversioned);
  expect_checkpoint_error(error_reading(dir.file("unversioned.zip")), {"unversioned.zip", "no version record"});
}

// PyTorch < 1.6 wrote this format, and later versions with
// _use_new_zipfile_serialization=False; legacy.pt is state_dict.pt's state so saved.
TEST(TorchFile, ReadsTheLegacyFormat) {
  const PyValue sd = read_torch_file(fixture_path("legacy.pt"));
  testing::expect_matches(sd, expected_fixture("state_dict.pt"), "legacy");
  EXPECT_TRUE(sd.is_ordered_dict());
}

// LibTorch's reader inflates deflated records, which torch.save never writes
// but a re-zipped file has; our own reader refused them.
TEST(TorchFile, ReadsCompressedRecords) {
  const std::string good = read_file(fixture_path("state_dict.pt"));
  testing::expect_matches(read_torch_bytes(make_archive(archive_records(good), true), "z.pt"),
                          expected_fixture("state_dict.pt"), "compressed");
}

// The records of a torch.save archive, with `extra` added, as a new archive.
std::string with_record(const std::string& archive, const std::string& name, const std::string& data) {
  std::vector<ArchiveRecord> records = archive_records(archive);
  records.emplace_back(name, data);
  return make_archive(records);
}

TEST(TorchFile, ChecksTheByteOrderRecord) {
  const std::string good = read_file(fixture_path("state_dict.pt"));
  EXPECT_NO_THROW(read_torch_bytes(with_record(good, "byteorder", "little"), "le.pt"));
  try {
    read_torch_bytes(with_record(good, "byteorder", "big"), "be.pt");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    expect_checkpoint_error(e, {"be.pt", "big-endian"});
  }
  EXPECT_THROW(read_torch_bytes(with_record(good, "byteorder", "middle"), "m.pt"), Error);
}

TEST(TorchFile, FindsDataPklWhateverTheTopFolderIsCalled) {
  // Python's file has the top folder "state_dict"; make_archive writes "archive".
  const std::string good = read_file(fixture_path("state_dict.pt"));
  std::vector<ArchiveRecord> records = archive_records(good);
  testing::expect_matches(read_torch_bytes(make_archive(records), "renamed.pt"), expected_fixture("state_dict.pt"),
                          "renamed");
  ASSERT_EQ(records[1].first, "data/0");
  records.erase(records.begin() + 1);
  try {
    read_torch_bytes(make_archive(records), "missing.pt");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    expect_checkpoint_error(e, {"missing.pt", "storage '0'", "no record data/0"});
  }
}

PyValue sample_value() {
  PyValue nested = PyValue::dict();
  nested.set(PyValue::from_string("name"), PyValue::from_string("Gr\xc3\xb6\xc3\x9f"
                                                                "e"));
  nested.set(PyValue::from_string("epoch"), PyValue::from_int(3));
  nested.set(PyValue::from_string("lr"), PyValue::from_float(0.1));
  nested.set(PyValue::from_string("big"), PyValue::from_int(int64_t{1} << 40));
  nested.set(PyValue::from_string("list"),
             PyValue::list({PyValue::from_int(1), PyValue::none(), PyValue::from_bool(true)}));
  nested.set(PyValue::from_string("tuple"),
             PyValue::tuple({PyValue::from_int(1), PyValue::from_int(2), PyValue::from_int(3), PyValue::from_int(4),
                             PyValue::from_int(5)}));
  nested.set(PyValue::from_string("empty"), PyValue::dict({{PyValue::from_string("l"), PyValue::list()},
                                                           {PyValue::from_string("t"), PyValue::tuple()},
                                                           {PyValue::from_string("d"), PyValue::dict()}}));
  nested.set(PyValue::from_int(7), PyValue::from_float(-0.5));
  PyValue sd = PyValue::ordered_dict();
  const auto add = [&sd](const char* key, torch::Tensor t) {
    sd.set(PyValue::from_string(key), PyValue::from_tensor(std::move(t)));
  };
  add("w", torch::arange(6, torch::kFloat32).reshape({2, 3}));
  add("t", torch::arange(6, torch::kFloat32).reshape({2, 3}).t());
  add("h", torch::tensor({0.5, -1.0}).to(torch::kFloat16));
  add("bf", torch::tensor({0.5, 3.0}).to(torch::kBFloat16));
  add("d", torch::tensor({0.1, -2.5}, torch::kFloat64));
  add("i64", torch::tensor({-(int64_t{1} << 40), int64_t{5}}, torch::kInt64));
  add("i32", torch::tensor({-7, 8}, torch::kInt32));
  add("i16", torch::tensor({-300, 300}, torch::kInt16));
  add("i8", torch::tensor({-128, 127}, torch::kInt8));
  add("u8", torch::tensor({0, 255}, torch::kUInt8));
  add("b", torch::tensor({true, false}));
  add("scalar", torch::tensor(2.5));
  add("empty", torch::zeros({0, 3}));
  add("grad", torch::ones({2}, torch::requires_grad()));
  sd.set(PyValue::from_string("nested"), nested);
  return sd;
}

TEST(TorchFile, RoundTripsThroughCpp) {
  repairbench::testing::TempDir dir;
  const std::string path = dir.file("sub/run-1.final.pt");
  const PyValue value = sample_value();
  write_torch_file(path, value);
  expect_identical(read_torch_file(path), as_written(value), "value");

  const std::string bytes = read_file(path);
  EXPECT_EQ(bytes.find("archive/data.pkl"), bytes.find("archive/"));  // the first record
  const std::vector<ArchiveRecord> records = archive_records(bytes);
  const auto record = [&](const std::string& name) {
    for (const auto& [n, data] : records) {
      if (n == name) return data;
    }
    ADD_FAILURE() << "no record " << name;
    return std::string();
  };
  ASSERT_GE(records.size(), 3u);
  EXPECT_EQ(records.front().first, "data.pkl");
  EXPECT_EQ(record("version"), "3\n");
  EXPECT_EQ(record("byteorder"), "little");
  // The transposed tensor and the one that required grad are written compact.
  EXPECT_EQ(record("data/1").size(), 6 * sizeof(float));
  EXPECT_EQ(record("data/13").size(), 2 * sizeof(float));

  // Python's file survives a C++ read-write-read unchanged, but for its bytes
  // values, which this writer refuses (see WriterRefusesWhatItCannotExpress).
  PyValue python = read_torch_file(fixture_path("nested_protocol4.pt"));
  PyValue::Entries entries;
  for (const auto& [key, item] : python.as_dict()) {
    if (item.kind() != PyValue::Kind::kBytes) entries.emplace_back(key, item);
  }
  python = PyValue::dict(std::move(entries));
  write_torch_file(path, python);
  expect_identical(read_torch_file(path), as_written(python), "nested_protocol4");
}

TEST(TorchFile, WritesScalarsAndContainersExactly) {
  PyValue::Items ints;
  for (int64_t i : {int64_t{0}, int64_t{255}, int64_t{256}, int64_t{65535}, int64_t{65536}, int64_t{-1}, int64_t{-128},
                    int64_t{-129}, int64_t{2147483647}, int64_t{2147483648}, int64_t{-2147483648}, int64_t{-2147483649},
                    int64_t{1} << 40, -(int64_t{1} << 40), int64_t{0x7FFF} << 48, std::numeric_limits<int64_t>::max(),
                    std::numeric_limits<int64_t>::min()}) {
    ints.push_back(PyValue::from_int(i));
  }
  PyValue value = PyValue::dict();
  value.set(PyValue::from_string("ints"), PyValue::list(ints));
  value.set(PyValue::from_string("floats"),
            PyValue::tuple({PyValue::from_float(0.1), PyValue::from_float(-0.0),
                            PyValue::from_float(std::numeric_limits<double>::infinity()),
                            PyValue::from_float(std::nan("")), PyValue::from_float(1e-310)}));
  value.set(PyValue::from_string("Gr\xc3\xb6\xc3\x9f"
                                 "e"),
            PyValue::none());
  value.set(PyValue::from_int(3), PyValue::from_bool(true));
  value.set(PyValue::from_float(2.5), PyValue::tuple({PyValue::from_bool(false)}));
  value.set(PyValue::from_bool(false), PyValue::from_string("a"));
  value.set(PyValue::from_string("empty"), PyValue::dict({{PyValue::from_string("l"), PyValue::list()},
                                                          {PyValue::from_string("t"), PyValue::tuple()},
                                                          {PyValue::from_string("d"), PyValue::dict()}}));
  value.set(PyValue::from_string("tensors"),
            PyValue::list({PyValue::from_tensor(torch::arange(6.0).reshape({2, 3}).t()),
                           PyValue::from_tensor(torch::tensor(7, torch::kInt64)),
                           PyValue::from_tensor(torch::zeros({0, 2}, torch::kBFloat16))}));
  expect_identical(read_torch_bytes(torch_file_bytes(value), "scalars.pt"), value, "value");
}

TEST(TorchFile, WriterRefusesWhatItCannotExpress) {
  const auto refusal = [](const PyValue& value) -> std::string {
    try {
      torch_file_bytes(value);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "expected an Error";
    return "";
  };
  EXPECT_NE(refusal(PyValue::list({PyValue::from_string("bad \xff utf-8")})).find("UTF-8"), std::string::npos);
  EXPECT_NE(refusal(PyValue::from_tensor(torch::zeros({2}, torch::kComplexFloat))).find("ComplexFloat"),
            std::string::npos);
  EXPECT_NE(refusal(PyValue::list({PyValue::from_bytes("x")})).find("bytes"), std::string::npos);
  const PyValue tuple_key = PyValue::dict({{PyValue::tuple({PyValue::from_int(1)}), PyValue::none()}});
  EXPECT_NE(refusal(tuple_key).find("key of type tuple"), std::string::npos);
  const PyValue none_key = PyValue::dict({{PyValue::none(), PyValue::none()}});
  EXPECT_NE(refusal(none_key).find("key of type None"), std::string::npos);
}

// Python code that loads the file of sample_value() and checks every value.
constexpr const char* kPythonCheck = R"(
import sys, torch
v = torch.load(sys.argv[1])
# LibTorch's Pickler writes an OrderedDict as a dict (see torch_file.cpp), which
# load_state_dict takes as well.
assert type(v) is dict, type(v)
assert list(v) == ['w', 't', 'h', 'bf', 'd', 'i64', 'i32', 'i16', 'i8', 'u8', 'b', 'scalar',
                   'empty', 'grad', 'nested'], list(v)
def same(key, expected):
    t = v[key]
    assert t.dtype == expected.dtype and t.shape == expected.shape, (key, t, expected)
    assert torch.equal(t, expected), (key, t, expected)
    assert not t.requires_grad, key
same('w', torch.arange(6, dtype=torch.float32).reshape(2, 3))
same('t', torch.arange(6, dtype=torch.float32).reshape(2, 3).t())
same('h', torch.tensor([0.5, -1.0], dtype=torch.float16))
same('bf', torch.tensor([0.5, 3.0], dtype=torch.bfloat16))
same('d', torch.tensor([0.1, -2.5], dtype=torch.float64))
same('i64', torch.tensor([-(2**40), 5], dtype=torch.int64))
same('i32', torch.tensor([-7, 8], dtype=torch.int32))
same('i16', torch.tensor([-300, 300], dtype=torch.int16))
same('i8', torch.tensor([-128, 127], dtype=torch.int8))
same('u8', torch.tensor([0, 255], dtype=torch.uint8))
same('b', torch.tensor([True, False]))
same('scalar', torch.tensor(2.5))
same('empty', torch.zeros(0, 3))
same('grad', torch.ones(2))
n = v['nested']
assert type(n) is dict, type(n)
expected = {'name': 'Gr\u00f6\u00dfe', 'epoch': 3, 'lr': 0.1, 'big': 2**40, 'list': [1, None, True],
            'tuple': (1, 2, 3, 4, 5), 'empty': {'l': [], 't': (), 'd': {}}, 7: -0.5}
assert n == expected, n
assert list(n) == list(expected), list(n)
print('python check passed')
)";

TEST(TorchFilePython, PythonTorchLoadReadsWhatCppWrites) {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
    const char* allow = std::getenv("REPAIRBENCH_ALLOW_NO_PYTHON");
    if (allow != nullptr && std::string(allow) == "1") {
      GTEST_SKIP() << "/usr/bin/python3 cannot import torch (REPAIRBENCH_ALLOW_NO_PYTHON=1)";
    }
    FAIL() << "/usr/bin/python3 cannot import torch, which this test needs; run scripts/setup.sh "
              "(or set REPAIRBENCH_ALLOW_NO_PYTHON=1 to skip this test)";
  }
  repairbench::testing::TempDir dir;
  write_torch_file(dir.file("cpp.pt"), sample_value());
  repairbench::testing::write_bytes(dir.file("check.py"), kPythonCheck);
  const std::string log = dir.file("log.txt");
  const int status = std::system(
      ("/usr/bin/python3 " + dir.file("check.py") + " " + dir.file("cpp.pt") + " >" + log + " 2>&1").c_str());
  EXPECT_EQ(status, 0) << read_file(log);
  EXPECT_NE(read_file(log).find("python check passed"), std::string::npos) << read_file(log);
}

}  // namespace
}  // namespace repairbench::io
