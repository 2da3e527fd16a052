#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace repairbench::dist {

/// Where this process sits in a job, as its launcher describes it.
struct JobInfo {
  int64_t rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  std::string launcher = "none";  ///< "torchrun", "slurm" or "none" (one process).
};

/// Reads the job from the environment the way the PyTorch ecosystem launches:
/// torchrun's RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT, else
/// Slurm's SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID (with MASTER_ADDR and
/// MASTER_PORT exported by the job script), else a single process. `getenv`
/// is injectable for tests. Throws Error(kUsage) for inconsistent values.
JobInfo job_from_environment(const std::function<const char*(const char*)>& getenv = nullptr);

/// The backend for `name` on `device`: "auto" picks NCCL for CUDA devices and
/// Gloo otherwise, as PyTorch recommends; "gloo" and "nccl" stay as given.
/// Throws Error(kUsage) for other names.
std::string resolve_backend(const std::string& name, const torch::Device& device);

/// A c10d process group over a TCPStore at the master's address, with the
/// Gloo backend. This LibTorch build is CPU-only and has no NCCL: a job of
/// more than one process that asks for "nccl" is refused with a message
/// saying so. A world of one process makes every collective a no-op, so code
/// paths need no special case.
class Group {
 public:
  /// Connects every rank of `job` (blocks until all have joined, at most
  /// `timeout_seconds`).
  static std::shared_ptr<Group> connect(const JobInfo& job, const std::string& backend = "gloo",
                                        double timeout_seconds = 300);
  ~Group();

  int64_t rank() const { return rank_; }
  int64_t size() const { return size_; }

  /// In place: every rank ends with the elementwise sum over ranks.
  void allreduce_sum(torch::Tensor& tensor);
  /// In place: the elementwise sum over ranks of each tensor, reduced as one
  /// flat buffer. Tensors: one dtype, contiguous, on one device.
  void allreduce_sum(std::vector<torch::Tensor>& tensors);
  /// In place: the mean over ranks of each tensor, reduced as one flat buffer
  /// (one collective per call instead of one per tensor). Tensors: float32,
  /// contiguous, on one device.
  void allreduce_mean(std::vector<torch::Tensor>& tensors);
  /// In place: every rank ends with rank 0's values.
  void broadcast_from_root(std::vector<torch::Tensor>& tensors);
  void barrier();

 private:
  struct Impl;
  Group(int64_t rank, int64_t size, std::unique_ptr<Impl> impl);
  int64_t rank_ = 0, size_ = 1;
  std::unique_ptr<Impl> impl_;
};

/// Which batches of one pass over `num_batches` batches this rank computes in
/// a data-parallel statistics or evaluation pass: batch i on rank i % size, so
/// the ranks' per-batch statistics together are exactly one process's, and
/// their sums are all-reduced afterwards. A pass with fewer batches than
/// ranks is not split: every rank computes all of it and nothing is reduced.
struct PassShare {
  int64_t rank = 0, size = 1;  ///< size 1: this rank computes every batch.
  bool split() const { return size > 1; }
  bool owns(int64_t batch) const { return batch % size == rank; }
};
PassShare share_pass(const Group* group, int64_t num_batches);

}  // namespace repairbench::dist
