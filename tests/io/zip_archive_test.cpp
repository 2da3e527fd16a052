#include "repairbench/io/zip_archive.h"

#include <gtest/gtest.h>

#include "fixture_compare.h"
#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"

namespace repairbench::io {
namespace {

void put_le(std::string* bytes, size_t pos, uint64_t value, int n) {
  for (int i = 0; i < n; ++i)
    (*bytes)[pos + static_cast<size_t>(i)] = static_cast<char>(value >> (8 * i));
}

std::string zip_error_of(const std::string& bytes) {
  try {
    ZipReader zip(bytes, "x.zip");
    for (const ZipEntry& entry : zip.entries()) zip.read(entry);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCheckpoint) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("x.zip: ", 0), 0u) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected an Error";
  return "";
}

// Offset of the first central-directory entry of an archive from write_zip.
size_t central_directory(const std::string& zip) {
  return static_cast<size_t>(static_cast<unsigned char>(zip[zip.size() - 6])) |
         static_cast<size_t>(static_cast<unsigned char>(zip[zip.size() - 5])) << 8 |
         static_cast<size_t>(static_cast<unsigned char>(zip[zip.size() - 4])) << 16 |
         static_cast<size_t>(static_cast<unsigned char>(zip[zip.size() - 3])) << 24;
}

TEST(Zip, WritesAlignedRecordsThatReadBack) {
  const std::string big(1000, 'b');
  const std::string zip = write_zip({{"a/data.pkl", "hello"}, {"a/data/0", big}, {"a/e", ""}});
  const ZipReader reader(zip, "x.zip");
  ASSERT_EQ(reader.entries().size(), 3u);
  EXPECT_EQ(reader.entries()[0].name, "a/data.pkl");
  for (const ZipEntry& entry : reader.entries()) EXPECT_EQ(entry.offset % 64, 0u) << entry.name;
  EXPECT_EQ(reader.read(*reader.find("a/data.pkl")), "hello");
  EXPECT_EQ(reader.read(*reader.find("a/data/0")), big);
  EXPECT_EQ(reader.read(*reader.find("a/e")), "");
  EXPECT_EQ(reader.find("a/missing"), nullptr);
}

TEST(Zip, AlignsWhateverTheNameLength) {
  // Every gap size, including those under the 4-byte extra-field header.
  for (size_t length = 1; length < 80; ++length) {
    const std::string zip = write_zip({{std::string(length, 'n'), "x"}, {"second", "yy"}});
    const ZipReader reader(zip, "x.zip");
    for (const ZipEntry& entry : reader.entries()) EXPECT_EQ(entry.offset % 64, 0u) << length;
    EXPECT_EQ(reader.read(reader.entries()[1]), "yy");
  }
}

TEST(Zip, ReadsTheArchivesThatPyTorchWrites) {
  // torch.save writes data descriptors and zip64 end records; see the fixture.
  const std::string bytes = read_file(testing::fixture_path("state_dict.pt"));
  const ZipReader reader(bytes, "state_dict.pt");
  ASSERT_NE(reader.find("state_dict/data.pkl"), nullptr);
  ASSERT_NE(reader.find("state_dict/version"), nullptr);
  EXPECT_EQ(reader.read(*reader.find("state_dict/version")), "3\n");
  for (const ZipEntry& entry : reader.entries()) EXPECT_EQ(entry.offset % 64, 0u) << entry.name;
}

TEST(Zip, AcceptsAnArchiveComment) {
  std::string zip = write_zip({{"a", "1"}});
  put_le(&zip, zip.size() - 2, 7, 2);
  zip += "comment";
  EXPECT_EQ(ZipReader(zip, "x.zip").entries().size(), 1u);
}

TEST(Zip, ReadsZip64Fields) {
  // One record whose sizes and offset live in a zip64 extra field.
  const std::string data = "payload";
  std::string zip = write_zip({{"r", data}});
  const size_t cd = central_directory(zip);
  std::string central = zip.substr(cd, 46 + 1);
  std::string extra;
  extra.resize(4 + 24);
  put_le(&extra, 0, 1, 2);
  put_le(&extra, 2, 24, 2);
  put_le(&extra, 4, data.size(), 8);
  put_le(&extra, 12, data.size(), 8);
  put_le(&extra, 20, 0, 8);
  put_le(&central, 20, 0xFFFFFFFF, 4);
  put_le(&central, 24, 0xFFFFFFFF, 4);
  put_le(&central, 42, 0xFFFFFFFF, 4);
  put_le(&central, 30, extra.size(), 2);
  central += extra;
  std::string rebuilt = zip.substr(0, cd) + central;
  std::string end = zip.substr(zip.size() - 22);
  put_le(&end, 12, central.size(), 4);
  rebuilt += end;
  const ZipReader reader(rebuilt, "x.zip");
  ASSERT_EQ(reader.entries().size(), 1u);
  EXPECT_EQ(reader.read(reader.entries()[0]), data);
  // The same with a zip64 field too short for the values it must hold.
  put_le(&rebuilt, cd + 46 + 1 + 2, 8, 2);
  EXPECT_NE(zip_error_of(rebuilt).find("zip64"), std::string::npos);
}

TEST(Zip, RefusesCompressedEncryptedAndCorruptRecords) {
  const std::string zip = write_zip({{"a/data.pkl", "hello"}, {"a/b", "world"}});
  const size_t cd = central_directory(zip);
  std::string compressed = zip;
  put_le(&compressed, cd + 10, 8, 2);  // deflate
  EXPECT_NE(zip_error_of(compressed).find("compressed (method 8)"), std::string::npos);
  std::string encrypted = zip;
  put_le(&encrypted, cd + 8, 1, 2);
  EXPECT_NE(zip_error_of(encrypted).find("encrypted"), std::string::npos);
  std::string flipped = zip;
  flipped[ZipReader(zip, "x").entries()[0].offset] ^= 1;
  EXPECT_NE(zip_error_of(flipped).find("CRC-32"), std::string::npos);
  std::string huge = zip;
  put_le(&huge, cd + 20, 0xFFFFFFF0, 4);
  put_le(&huge, cd + 24, 0xFFFFFFF0, 4);
  EXPECT_NE(zip_error_of(huge).find("past the end of the file"), std::string::npos);
  std::string count = zip;
  put_le(&count, count.size() - 12, 0xFFFE, 2);
  EXPECT_NE(zip_error_of(count).find("claims 65534 records"), std::string::npos);
  std::string offset = zip;
  put_le(&offset, offset.size() - 6, 0xFFFFFF00, 4);
  EXPECT_NE(zip_error_of(offset).find("outside the file"), std::string::npos);
  std::string local = zip;
  put_le(&local, cd + 42, 3, 4);
  EXPECT_NE(zip_error_of(local).find("local header"), std::string::npos);
  std::string disk = zip;
  put_le(&disk, disk.size() - 18, 1, 2);
  EXPECT_NE(zip_error_of(disk).find("multi-volume"), std::string::npos);
  EXPECT_NE(zip_error_of(zip.substr(0, zip.size() - 1)).find("end-of-central-directory"),
            std::string::npos);
  EXPECT_NE(zip_error_of("PK").find("too short"), std::string::npos);
}

TEST(Zip, RefusesRepeatedNames) {
  std::string zip = write_zip({{"a/x", "1"}, {"a/y", "2"}});
  // Rename the second record to the first's name, in both of its headers.
  const size_t cd = central_directory(zip);
  const size_t second_cd = cd + 46 + 3;
  zip[second_cd + 46 + 2] = 'x';
  const size_t local = zip.find("a/y");
  zip[local + 2] = 'x';
  EXPECT_NE(zip_error_of(zip).find("two records called 'a/x'"), std::string::npos);
  EXPECT_THROW(write_zip({{"n", "1"}, {"n", "2"}}), Error);
}

}  // namespace
}  // namespace repairbench::io
