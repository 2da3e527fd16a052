#include "repairbench/dist/dist.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "repairbench/core/error.h"

namespace repairbench {
namespace {

dist::JobInfo job_with(const std::map<std::string, std::string>& env) {
  return dist::job_from_environment([&](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(Dist, NoLauncherIsOneProcess) {
  const auto job = job_with({});
  EXPECT_EQ(job.world_size, 1);
  EXPECT_EQ(job.rank, 0);
  EXPECT_EQ(job.launcher, "none");
}

TEST(Dist, ReadsTorchrunsEnvironment) {
  const auto job = job_with(
      {{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "10.0.0.2"}, {"MASTER_PORT", "29400"}});
  EXPECT_EQ(job.launcher, "torchrun");
  EXPECT_EQ(job.rank, 3);
  EXPECT_EQ(job.world_size, 8);
  EXPECT_EQ(job.local_rank, 1);
  EXPECT_EQ(job.master_addr, "10.0.0.2");
  EXPECT_EQ(job.master_port, 29400);
}

TEST(Dist, ReadsSlurmsEnvironment) {
  const auto job = job_with({{"SLURM_PROCID", "5"},
                             {"SLURM_NTASKS", "6"},
                             {"SLURM_LOCALID", "2"},
                             {"MASTER_ADDR", "node01"},
                             {"MASTER_PORT", "29500"}});
  EXPECT_EQ(job.launcher, "slurm");
  EXPECT_EQ(job.rank, 5);
  EXPECT_EQ(job.world_size, 6);
  EXPECT_EQ(job.local_rank, 2);
  EXPECT_EQ(job.master_addr, "node01");
}

TEST(Dist, RefusesInconsistentJobs) {
  const auto kind_of = [](const std::map<std::string, std::string>& env) {
    try {
      job_with(env);
    } catch (const Error& e) {
      return e.kind();
    }
    return ErrorKind::kInternal;  // accepted: the caller's expectation fails
  };
  EXPECT_EQ(kind_of({{"RANK", "0"}}), ErrorKind::kUsage);                       // no WORLD_SIZE
  EXPECT_EQ(kind_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}}), ErrorKind::kUsage);  // rank outside
  EXPECT_EQ(kind_of({{"RANK", "x"}, {"WORLD_SIZE", "2"}}), ErrorKind::kUsage);  // not a number
  EXPECT_EQ(kind_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}}), ErrorKind::kUsage);  // no master
  EXPECT_EQ(kind_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}}),
            ErrorKind::kUsage);
}

TEST(Dist, AOneProcessGroupNeedsNoCommunication) {
  auto group = dist::Group::connect(dist::JobInfo{});
  auto t = torch::ones({3});
  group->allreduce_sum(t);
  int64_t batches = 4;
  group->allreduce_sums_and_counts({t}, {&batches});
  EXPECT_TRUE(t.equal(torch::ones({3})));
  EXPECT_EQ(batches, 4);
  EXPECT_EQ(group->size(), 1);
  EXPECT_THROW(dist::Group::connect(dist::JobInfo{}, "mpi"), Error);
}

TEST(Dist, BackendFollowsTheDeviceAndNcclIsRefusedOnThisBuild) {
  EXPECT_EQ(dist::resolve_backend("auto", torch::kCPU), "gloo");
  EXPECT_EQ(dist::resolve_backend("auto", torch::Device(torch::kCUDA, 0)), "nccl");
  EXPECT_EQ(dist::resolve_backend("gloo", torch::Device(torch::kCUDA, 0)), "gloo");
  EXPECT_THROW(dist::resolve_backend("mpi", torch::kCPU), Error);
  // One process needs no collectives, whatever the backend; two would need
  // NCCL, which Debian's CPU-only LibTorch lacks (refused before connecting).
  EXPECT_EQ(dist::Group::connect(dist::JobInfo{}, "nccl")->size(), 1);
  dist::JobInfo two;
  two.world_size = 2;
  try {
    dist::Group::connect(two, "nccl", 1);
    ADD_FAILURE() << "a two-process NCCL group was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(e.what()).find("no NCCL"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace repairbench
