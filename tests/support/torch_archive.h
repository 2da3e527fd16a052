#pragma once

#include <string>
#include <utility>
#include <vector>

// Taking torch.save zip archives apart and putting them together again, with
// LibTorch's PyTorchStreamReader and PyTorchStreamWriter, so that tests can
// damage one record of a good file.
namespace repairbench::testing {

/// One record: its name below the archive's top folder, and its bytes.
using ArchiveRecord = std::pair<std::string, std::string>;

/// The records of a well-formed archive, in the archive's order.
std::vector<ArchiveRecord> archive_records(const std::string& archive);

/// An archive of `records` in the given order, under the top folder "archive"
/// (PyTorchStreamWriter adds a version record when there is none), each
/// record deflated when `compress` is set.
std::string make_archive(const std::vector<ArchiveRecord>& records, bool compress = false);

/// Where record `name`'s bytes lie in a well-formed archive: [first, first + size).
std::pair<size_t, size_t> record_span(const std::string& archive, const std::string& name);

}  // namespace repairbench::testing
