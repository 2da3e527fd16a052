// ProcessGroupGloo.hpp declares the Gloo backend only under this macro; it is
// set here alone (and this file kept out of unity batches) so that no other
// translation unit sees c10d's Gloo declarations.
#define USE_C10D_GLOO 1

#include "repairbench/dist/dist.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>

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
  RB_CHECK(backend == "gloo" || job.world_size == 1, kUsage, "this LibTorch build has no NCCL (Debian's is "
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
      RB_FAIL(kIo, "rank ", job.rank, " of ", job.world_size, " could not join the process group at ",
              job.master_addr, ":", job.master_port, " (", e.what(), "); check that every rank started and "
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

void Group::allreduce_mean(std::vector<torch::Tensor>& tensors) {
  if (size_ == 1 || tensors.empty()) return;
  allreduce_sum(tensors);
  for (auto& t : tensors) t.div_(static_cast<double>(size_));
}

void Group::broadcast_from_root(std::vector<torch::Tensor>& tensors) {
  if (size_ == 1) return;
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t};
    impl_->group->broadcast(one)->wait();
  }
}

void Group::barrier() {
  if (size_ == 1) return;
  impl_->group->barrier()->wait();
}

PassShare share_pass(const Group* group, int64_t num_batches) {
  if (group == nullptr || group->size() == 1 || num_batches < group->size()) return {};
  return {group->rank(), group->size()};
}

}  // namespace repairbench::dist
