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
  /// In place, for a pass split over the ranks (PassShare): each float64 sum
  /// and each batch count becomes its total over the ranks, in one collective.
  void allreduce_sums_and_counts(std::vector<torch::Tensor> sums, const std::vector<int64_t*>& counts);
  /// In place: every rank ends with rank 0's values.
  void broadcast_from_root(std::vector<torch::Tensor>& tensors);

  /// Starts an in-place sum over ranks of `tensor` and returns at once; the
  /// returned function waits for it. Collectives must be started in the same
  /// order on every rank.
  std::function<void()> allreduce_sum_async(torch::Tensor& tensor);

 private:
  struct Impl;
  Group(int64_t rank, int64_t size, std::unique_ptr<Impl> impl);
  int64_t rank_ = 0, size_ = 1;
  std::unique_ptr<Impl> impl_;
};

/// Averages gradients over a group's ranks while the backward pass is still
/// running, as PyTorch's DistributedDataParallel does: the parameters are cut
/// into buckets of about `bucket_bytes`, in reverse registration order (the
/// order backward produces their gradients), and an autograd hook on every
/// parameter starts a bucket's all-reduce as soon as the bucket's last
/// gradient exists, so communication overlaps the rest of the backward pass.
/// Buckets are started strictly in order, so every rank issues the same
/// collectives in the same order. Call finish() after backward(): it waits for
/// every bucket and writes the averages into the parameters' .grad.
///
/// Usage:
///   GradientAverager averager(group, net.parameters());
///   optimizer.zero_grad(); loss.backward(); averager.finish(); optimizer.step();
class GradientAverager {
 public:
  GradientAverager(std::shared_ptr<Group> group, const std::vector<torch::Tensor>& parameters,
                   int64_t bucket_bytes = int64_t{25} << 20);
  ~GradientAverager();
  GradientAverager(const GradientAverager&) = delete;
  GradientAverager& operator=(const GradientAverager&) = delete;

  /// Waits for this step's all-reduces (starting any bucket whose gradients
  /// backward did not produce, with zeros for them) and sets every
  /// parameter's .grad to the mean over ranks.
  void finish();
  int64_t buckets() const { return static_cast<int64_t>(buckets_.size()); }

 private:
  struct Bucket {
    std::vector<size_t> members;  // indices into parameters_
    torch::Tensor flat;           // (sum of numels) float32, reduced in place
    std::function<void()> wait;   // set once started
    int64_t ready = 0;
  };
  void on_gradient(size_t index, const torch::Tensor& grad);
  void start_ready_buckets();

  std::shared_ptr<Group> group_;
  std::vector<torch::Tensor> parameters_;
  std::vector<unsigned> hooks_;
  std::vector<torch::Tensor> grads_;  // this step's gradient of each parameter, as the hook saw it
  std::vector<size_t> bucket_of_;     // parameter index -> bucket
  std::vector<Bucket> buckets_;
  size_t next_to_start_ = 0;
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
