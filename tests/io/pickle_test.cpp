#include "repairbench/io/pickle.h"

#include <gtest/gtest.h>

#include <map>

#include "fixture_compare.h"
#include "pickle_builder.h"
#include "repairbench/core/error.h"

namespace repairbench::io {
namespace {

using testing::PickleBuilder;

// Runs a pickle whose storages are the given records.
PyValue run(const std::string& program, const std::map<std::string, std::string>& records = {}) {
  const StorageResolver resolve = [&](const StorageRef& ref) -> std::string_view {
    const auto it = records.find(ref.key);
    if (it == records.end()) throw std::runtime_error("test pickle asked for storage " + ref.key);
    return it->second;
  };
  return unpickle(program, resolve, "test.pt");
}

// The message of the repairbench::Error that `program` throws ("" if none).
std::string error_of(const std::string& program, const std::map<std::string, std::string>& records = {}) {
  try {
    run(program, records);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCheckpoint) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected an Error";
  return "";
}

std::string floats(std::initializer_list<float> values) {
  std::string out;
  for (float v : values) out.append(reinterpret_cast<const char*>(&v), sizeof v);
  return out;
}

TEST(Pickle, ReadsScalarsContainersAndMemo) {
  // {'a': L, 'b': L} with L memoized and appended to afterwards: both see it.
  PickleBuilder p;
  p.proto().op('}').op('(').str("a").op(']').op('q').op(0).str("b").op('h').op(0).op('u');
  p.op('h').op(0).op('K').op(7).op('a').op('0');
  const PyValue v = run(p.stop());
  ASSERT_EQ(v.as_dict().size(), 2u);
  EXPECT_FALSE(v.is_ordered_dict());
  ASSERT_EQ(v.at("a").as_list().size(), 1u);
  EXPECT_EQ(v.at("b").as_list()[0].as_int(), 7);
}

TEST(Pickle, LaterDuplicateKeysReplaceEarlierOnes) {
  PickleBuilder p;
  p.proto().op('}').op('(').str("k").i32(1).str("j").i32(2).str("k").i32(3).op('u');
  const PyValue v = run(p.stop());
  ASSERT_EQ(v.as_dict().size(), 2u);
  EXPECT_EQ(v.as_dict()[0].first.as_string(), "k");
  EXPECT_EQ(v.as_dict()[0].second.as_int(), 3);
}

TEST(Pickle, RebuildsViewsOfOneStorageAsSeparateContiguousTensors) {
  const std::map<std::string, std::string> records = {{"0", floats({0, 1, 2, 3, 4, 5})}};
  PickleBuilder p;
  p.proto().op(']').op('(');
  p.tensor("FloatStorage", "0", 6, 0, {2, 3}, {3, 1});
  p.tensor("FloatStorage", "0", 6, 0, {3, 2}, {1, 3});  // the transpose
  p.tensor("FloatStorage", "0", 6, 4, {2}, {1});        // offset view
  p.tensor("FloatStorage", "0", 6, 1, {2, 2}, {0, 2});  // stride 0
  p.op('e');
  const PyValue v = run(p.stop(), records);
  const auto& t = v.as_list();
  ASSERT_EQ(t.size(), 4u);
  const torch::Tensor base = torch::arange(6, torch::kFloat32).reshape({2, 3});
  EXPECT_TRUE(torch::equal(t[0].as_tensor(), base));
  EXPECT_TRUE(torch::equal(t[1].as_tensor(), base.t()));
  EXPECT_TRUE(t[1].as_tensor().is_contiguous());
  EXPECT_TRUE(torch::equal(t[2].as_tensor(), torch::tensor({4.f, 5.f})));
  EXPECT_TRUE(torch::equal(t[3].as_tensor(), torch::tensor({{1.f, 3.f}, {1.f, 3.f}})));
  // Each tensor owns its memory.
  t[0].as_tensor().fill_(-1);
  EXPECT_EQ(t[1].as_tensor()[0][1].item<float>(), 3.f);
}

TEST(Pickle, RefusesViewsOutsideTheStorage) {
  const std::map<std::string, std::string> records = {{"0", floats({0, 1, 2, 3})}};
  const auto view = [&](int32_t offset, std::initializer_list<int32_t> sizes, std::initializer_list<int32_t> strides) {
    PickleBuilder p;
    p.proto().tensor("FloatStorage", "0", 4, offset, sizes, strides);
    return error_of(p.stop(), records);
  };
  EXPECT_NE(view(0, {5}, {1}).find("reaches element 4"), std::string::npos);
  EXPECT_NE(view(2, {2, 2}, {1, 1}).find("reaches element 4"), std::string::npos);
  EXPECT_NE(view(5, {0}, {1}).find("starts at element 5"), std::string::npos);
  EXPECT_NE(view(-1, {1}, {1}).find("starts at element"), std::string::npos);
  EXPECT_NE(view(0, {2}, {-1}).find("negative"), std::string::npos);
  EXPECT_NE(view(0, {2, 2}, {1}).find("2 sizes but 1 strides"), std::string::npos);
  // Shapes that would allocate terabytes or overflow are refused before any allocation.
  EXPECT_NE(view(0, {1 << 30, 1 << 30, 1 << 30}, {0, 0, 0}).find("overflows"), std::string::npos);
  EXPECT_NE(view(0, {1 << 20, 1 << 20}, {0, 0}).find("more memory"), std::string::npos);
  // A storage claiming more elements than its record holds.
  PickleBuilder p;
  p.proto().tensor("FloatStorage", "0", 1 << 30, 0, {1}, {1});
  EXPECT_NE(error_of(p.stop(), records).find("should hold 1073741824 elements"), std::string::npos);
}

TEST(Pickle, ReadsEveryStorageType) {
  const std::vector<std::pair<std::string, torch::ScalarType>> types = {
      {"FloatStorage", torch::kFloat32},     {"DoubleStorage", torch::kFloat64}, {"HalfStorage", torch::kFloat16},
      {"BFloat16Storage", torch::kBFloat16}, {"LongStorage", torch::kInt64},     {"IntStorage", torch::kInt32},
      {"ShortStorage", torch::kInt16},       {"CharStorage", torch::kInt8},      {"ByteStorage", torch::kUInt8},
      {"BoolStorage", torch::kBool}};
  for (const auto& [name, dtype] : types) {
    EXPECT_EQ(storage_dtype(name), dtype);
    EXPECT_EQ(storage_class_name(dtype), name);
    const torch::Tensor expected = torch::tensor({1, 0, 1}).to(dtype);
    std::string bytes(static_cast<const char*>(expected.data_ptr()), expected.nbytes());
    PickleBuilder p;
    p.proto().tensor(name, "k", 3, 0, {3}, {1});
    const PyValue v = run(p.stop(), {{"k", bytes}});
    EXPECT_EQ(v.as_tensor().scalar_type(), dtype) << name;
    EXPECT_TRUE(torch::equal(v.as_tensor(), expected)) << name;
  }
  EXPECT_FALSE(storage_dtype("ComplexFloatStorage").has_value());
  EXPECT_THROW(storage_class_name(torch::kComplexFloat), Error);
}

TEST(Pickle, RefusesBoolStoragesWithBytesOtherThanZeroAndOne) {
  PickleBuilder p;
  p.proto().tensor("BoolStorage", "0", 2, 0, {2}, {1});
  EXPECT_NE(error_of(p.stop(), {{"0", std::string("\x01\x02", 2)}}).find("0 and 1"), std::string::npos);
}

TEST(Pickle, NamesTheClassOfAPickledObject) {
  PickleBuilder p;
  p.proto().global("__main__", "Net").op(')').op(0x81).op('.');
  const std::string message = error_of(p.bytes());
  EXPECT_NE(message.find("test.pt"), std::string::npos) << message;
  EXPECT_NE(message.find("__main__.Net"), std::string::npos) << message;
  EXPECT_NE(message.find("model.state_dict()"), std::string::npos) << message;
  PickleBuilder numpy;
  numpy.proto().global("numpy.core.multiarray", "_reconstruct");
  EXPECT_NE(error_of(numpy.stop()).find("numpy.core.multiarray._reconstruct"), std::string::npos);
  PickleBuilder quantized;
  quantized.proto().global("torch._utils", "_rebuild_qtensor");
  EXPECT_NE(error_of(quantized.stop()).find("quantized"), std::string::npos);
  PickleBuilder complex;
  complex.proto().global("torch", "ComplexFloatStorage");
  const std::string dtype_message = error_of(complex.stop());
  EXPECT_NE(dtype_message.find("torch.ComplexFloatStorage"), std::string::npos);
  EXPECT_NE(dtype_message.find("dtype"), std::string::npos);
}

TEST(Pickle, SurvivesDeepNestingCyclesAndSharingBlowUp) {
  // 200000 nested lists: no recursion in the machine, a clean error at conversion.
  PickleBuilder deep;
  deep.proto();
  for (int i = 0; i < 200000; ++i) deep.op(']');
  for (int i = 1; i < 200000; ++i) deep.op('a');
  EXPECT_NE(error_of(deep.stop()).find("nests deeper"), std::string::npos);
  // A list that contains itself.
  PickleBuilder cycle;
  cycle.proto().op(']').op('q').op(0).op('h').op(0).op('a');
  EXPECT_NE(error_of(cycle.stop()).find("refers to itself"), std::string::npos);
  // L[i] = [L[i-1], L[i-1]]: 2^60 nodes if copied naively.
  PickleBuilder dag;
  dag.proto().op(']').op('q').op(0);
  for (int i = 1; i <= 60; ++i) dag.op('0').op(']').op('(').op('h').op(i - 1).op('h').op(i - 1).op('e').op('q').op(i);
  EXPECT_NE(error_of(dag.stop()).find("more memory"), std::string::npos);
  // Unbalanced MARKs.
  PickleBuilder marks;
  marks.proto();
  for (int i = 0; i < 5000; ++i) marks.op('(');
  EXPECT_NE(error_of(marks.stop()).find("MARKs nested too deeply"), std::string::npos);
}

TEST(Pickle, RefusesAbsurdLengthsWithoutAllocating) {
  for (const auto& [code, width] :
       std::vector<std::pair<int, int>>{{'X', 4}, {0x8d, 8}, {'B', 4}, {0x8e, 8}, {0x8c, 1}, {'C', 1}, {0x95, 8}}) {
    PickleBuilder p;
    p.proto().op(code).le(~uint64_t{0} >> (64 - 8 * width), width).raw("xy");
    EXPECT_NE(error_of(p.bytes()).find("past the end"), std::string::npos) << code;
  }
  PickleBuilder long4;
  long4.proto().op(0x8b).le(0x7FFFFFFF, 4);
  EXPECT_NE(error_of(long4.stop()).find("beyond 64 bits"), std::string::npos);
  PickleBuilder memo;
  memo.proto().op('N').op('r').le(0xFFFFFFFF, 4).op('j').le(0xFFFFFFFE, 4);
  EXPECT_NE(error_of(memo.stop()).find("never stored"), std::string::npos);
}

TEST(Pickle, RefusesMalformedPrograms) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "past the end"},
      {PickleBuilder().proto().bytes(), "past the end"},
      {PickleBuilder().proto().op('a').stop(), "underflow"},
      {PickleBuilder().proto().op('t').stop(), "no MARK"},
      {PickleBuilder().proto().op('N').op('N').stop(), "leftover"},
      {PickleBuilder().proto().op('.').bytes(), "leftover"},
      {PickleBuilder().proto().op('(').op('N').op('.').bytes(), "leftover"},
      {PickleBuilder().proto().op('(').op(')').op('N').op('u').stop(), "underflow"},
      {PickleBuilder().proto().op('}').op('(').op('N').op('u').stop(), "odd number"},
      {PickleBuilder().proto().op('N').op('N').op('a').stop(), "not a list"},
      {PickleBuilder().proto().op('I').raw("1\n").stop(), "unsupported opcode 73"},
      {PickleBuilder().op(0x80).op(9).stop(), "unknown protocol"},
      {PickleBuilder().proto().op('c').raw("collections").bytes(), "unterminated"},
      {PickleBuilder().proto().op('N').op(')').op('R').stop(), "REDUCE without"},
      {PickleBuilder().proto().str("x").op('Q').stop(), "persistent id"},
      {PickleBuilder().proto().op(']').op('N').op('b').stop(), "BUILD"},
      {PickleBuilder().proto().op('}').op('(').op(']').op('N').op('u').stop(), "cannot hash"},
      {PickleBuilder().proto().global("collections", "OrderedDict").stop(), "bare class"},
      {PickleBuilder().proto().global("_codecs", "encode").str("\xc4\x80").str("latin1").op(0x86).op('R').stop(),
       "outside latin1"},
  };
  for (const auto& [program, expected] : cases) {
    EXPECT_NE(error_of(program).find(expected), std::string::npos)
        << "expected '" << expected << "' for a program of " << program.size() << " bytes";
  }
}

