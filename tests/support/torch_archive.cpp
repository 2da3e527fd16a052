#include "torch_archive.h"

#include <caffe2/serialize/in_memory_adapter.h>
#include <caffe2/serialize/inline_container.h>

#include <memory>

namespace repairbench::testing {
namespace {

// The archives here are good files, so LibTorch's unchecked adapter is fine.
caffe2::serialize::PyTorchStreamReader reader_of(const std::string& archive) {
  return caffe2::serialize::PyTorchStreamReader(
      std::make_shared<caffe2::serialize::MemoryReadAdapter>(archive.data(), archive.size()));
}

}  // namespace

std::vector<ArchiveRecord> archive_records(const std::string& archive) {
  auto reader = reader_of(archive);
  std::vector<ArchiveRecord> out;
  for (const std::string& name : reader.getAllRecords()) {
    const auto [data, size] = reader.getRecord(name);
    out.emplace_back(name, std::string(static_cast<const char*>(data.get()), size));
  }
  return out;
}

std::string make_archive(const std::vector<ArchiveRecord>& records, bool compress) {
  std::string out;
  caffe2::serialize::PyTorchStreamWriter writer([&out](const void* data, size_t size) {
    out.append(static_cast<const char*>(data), size);
    return size;
  });
  for (const auto& [name, data] : records) writer.writeRecord(name, data.data(), data.size(), compress);
  writer.writeEndOfFile();
  return out;
}

std::pair<size_t, size_t> record_span(const std::string& archive, const std::string& name) {
  auto reader = reader_of(archive);
  return {reader.getRecordOffset(name), std::get<1>(reader.getRecord(name))};
}

}  // namespace repairbench::testing
