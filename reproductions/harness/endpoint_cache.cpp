#include "harness/endpoint_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>

#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "repairbench/metrics/evaluate.h"
#include "repairbench/models/checkpoint.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/models/zoo.h"
#include "repairbench/report/progress.h"

namespace repairbench::harness {
namespace {

// Bump when a change to training (trainer, loader, augmentation, init) would
// make an old cached endpoint differ from what this code trains.
constexpr int kTrainingCodeVersion = 1;

uint64_t fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// An exclusive flock(2) on `path`, released on destruction. With
// `read_only_ok`, a lock file that cannot be created because the folder is
// read-only (EACCES, EPERM, EROFS) leaves the lock unheld instead: reading an
// endpoint needs no lock, since checkpoints are written whole and renamed
// into place (write_file_atomic).
class FileLock {
 public:
  FileLock(const std::string& path, bool read_only_ok) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ < 0 && read_only_ok && (errno == EACCES || errno == EPERM || errno == EROFS)) return;
    RB_CHECK(fd_ >= 0, kIo, "cannot open lock file ", path, ": ", std::strerror(errno),
             (errno == EACCES || errno == EPERM || errno == EROFS)
                 ? "; the endpoint cache is read-only and lacks this endpoint: give a writable --cache-dir"
                 : "");
    while (::flock(fd_, LOCK_EX) != 0) {
      RB_CHECK(errno == EINTR, kIo, "cannot lock ", path, ": ", std::strerror(errno));
    }
  }
  ~FileLock() {
    if (fd_ < 0) return;
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  int fd_;
};

std::string key_of(const nlohmann::json& identity_json) {
  std::ostringstream out;
  out << std::hex << std::setw(16) << std::setfill('0') << fnv1a(identity_json.dump());
  return out.str();
}

// Cache entries named by an earlier key, which hashed the whole spec with the
// recipe's `source` text: current key's path -> the file.
using LegacyEntries = std::map<std::string, std::string>;

// Reads the stored spec of every entry of `cache_dir` whose name is not its
// current key, and renames it to the current key (the rename is atomic, and
// one that loses a race to another process finds the file gone and moves on).
// A writable folder is then marked, which ends the scan for good. A folder
// that cannot be written keeps its names, and is scanned once per process:
// the map then tells train_or_load where each entry is.
LegacyEntries find_legacy_entries(const std::string& cache_dir, std::ostream* log) {
  static std::mutex mutex;
  static std::map<std::string, LegacyEntries> read_only_folders;
  const std::lock_guard<std::mutex> guard(mutex);
  const std::string folder = std::filesystem::absolute(cache_dir).lexically_normal().string();
  const std::filesystem::path marker = std::filesystem::path(folder) / ".keys-from-fields";
  if (std::filesystem::exists(marker)) return {};
  if (const auto known = read_only_folders.find(folder); known != read_only_folders.end()) return known->second;
  FileLock lock(folder + "/.keys-from-fields.lock", /*read_only_ok=*/true);
  if (std::filesystem::exists(marker)) return {};
  LegacyEntries entries;
  std::error_code ec;
  for (const auto& file : std::filesystem::directory_iterator(folder, ec)) {
    const std::string name = file.path().filename().string();
    const size_t dash = name.rfind('_');
    if (!file.is_regular_file() || file.path().extension() != ".pt" || dash == std::string::npos) continue;
    nlohmann::json spec;
    try {
      spec = models::load_checkpoint(file.path().string()).meta.value("spec", nlohmann::json());
    } catch (const std::exception&) {
      continue;  // not an endpoint (or damaged): train_or_load judges it if it is ever asked for
    }
    const std::string key = key_of(identity(spec));
    if (name.substr(dash + 1) == key + ".pt") continue;
    const std::string current = folder + "/" + name.substr(0, dash) + "_" + key + ".pt";
    if (std::filesystem::exists(current)) continue;
    std::error_code moved;
    std::filesystem::rename(file.path(), current, moved);
    if (!moved) {
      if (log) *log << "  endpoint cache: " << name << " renamed to its current key, " << current << "\n";
    } else if (moved != std::errc::no_such_file_or_directory) {
      entries[current] = file.path().string();
    }
  }
  if (!ec && entries.empty() && lock.held()) {
    write_file_atomic(marker.string(), "entries here are named by their spec's identity()\n");
  } else {
    read_only_folders[folder] = entries;
  }
  return entries;
}

}  // namespace

nlohmann::json to_json(const EndpointSpec& s) {
  return {{"model", s.model},
          {"dataset", s.dataset},
          {"recipe", s.recipe},
          {"seed", s.seed},
          {"max_batches_per_epoch", s.max_batches_per_epoch},
          {"training_code_version", kTrainingCodeVersion}};
}

nlohmann::json identity(nlohmann::json spec_json) {
  if (spec_json.is_object() && spec_json.contains("recipe") && spec_json["recipe"].is_object()) {
    spec_json["recipe"].erase("source");
  }
  return spec_json;
}

