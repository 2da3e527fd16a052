// ProcessGroupGloo.hpp declares the Gloo backend only under this macro; it is
// set here alone (and this file kept out of unity batches) so that no other
// translation unit sees c10d's Gloo declarations.
#define USE_C10D_GLOO 1

#include "repairbench/dist/dist.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "repairbench/core/error.h"

namespace repairbench::dist {
namespace {

int64_t parse_int(const char* name, const char* text) {
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  RB_CHECK(end != text && *end == '\0', kUsage, "environment variable ", name, "='", text, "' is not an integer");
  return value;
}

}  // namespace

JobInfo job_from_environment(const std::function<const char*(const char*)>& getenv_fn) {
  const auto get = [&](const char* name) -> const char* {
    const char* value = getenv_fn ? getenv_fn(name) : std::getenv(name);
    return value != nullptr && *value != '\0' ? value : nullptr;
  };
  JobInfo job;
  const char *rank = get("RANK"), *world = get("WORLD_SIZE"), *local = get("LOCAL_RANK");
  if (rank == nullptr && get("SLURM_PROCID") != nullptr && get("SLURM_NTASKS") != nullptr) {
    rank = get("SLURM_PROCID");
    world = get("SLURM_NTASKS");
    local = get("SLURM_LOCALID");
    job.launcher = "slurm";
  } else if (rank != nullptr) {
    job.launcher = "torchrun";
  }
  if (rank == nullptr) return job;
  RB_CHECK(world != nullptr, kUsage, "RANK is set but WORLD_SIZE is not; launch with torchrun or srun");
  job.rank = parse_int("RANK", rank);
  job.world_size = parse_int("WORLD_SIZE", world);
  job.local_rank = local != nullptr ? parse_int("LOCAL_RANK", local) : 0;
  RB_CHECK(job.world_size >= 1 && job.rank >= 0 && job.rank < job.world_size, kUsage, "rank ", job.rank,
           " is outside a world of ", job.world_size, " processes");
  if (job.world_size > 1) {
    const char* addr = get("MASTER_ADDR");
    const char* port = get("MASTER_PORT");
    RB_CHECK(addr != nullptr && port != nullptr, kUsage, "a ", job.world_size, "-process job (", job.launcher,
             ") needs MASTER_ADDR and MASTER_PORT: torchrun sets them; in a Slurm script export them, e.g. "
             "MASTER_ADDR=$(scontrol show hostnames $SLURM_JOB_NODELIST | head -n1) MASTER_PORT=29500");
    job.master_addr = addr;
    job.master_port = parse_int("MASTER_PORT", port);
    RB_CHECK(job.master_port > 0 && job.master_port < 65536, kUsage, "MASTER_PORT ", job.master_port,
             " is not a TCP port");
  }
  return job;
}

struct Group::Impl {
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

Group::Group(int64_t rank, int64_t size, std::unique_ptr<Impl> impl)
    : rank_(rank), size_(size), impl_(std::move(impl)) {}

Group::~Group() = default;

std::string resolve_backend(const std::string& name, const torch::Device& device) {
  if (name == "auto") return device.is_cuda() ? "nccl" : "gloo";
  RB_CHECK(name == "gloo" || name == "nccl", kUsage, "unknown distributed backend '", name,
           "'; use auto, gloo or nccl");
  return name;
}

std::shared_ptr<Group> Group::connect(const JobInfo& job, const std::string& backend, double timeout_seconds) {
  RB_CHECK(backend == "gloo" || backend == "nccl", kUsage, "unknown distributed backend '", backend,
           "'; use gloo or nccl");
  RB_CHECK(backend == "gloo" || job.world_size == 1, kUsage,
           "this LibTorch build has no NCCL (Debian's is "
           "CPU-only); use --dist-backend gloo, or build against a CUDA LibTorch");
  auto impl = std::make_unique<Impl>();
  if (job.world_size > 1) {
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<uint16_t>(job.master_port);
    store_options.isServer = job.rank == 0;
    store_options.numWorkers = static_cast<size_t>(job.world_size);
    store_options.timeout = timeout;
    try {
      auto store = c10::make_intrusive<c10d::TCPStore>(job.master_addr, store_options);
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      // A loopback job talks over loopback; otherwise Gloo picks the interface
      // of this host's name, as PyTorch does.
      const bool loopback = job.master_addr.rfind("127.", 0) == 0 || job.master_addr == "localhost";
      options->devices.push_back(loopback ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                          : c10d::ProcessGroupGloo::createDefaultDevice());
      impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(job.rank),
                                                                static_cast<int>(job.world_size), options);
    } catch (const std::exception& e) {
      RB_FAIL(kIo, "rank ", job.rank, " of ", job.world_size, " could not join the process group at ", job.master_addr,
              ":", job.master_port, " (", e.what(),
              "); check that every rank started and "
              "that the address and port are reachable");
    }
  }
  return std::shared_ptr<Group>(new Group(job.rank, job.world_size, std::move(impl)));
}

void Group::allreduce_sum(torch::Tensor& tensor) {
  if (size_ == 1) return;
  std::vector<at::Tensor> tensors{tensor};
  impl_->group->allreduce(tensors)->wait();
}

void Group::allreduce_sum(std::vector<torch::Tensor>& tensors) {
  if (size_ == 1 || tensors.empty()) return;
  std::vector<torch::Tensor> flat_parts;
  for (const auto& t : tensors) {
    RB_CHECK(t.scalar_type() == tensors.front().scalar_type(), kInternal,
             "allreduce_sum over tensors of different dtypes");
    flat_parts.push_back(t.reshape({-1}));
  }
  auto flat = torch::cat(flat_parts);
  allreduce_sum(flat);
  int64_t offset = 0;
  for (auto& t : tensors) {
    t.copy_(flat.slice(0, offset, offset + t.numel()).view_as(t));
    offset += t.numel();
  }
}

void Group::allreduce_sums_and_counts(std::vector<torch::Tensor> sums, const std::vector<int64_t*>& counts) {
  if (size_ == 1) return;
  std::vector<double> values;  // float64 holds batch counts exactly
  for (const int64_t* c : counts) values.push_back(static_cast<double>(*c));
  sums.push_back(torch::tensor(values, torch::kFloat64));
  allreduce_sum(sums);
  const auto totals = sums.back();
  for (size_t i = 0; i < counts.size(); ++i) {
    *counts[i] = static_cast<int64_t>(totals[static_cast<int64_t>(i)].item<double>());
  }
}

void Group::broadcast_from_root(std::vector<torch::Tensor>& tensors) {
  if (size_ == 1) return;
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t};
    impl_->group->broadcast(one)->wait();
  }
}

