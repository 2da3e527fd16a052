#include "repairbench/io/torch_file.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "fixture_compare.h"
#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "repairbench/io/zip_archive.h"
#include "temp_dir.h"

namespace repairbench::io {
namespace {

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
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
        << "'" << part << "' not in: " << e.what();
}

class TorchFileFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(TorchFileFixture, MatchesWhatPythonSaved) {
  const PyValue value = read_torch_file(fixture_path(GetParam()));
  testing::expect_matches(value, expected_fixture(GetParam()), GetParam());
}

INSTANTIATE_TEST_SUITE_P(PythonFiles, TorchFileFixture,
                         ::testing::Values("state_dict.pt", "parameters.pt", "dtypes.pt",
                                           "views.pt", "nested.pt", "nested_protocol4.pt"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           return name.substr(0, name.find('.'));
                         });

TEST(TorchFile, StateDictIsAnOrderedDictOfTensors) {
  const PyValue sd = read_torch_file(fixture_path("state_dict.pt"));
  ASSERT_TRUE(sd.is_ordered_dict());
  std::vector<std::string> keys;
  for (const auto& [key, value] : sd.as_dict()) keys.push_back(key.as_string());
  EXPECT_EQ(keys, (std::vector<std::string>{"fc.weight", "fc.bias", "bn.weight", "bn.bias",
                                            "bn.running_mean", "bn.running_var",
                                            "bn.num_batches_tracked"}));
  EXPECT_EQ(sd.at("bn.num_batches_tracked").as_tensor().scalar_type(), torch::kInt64);
  EXPECT_EQ(sd.at("bn.num_batches_tracked").as_tensor().item<int64_t>(), 1);
}

TEST(TorchFile, ViewsOfOneStorageComeBackAsIndependentTensors) {
  const PyValue v = read_torch_file(fixture_path("views.pt"));
  const torch::Tensor base = v.at("base").as_tensor();
  EXPECT_TRUE(torch::equal(v.at("transposed").as_tensor(), base.t()));
  EXPECT_TRUE(
      torch::equal(v.at("strided").as_tensor(),
                   base.index({torch::indexing::Slice(1), torch::indexing::Slice(0, 4, 2)})));
  base.fill_(0);
  EXPECT_EQ(v.at("row").as_tensor()[0].item<float>(), 8.f);
}

TEST(TorchFile, RefusesOtherKindsOfFilesWithTheirRemedy) {
  expect_checkpoint_error(error_reading(fixture_path("whole_model.pt")),
                          {"whole_model.pt", "__main__.TinyNet", "model.state_dict()"});
  expect_checkpoint_error(error_reading(fixture_path("legacy.pt")),
                          {"legacy.pt", "legacy", "PyTorch >= 1.6"});
  expect_checkpoint_error(error_reading(fixture_path("torchscript.pt")),
                          {"torchscript.pt", "TorchScript", "state_dict"});
  expect_checkpoint_error(error_reading(fixture_path("complex.pt")),
                          {"complex.pt", "ComplexFloatStorage", "dtype"});
  expect_checkpoint_error(error_reading("/nonexistent/model.pt"),
                          {"/nonexistent/model.pt", "does not exist"});

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
  repairbench::testing::write_bytes(dir.file("other.zip"), write_zip({{"x/readme.txt", "hi"}}));
  expect_checkpoint_error(error_reading(dir.file("other.zip")), {"other.zip", "no data.pkl"});
}

// The records of a torch.save archive, with `extra` added, as a new archive.
std::string with_record(const std::string& archive, const std::string& name,
                        const std::string& data) {
  const ZipReader reader(archive, "in");
  std::vector<std::pair<std::string, std::string_view>> records;
  for (const ZipEntry& entry : reader.entries())
    records.emplace_back(entry.name, reader.read(entry));
  records.emplace_back(name, data);
  return write_zip(records);
}

TEST(TorchFile, ChecksTheByteOrderRecord) {
  const std::string good = read_file(fixture_path("state_dict.pt"));
  EXPECT_NO_THROW(read_torch_bytes(with_record(good, "state_dict/byteorder", "little"), "le.pt"));
  try {
    read_torch_bytes(with_record(good, "state_dict/byteorder", "big"), "be.pt");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    expect_checkpoint_error(e, {"be.pt", "big-endian"});
  }
  EXPECT_THROW(read_torch_bytes(with_record(good, "state_dict/byteorder", "middle"), "m.pt"),
               Error);
}

TEST(TorchFile, FindsDataPklWhateverTheTopFolderIsCalled) {
  const std::string good = read_file(fixture_path("state_dict.pt"));
  const ZipReader reader(good, "in");
  std::vector<std::pair<std::string, std::string_view>> records;
  for (const ZipEntry& entry : reader.entries()) {
    records.emplace_back("renamed" + entry.name.substr(entry.name.find('/')), reader.read(entry));
  }
  testing::expect_matches(read_torch_bytes(write_zip(records), "renamed.pt"),
                          expected_fixture("state_dict.pt"), "renamed");
  records.pop_back();
  records.erase(records.begin() + 1);  // the first storage
  EXPECT_THROW(read_torch_bytes(write_zip(records), "missing.pt"), Error);
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
             PyValue::tuple({PyValue::from_int(1), PyValue::from_int(2), PyValue::from_int(3),
                             PyValue::from_int(4), PyValue::from_int(5)}));
  nested.set(PyValue::from_string("bytes"), PyValue::from_bytes(std::string("\x00\xff", 2)));
  nested.set(PyValue::from_string("empty_bytes"), PyValue::from_bytes(""));
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
  expect_identical(read_torch_file(path), value, "value");

  const std::string bytes = read_file(path);
  const ZipReader reader(bytes, path);
  std::vector<std::string> names;
  for (const ZipEntry& entry : reader.entries()) names.push_back(entry.name);
  ASSERT_GE(names.size(), 3u);
  EXPECT_EQ(names.front(), "run-1.final/data.pkl");
  EXPECT_EQ(reader.read(*reader.find("run-1.final/version")), "3\n");
  EXPECT_EQ(reader.read(*reader.find("run-1.final/byteorder")), "little");
  EXPECT_NE(reader.find("run-1.final/data/13"), nullptr);

  // Python's file survives a C++ read-write-read unchanged.
  const PyValue python = read_torch_file(fixture_path("nested_protocol4.pt"));
  write_torch_file(path, python);
  expect_identical(read_torch_file(path), python, "nested_protocol4");
}

// Python code that loads the file of sample_value() and checks every value.
constexpr const char* kPythonCheck = R"(
import collections, sys, torch
v = torch.load(sys.argv[1])
assert type(v) is collections.OrderedDict, type(v)
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
            'tuple': (1, 2, 3, 4, 5), 'bytes': b'\x00\xff', 'empty_bytes': b''}
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
      ("/usr/bin/python3 " + dir.file("check.py") + " " + dir.file("cpp.pt") + " >" + log + " 2>&1")
          .c_str());
  EXPECT_EQ(status, 0) << read_file(log);
  EXPECT_NE(read_file(log).find("python check passed"), std::string::npos) << read_file(log);
}

}  // namespace
}  // namespace repairbench::io