std::string cache_key(const EndpointSpec& spec) { return key_of(identity(to_json(spec))); }

nlohmann::json to_json(const Endpoint& e) {
  return {{"path", e.path},
          {"trained_now", e.trained_now},
          // This process's seconds, and every run's when the training was resumed.
          {"this_run_training_seconds", e.this_run_training_seconds},
          {"cumulative_training_seconds", e.meta.value("train_seconds", 0.0)},
          {"seed", e.meta.value("seed", nlohmann::json(nullptr))}};
}

Endpoint train_or_load(const EndpointSpec& spec, const data::DatasetSplits& splits, const std::string& cache_dir,
                       bool retrain, const torch::Device& device, std::ostream* log) {
  std::error_code ec;
  std::filesystem::create_directories(cache_dir, ec);
  RB_CHECK(!ec, kIo, "cannot create the endpoint cache ", cache_dir, ": ", ec.message());
  Endpoint out;
  out.path = cache_dir + "/" + models::family_name(spec.model.family) + "_" + cache_key(spec) + ".pt";
  // Whether the endpoint is there is decided under the lock (another process
  // may be training it); only a cache that cannot hold a lock file is read
  // without one, and then only an endpoint already present.
  std::string stored = out.path;
  if (!retrain && !std::filesystem::exists(out.path)) {
    const LegacyEntries legacy = find_legacy_entries(cache_dir, log);
    const auto found = legacy.find(std::filesystem::absolute(out.path).lexically_normal().string());
    if (found != legacy.end()) stored = found->second;
  }
  FileLock lock(out.path + ".lock", !retrain && std::filesystem::exists(stored));
  if (!lock.held() && log) *log << "  the endpoint cache is read-only: reading " << stored << " without a lock\n";
  if (!retrain && std::filesystem::exists(stored)) {
    auto checkpoint = models::load_checkpoint(stored);
    RB_CHECK(identity(checkpoint.meta.value("spec", nlohmann::json())) == identity(to_json(spec)), kCheckpoint, stored,
             " does not hold the endpoint its name promises (hash collision or edited file); delete it");
    out.path = stored;
    out.net = models::make_network(checkpoint.config);
    models::load_state_dict(*out.net, checkpoint.state, out.path);
    out.meta = std::move(checkpoint.meta);
    if (log) {
      *log << "  loaded " << spec.model.describe() << " seed " << spec.seed << " from " << out.path << " (test "
           << out.meta.value("test_accuracy", 0.0) << "%)\n";
    }
    return out;
  }
  if (log) {
    *log << "  training " << spec.model.describe() << " on " << spec.dataset << ", seed " << spec.seed << ", recipe "
         << spec.recipe.name << " (" << spec.recipe.epochs << " epochs, batch " << spec.recipe.batch_size << ") -> "
         << out.path << "\n";
  }
  {
    // The initialization draws from torch's global generator; two endpoints
    // trained side by side (TargetSettings::concurrent_endpoints) must not
    // interleave their draws.
    static std::mutex init_mutex;
    const std::lock_guard<std::mutex> guard(init_mutex);
    torch::manual_seed(spec.seed);
    out.net = models::make_network(spec.model);
  }
  train::TrainOptions options;
  // A killed run leaves this behind; the next one resumes from it (the lock
  // keeps other processes off it meanwhile). --retrain starts from scratch.
  options.state_path = out.path + ".state";
  if (retrain) std::filesystem::remove(options.state_path, ec);
  if (log && std::filesystem::exists(options.state_path)) {
    *log << "  resuming from the training state " << options.state_path << "\n";
  }
  options.recipe = spec.recipe;
  options.seed = spec.seed;
  options.device = device;
  options.max_batches_per_epoch = spec.max_batches_per_epoch;
  std::optional<report::TrainingProgress> progress;
  if (log) {
    progress.emplace(*log, log == &std::cerr && isatty(fileno(stderr)) != 0);
    options.on_iteration = progress->callback();
  }
  const auto result = train::train(*out.net, splits.train, options);
  if (progress) progress->finish();
  const auto test = metrics::evaluate(*out.net, splits.test, 2000, device);
  out.meta = {{"spec", to_json(spec)},
              {"dataset", spec.dataset},
              {"seed", spec.seed},
              {"train_seconds", result.seconds},
              {"images_per_second", result.images_per_second},
              {"skipped_steps", result.skipped_steps},
              {"final_train_loss", result.epochs.back().train_loss},
              {"test_accuracy", test.accuracy},
              {"test_loss", test.loss}};
  models::save_checkpoint(out.path, *out.net, out.meta);
  std::filesystem::remove(options.state_path, ec);
  out.trained_now = true;
  out.this_run_training_seconds = result.this_run_training_seconds;
  if (log) {
    *log << "  test accuracy " << test.accuracy << "% after " << result.seconds << " s";
    if (result.resumed_epochs > 0) *log << " (" << result.this_run_training_seconds << " s of them in this run)";
    *log << "\n";
  }
  return out;
}

}  // namespace repairbench::harness