std::function<void()> Group::allreduce_sum_async(torch::Tensor& tensor) {
  if (size_ == 1) return [] {};
  std::vector<at::Tensor> tensors{tensor};
  auto work = impl_->group->allreduce(tensors);
  return [work] { work->wait(); };
}

GradientAverager::GradientAverager(std::shared_ptr<Group> group, const std::vector<torch::Tensor>& parameters,
                                   int64_t bucket_bytes)
    : group_(std::move(group)), parameters_(parameters), grads_(parameters.size()), bucket_of_(parameters.size()) {
  RB_CHECK(group_ != nullptr, kInternal, "GradientAverager needs a group");
  // Reverse registration order: the last layers' gradients come first.
  int64_t bytes = 0;
  for (size_t k = parameters_.size(); k-- > 0;) {
    const auto& p = parameters_[k];
    RB_CHECK(p.requires_grad() && p.scalar_type() == torch::kFloat32, kInternal,
             "GradientAverager averages float32 parameters that require gradients");
    const int64_t size = p.numel() * static_cast<int64_t>(sizeof(float));
    if (buckets_.empty() || (bytes > 0 && bytes + size > bucket_bytes)) {
      buckets_.emplace_back();
      bytes = 0;
    }
    buckets_.back().members.push_back(k);
    bucket_of_[k] = buckets_.size() - 1;
    bytes += size;
  }
  for (size_t k = 0; k < parameters_.size(); ++k) {
    hooks_.push_back(parameters_[k].register_hook([this, k](const torch::Tensor& grad) { on_gradient(k, grad); }));
  }
}

GradientAverager::~GradientAverager() {
  for (size_t k = 0; k < hooks_.size(); ++k) parameters_[k].remove_hook(hooks_[k]);
}

void GradientAverager::on_gradient(size_t index, const torch::Tensor& grad) {
  RB_CHECK(!grads_[index].defined(), kInternal,
           "a parameter received two gradients in one step; call finish() "
           "after every backward pass");
  grads_[index] = grad;
  ++buckets_[bucket_of_[index]].ready;
  start_ready_buckets();
}

void GradientAverager::start_ready_buckets() {
  while (next_to_start_ < buckets_.size()) {
    Bucket& b = buckets_[next_to_start_];
    if (b.ready < static_cast<int64_t>(b.members.size())) return;
    std::vector<torch::Tensor> parts;
    for (size_t k : b.members) parts.push_back(grads_[k].reshape({-1}));
    b.flat = torch::cat(parts);
    b.wait = group_->allreduce_sum_async(b.flat);
    ++next_to_start_;
  }
}

void GradientAverager::finish() {
  // Parameters backward left without a gradient count as zeros on this rank,
  // so every rank still starts every bucket.
  for (auto& b : buckets_) {
    for (size_t k : b.members) {
      if (!grads_[k].defined()) {
        grads_[k] = torch::zeros_like(parameters_[k]);
        ++b.ready;
      }
    }
  }
  start_ready_buckets();
  const double scale = 1.0 / static_cast<double>(group_->size());
  for (auto& b : buckets_) {
    b.wait();
    b.flat.mul_(scale);
    int64_t offset = 0;
    for (size_t k : b.members) {
      auto& p = parameters_[k];
      const auto averaged = b.flat.slice(0, offset, offset + p.numel()).view_as(p);
      if (p.grad().defined()) {
        p.mutable_grad().copy_(averaged);
      } else {
        p.mutable_grad() = averaged.clone();
      }
      offset += p.numel();
    }
    b.ready = 0;
    b.wait = nullptr;
  }
  std::fill(grads_.begin(), grads_.end(), torch::Tensor());
  next_to_start_ = 0;
}

PassShare share_pass(const Group* group, int64_t num_batches) {
  if (group == nullptr || group->size() == 1 || num_batches < group->size()) return {};
  return {group->rank(), group->size()};
}

}  // namespace repairbench::dist