TEST(Pickle, OrderedDictStateAndParametersAreAccepted) {
  // OrderedDict() + BUILD({'_metadata': ...}), as state_dict() pickles;
  // _rebuild_parameter unwraps to the tensor.
  PickleBuilder p;
  p.proto().global("collections", "OrderedDict").op(')').op('R').op('(').str("w");
  p.global("torch._utils", "_rebuild_parameter").op('(');
  p.tensor("FloatStorage", "0", 1, 0, {1}, {1});
  p.op(0x88).global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
  p.op('u').op('}').str("_metadata").op('}').op('s').op('b');
  const PyValue v = run(p.stop(), {{"0", floats({2.5f})}});
  EXPECT_TRUE(v.is_ordered_dict());
  ASSERT_EQ(v.as_dict().size(), 1u);
  EXPECT_EQ(v.at("w").as_tensor().item<float>(), 2.5f);
}

// The legacy format's persistent ids carry a sixth element, None.
TEST(Pickle, ReadsLegacyPersistentIds) {
  PickleBuilder p;
  p.proto().global("torch._utils", "_rebuild_tensor_v2").op('(');
  p.op('(').str("storage").global("torch", "FloatStorage").str("94310").str("cpu").i32(2);
  p.op('N').op('t').op('Q').i32(0).op('(').i32(2).op('t').op('(').i32(1).op('t');
  p.op(0x89).global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
  const PyValue v = run(p.stop(), {{"94310", floats({1.5f, -2.f})}});
  EXPECT_TRUE(torch::equal(v.as_tensor(), torch::tensor({1.5f, -2.f})));
  // A storage view (non-None) is refused with its remedy.
  PickleBuilder view;
  view.proto().op('(').str("storage").global("torch", "FloatStorage").str("1").str("cpu").i32(2);
  view.op('(').str("2").i32(0).i32(1).op('t').op('t').op('Q').op('.');
  EXPECT_NE(error_of(view.bytes()).find("storage view"), std::string::npos);
}

