// Damaged and hostile files: every one must throw repairbench::Error, never
// crash, abort, read out of bounds or allocate without bound. They are also
// worth running under valgrind or AddressSanitizer after changes to the readers.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <random>

#include "expect_error.h"
#include "fixture_compare.h"
#include "pickle_builder.h"
#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "repairbench/io/torch_file.h"
#include "torch_archive.h"

namespace repairbench::io {
namespace {

using repairbench::testing::make_archive;
using repairbench::testing::record_span;
using testing::fixture_path;
using testing::PickleBuilder;

enum class Outcome { kRead, kError };

// Reads `bytes`, failing the test on any exception that is not a repairbench::Error.
Outcome read_outcome(const std::string& bytes, const std::string& what) {
  try {
    read_torch_bytes(bytes, "damaged.pt");
    return Outcome::kRead;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("damaged.pt"), std::string::npos) << what << ": " << e.what();
    return Outcome::kError;
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": threw a non-repairbench exception: " << e.what();
  }
  return Outcome::kError;
}

// Peak resident memory of this process, in MiB.
long peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

const char* const kFixtures[] = {"state_dict.pt", "views.pt", "nested_protocol4.pt", "legacy.pt"};

TEST(TorchFileCorrupt, EveryTruncationThrows) {
  for (const char* fixture : kFixtures) {
    const std::string good = read_file(fixture_path(fixture));
    ASSERT_EQ(read_outcome(good, fixture), Outcome::kRead);
    for (size_t cut = 0; cut < good.size(); ++cut) {
      EXPECT_EQ(read_outcome(good.substr(0, cut), std::string(fixture) + " cut at " + std::to_string(cut)),
                Outcome::kError);
    }
  }
}

TEST(TorchFileCorrupt, FlippedBytesThrowOrRead) {
  // A flip can be harmless (a timestamp, padding, a tensor value) but must
  // never crash; read_outcome fails the test on anything but Error.
  for (const char* fixture : kFixtures) {
    const std::string good = read_file(fixture_path(fixture));
    for (size_t pos = 0; pos < good.size(); ++pos) {
      for (const int mask : {0x01, 0x80, 0xFF}) {
        std::string bad = good;
        bad[pos] = static_cast<char>(bad[pos] ^ mask);
        read_outcome(bad, std::string(fixture) + " byte " + std::to_string(pos));
      }
    }
  }
}

// LibTorch builds miniz with MINIZ_DISABLE_ZIP_READER_CRC32_CHECKS (as
// Python's torch.load does), so torch_file.cpp checks each record's CRC-32
// itself, against the one in the record's data descriptor.
TEST(TorchFileCorrupt, DamagedTensorDataIsDetected) {
  const std::string good = read_file(fixture_path("state_dict.pt"));
  const auto [first, size] = record_span(good, "data/0");  // fc.weight, 6 floats
  ASSERT_EQ(size, 6 * sizeof(float));
  std::string bad = good;
  bad[first + 3] = static_cast<char>(bad[first + 3] ^ 0x80);  // the first float's sign bit
  EXPECT_TRUE(repairbench::testing::throws_error(
      ErrorKind::kCheckpoint, [&] { read_torch_bytes(bad, "damaged.pt"); },
      {"damaged.pt: zip record 'state_dict/data/0' fails its CRC-32 check (stored 0x", ", computed 0x",
       "the file is damaged"}));
  // The stored CRC itself damaged: the same refusal.
  bad = good;
  const size_t descriptor = first + size;
  ASSERT_EQ(bad.compare(descriptor, 4, std::string("PK\x07\x08", 4)), 0);
  bad[descriptor + 4] = static_cast<char>(bad[descriptor + 4] ^ 0x01);
  EXPECT_TRUE(repairbench::testing::throws_error(ErrorKind::kCheckpoint, [&] { read_torch_bytes(bad, "damaged.pt"); },
                                                 {"damaged.pt", "'state_dict/data/0' fails its CRC-32 check"}));
}

// `archive` with the zip local header of record `name` carrying the CRC (the
// one of its data descriptor) and sizes itself, as zip tools other than
// PyTorch's write it, instead of deferring them to the descriptor, and
// claiming these sizes.
std::string with_local_sizes(std::string archive, const std::string& name, uint32_t compressed, uint32_t uncompressed) {
  const size_t data = record_span(archive, name).first;
  const size_t header = archive.rfind(std::string("PK\x03\x04", 4), data);
  archive[header + 6] = static_cast<char>(archive[header + 6] & ~0x08);
  const size_t descriptor = archive.find(std::string("PK\x07\x08", 4), data);
  archive.replace(header + 14, 4, archive, descriptor + 4, 4);
  const uint32_t fields[] = {compressed, uncompressed};
  for (int f = 1; f < 3; ++f) {
    for (int b = 0; b < 4; ++b) {
      archive[header + 14 + 4 * f + b] = static_cast<char>(fields[f - 1] >> (8 * b));
    }
  }
  return archive;
}

TEST(TorchFileCorrupt, GarbageThrows) {
  std::mt19937 rng(1234);
  for (int round = 0; round < 500; ++round) {
    std::string bytes(static_cast<size_t>(rng() % 300), '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    if (round % 3 == 0 && bytes.size() >= 4) bytes.replace(0, 4, "PK\x03\x04", 4);
    EXPECT_EQ(read_outcome(bytes, "garbage " + std::to_string(round)), Outcome::kError);
    // The same bytes as the pickle of a well-formed archive.
    EXPECT_EQ(read_outcome(make_archive({{"data.pkl", bytes}}), "garbage pickle"), Outcome::kError);
    // And as what follows the legacy format's magic number.
    EXPECT_EQ(read_outcome(read_file(fixture_path("legacy.pt")).substr(0, 15) + bytes, "legacy"), Outcome::kError);
  }
}

TEST(TorchFileCorrupt, RandomOpcodeProgramsNeverCrash) {
  // Programs drawn from the opcodes the unpickler knows, with small
  // arguments, reach far deeper into the machine than random bytes do.
  const std::string alphabet = "().012NKJMGXCB}]ltdaesuqhjcRbQ\x80\x88\x89\x8a\x85\x86\x87\x8c\x93\x94\x95";
  std::mt19937 rng(99);
  int read = 0;
  for (int round = 0; round < 3000; ++round) {
    PickleBuilder p;
    p.proto();
    const int length = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < length; ++i) {
      p.op(alphabet[rng() % alphabet.size()]);
      if (rng() % 2 == 0) p.op(static_cast<int>(rng() % 4));
    }
    const std::string storage(64, '\x01');
    const Outcome outcome =
        read_outcome(make_archive({{"data.pkl", p.stop()}, {"data/0", storage}, {"data/1", storage}}),
                     "program " + std::to_string(round));
    read += outcome == Outcome::kRead ? 1 : 0;
  }
  EXPECT_LT(read, 3000);
}

// Where the zip central directory entry of `name` (with the top folder) starts; npos without one.
size_t central_entry(const std::string& zip, const std::string& name) {
  for (size_t at = zip.find(std::string("PK\x01\x02", 4)); at != std::string::npos;
       at = zip.find(std::string("PK\x01\x02", 4), at + 4)) {
    if (zip.compare(at + 46, name.size(), name) == 0) return at;
  }
  return std::string::npos;
}

TEST(TorchFileCorrupt, AbsurdSizesAreRefusedWithoutAllocating) {
  [[maybe_unused]] const long before = peak_rss_mib();  // see the end of the test
  const std::string storage(16, '\0');
  const auto archive = [&](const std::string& program) {
    return make_archive({{"data.pkl", program}, {"data/0", storage}});
  };
  std::vector<std::string> programs = {
      PickleBuilder().proto().op('X').le(0xFFFFFFFF, 4).stop(),
      PickleBuilder().proto().op(0x8e).le(~uint64_t{0}, 8).stop(),
      PickleBuilder().proto().op(0x8d).le(uint64_t{1} << 62, 8).stop(),
      PickleBuilder().proto().tensor("FloatStorage", "0", 1 << 30, 0, {1}, {1}).stop(),
      PickleBuilder().proto().tensor("FloatStorage", "0", 4, 0, {1 << 20, 1 << 20}, {0, 0}).stop(),
      PickleBuilder().proto().tensor("FloatStorage", "0", 4, 0, {1 << 30, 1 << 30}, {1, 1}).stop(),
  };
  // Many tensors over one storage, each small but together huge.
  PickleBuilder many;
  many.proto().op(']').op('(');
  for (int i = 0; i < 2000; ++i) many.tensor("FloatStorage", "0", 4, 0, {1 << 17, 4}, {0, 1});
  programs.push_back(many.op('e').stop());
  for (size_t i = 0; i < programs.size(); ++i) {
    EXPECT_EQ(read_outcome(archive(programs[i]), "program " + std::to_string(i)), Outcome::kError);
  }
  // A central directory claiming a 4 GiB record.
  std::string zip = read_file(fixture_path("state_dict.pt"));
  const size_t pos = zip.find(std::string("PK\x01\x02", 4));
  ASSERT_NE(pos, std::string::npos);
  for (size_t i = 0; i < 8; ++i) zip[pos + 20 + i] = '\xF0';
  EXPECT_EQ(read_outcome(zip, "4 GiB record"), Outcome::kError);
  // A deflated record (in a file of about 500 bytes) claiming 3.75 GiB uncompressed in the
  // central directory only, which is what LibTorch 1.13 allocates before
  // inflating: refused before it does, naming the record and the claim.
  const std::string small = make_archive({{"data.pkl", PickleBuilder().proto().op('N').stop()}}, true);
  std::string deflated = small;
  const size_t entry = deflated.find(std::string("PK\x01\x02", 4));
  ASSERT_NE(entry, std::string::npos);
  for (size_t i = 0; i < 4; ++i) deflated[entry + 24 + i] = i == 3 ? '\xF0' : '\0';
  EXPECT_TRUE(repairbench::testing::throws_error(
      ErrorKind::kCheckpoint, [&] { read_torch_bytes(deflated, "damaged.pt"); },
      {"damaged.pt: zip record 'archive/data.pkl' claims 4026531840 bytes in the zip central directory"}));
  // A stored record whose central directory says 0xFFFFFFFF (the ZIP64
  // marker, with no ZIP64 field: miniz then takes it as the size) while its
  // data descriptor says 16 bytes (found by fuzzing: LibTorch allocated 4 GiB).
  std::string marker = make_archive(
      {{"data.pkl", PickleBuilder().proto().tensor("FloatStorage", "0", 4, 0, {4}, {1}).stop()}, {"data/0", storage}});
  ASSERT_EQ(read_outcome(marker, "intact"), Outcome::kRead);
  size_t central = central_entry(marker, "archive/data/0");
  ASSERT_NE(central, std::string::npos);
  for (size_t i = 0; i < 8; ++i) marker[central + 20 + i] = '\xFF';
  EXPECT_TRUE(repairbench::testing::throws_error(
      ErrorKind::kCheckpoint, [&] { read_torch_bytes(marker, "marker.pt"); },
      {"marker.pt: zip record 'archive/data/0' claims 4294967295 bytes in the zip central directory"}));
  // The same claim for the version record, which PyTorchStreamReader's
  // constructor reads (found by fuzzing too): refused before it runs.
  std::string version = make_archive({{"data.pkl", PickleBuilder().proto().op('N').stop()}});
  central = central_entry(version, "archive/version");
  ASSERT_NE(central, std::string::npos);
  for (size_t i = 0; i < 4; ++i) version[central + 24 + i] = '\xFF';
  EXPECT_TRUE(repairbench::testing::throws_error(
      ErrorKind::kCheckpoint, [&] { read_torch_bytes(version, "version.pt"); },
      {"version.pt: zip record 'archive/version' claims 4294967295 bytes in the zip central directory, more than "
       "the "}));
  // The claim in the record's data descriptor only: refused before LibTorch
  // allocates, naming the record and the size.
  std::string described = small;
  const size_t descriptor = described.find(std::string("PK\x07\x08", 4));
  ASSERT_NE(descriptor, std::string::npos);
  for (size_t i = 0; i < 4; ++i) described[descriptor + 12 + i] = i == 3 ? '\xF0' : '\0';
  EXPECT_TRUE(repairbench::testing::throws_error(
      ErrorKind::kCheckpoint, [&] { read_torch_bytes(described, "damaged.pt"); },
      {"damaged.pt: zip record 'archive/data.pkl' claims 4026531840 bytes deflated into",
       "more than deflate's 1032:1 allows"}));
  // Sizes in the local header (no data descriptor): a deflated claim of 3.75
  // GiB, a stored record whose sizes differ, and one running past the end.
  EXPECT_TRUE(repairbench::testing::throws_error(
      ErrorKind::kCheckpoint,
      [&] { read_torch_bytes(with_local_sizes(small, "data.pkl", 9, 0xF0000000), "damaged.pt"); },
      {"damaged.pt: zip record 'archive/data.pkl' claims 4026531840 bytes deflated into 9"}));
  const std::string stored = make_archive({{"data.pkl", PickleBuilder().proto().op('N').stop()}});
  const uint32_t pickle_size = static_cast<uint32_t>(record_span(stored, "data.pkl").second);
  EXPECT_TRUE(repairbench::testing::throws_error(
      ErrorKind::kCheckpoint,
      [&] { read_torch_bytes(with_local_sizes(stored, "data.pkl", pickle_size, 0xF0000000), "damaged.pt"); },
      {"damaged.pt: stored zip record 'archive/data.pkl' claims 4026531840 bytes but holds"}));
  EXPECT_TRUE(repairbench::testing::throws_error(
      ErrorKind::kCheckpoint,
      [&] { read_torch_bytes(with_local_sizes(stored, "data.pkl", 0xF0000000, 0xF0000000), "damaged.pt"); },
      {"damaged.pt: zip record 'archive/data.pkl' claims 4026531840 bytes, past the end"}));
  // The right sizes in the local header read, and so does a damaged descriptor
  // behind it, which is then not looked at.
  std::string local = with_local_sizes(stored, "data.pkl", pickle_size, pickle_size);
  EXPECT_TRUE(read_torch_bytes(local, "local.pt").is_none());
  local[local.find(std::string("PK\x07\x08", 4)) + 4] ^= 0x01;
  EXPECT_TRUE(read_torch_bytes(local, "local.pt").is_none());
  // Local sizes that are possible but not the central directory's.
  EXPECT_TRUE(repairbench::testing::throws_error(
      ErrorKind::kCheckpoint,
      [&] { read_torch_bytes(with_local_sizes(stored, "data.pkl", pickle_size - 1, pickle_size - 1), "damaged.pt"); },
      {"damaged.pt: zip record 'archive/data.pkl' holds ", " bytes by the zip directory but "}));
#ifndef __SANITIZE_ADDRESS__
  // Under AddressSanitizer peak RSS no longer measures what the readers
  // allocated: ASan keeps freed blocks resident (its quarantine, 256 MiB by
  // default) and pads every block, and the test then peaked 766 MiB above its
  // start (about 270 MiB in the release build). The release build checks the
  // bound.
  EXPECT_LT(peak_rss_mib() - before, 600);
#endif
}

}  // namespace
}  // namespace repairbench::io