TEST(Pickle, ScanFindsTheEndAndTheStoragesWithoutReadingThem) {
  PickleBuilder p;
  p.proto().op(']').op('(');
  p.tensor("FloatStorage", "a", 4, 0, {2}, {1});
  p.tensor("LongStorage", "b", 3, 1, {2}, {1});
  p.tensor("FloatStorage", "a", 4, 2, {2}, {1});
  const std::string program = p.op('e').stop();
  const PickleScan scan = scan_pickle(program + "trailing bytes", "test.pt");
  EXPECT_EQ(scan.length, program.size());
  ASSERT_EQ(scan.storages.size(), 2u);
  EXPECT_EQ(scan.storages[0].key, "a");
  EXPECT_EQ(scan.storages[0].dtype, torch::kFloat32);
  EXPECT_EQ(scan.storages[0].numel, 4);
  EXPECT_EQ(scan.storages[1].key, "b");
  EXPECT_EQ(scan.storages[1].dtype, torch::kInt64);
  // unpickle() reports the same length, and a view outside its storage is
  // refused by the scan already.
  size_t length = 0;
  const std::string a = floats({1, 2, 3, 4});
  const std::string b(3 * sizeof(int64_t), '\0');
  const StorageResolver resolve = [&](const StorageRef& ref) -> std::string_view { return ref.key == "a" ? a : b; };
  unpickle(program + "x", resolve, "test.pt", &length);
  EXPECT_EQ(length, program.size());
  PickleBuilder outside;
  outside.proto().tensor("FloatStorage", "a", 4, 3, {2}, {1});
  EXPECT_THROW(scan_pickle(outside.stop(), "test.pt"), Error);
}

}  // namespace
}  // namespace repairbench::io
