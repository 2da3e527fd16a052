#include "repairbench/train/trainer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <thread>

#include "model_cases.h"
#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "repairbench/metrics/evaluate.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/models/zoo.h"
#include "repairbench/pipeline/defaults.h"
#include "synthetic.h"
#include "temp_dir.h"

namespace repairbench {
namespace {

using testing::make_config;

TEST(Schedule, TriangularAsTheReferenceInterpolates) {
  // np.interp(it, [0, 5*ipe, E*ipe], [0, 1, 0]) with ipe = 10, E = 20.
  train::Schedule s{train::ScheduleKind::kTriangular, 0.2, 5, 0.0};
  EXPECT_DOUBLE_EQ(s.lr_at(0, 10, 20), 0.0);
  EXPECT_DOUBLE_EQ(s.lr_at(25, 10, 20), 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(50, 10, 20), 0.2);
  EXPECT_DOUBLE_EQ(s.lr_at(125, 10, 20), 0.1);
  EXPECT_NEAR(s.lr_at(199, 10, 20), 0.2 / 150, 1e-12);
}

TEST(Schedule, WarmupThenCosine) {
  train::Schedule s{train::ScheduleKind::kWarmupCosine, 0.4, 5, 1e-6};
  EXPECT_NEAR(s.lr_at(0, 10, 20), 0.4e-6, 1e-12);
  EXPECT_DOUBLE_EQ(s.lr_at(50, 10, 20), 0.4);
  EXPECT_NEAR(s.lr_at(125, 10, 20), 0.2, 1e-12);  // halfway through the cosine
  EXPECT_THROW(train::parse_schedule("step"), Error);
}

TEST(Recipe, PresetsFollowTable1) {
  const auto mlp = pipeline::default_recipe(make_config("mlp", 128, "none", 1, 28, 10, 10), "fashion-mnist");
  EXPECT_EQ(mlp.batch_size, 2000);
  EXPECT_EQ(mlp.epochs, 100);
  EXPECT_DOUBLE_EQ(mlp.schedule.peak_lr, 0.1);
  EXPECT_EQ(mlp.augment.describe(), "translate4");
  // The norm-free MLPs default to Table 1 with He init, the GradScaler skip
  // rule and half the peak lr (the Fashion-MNIST recipe search); the "mlp" preset
  // is Table 1 as stated (lr 0.2), PyTorch's default init in plain fp32.
  EXPECT_EQ(mlp.name, "mlp_he_lr0.1");
  EXPECT_DOUBLE_EQ(train::recipe_preset("mlp", "fashion-mnist").schedule.peak_lr, 0.2);
  EXPECT_DOUBLE_EQ(train::recipe_preset("mlp_he", "fashion-mnist").schedule.peak_lr, 0.2);
  EXPECT_TRUE(mlp.kaiming_init);
  EXPECT_TRUE(mlp.grad_scaler);
  const auto stated = train::recipe_preset("mlp", "fashion-mnist");
  EXPECT_FALSE(stated.kaiming_init);
  EXPECT_FALSE(stated.grad_scaler);
  EXPECT_EQ(stated.batch_size, mlp.batch_size);
  EXPECT_EQ(stated.augment.describe(), mlp.augment.describe());
  EXPECT_FALSE(pipeline::default_recipe(make_config("mlp", 128, "bn", 1, 28, 10, 3), "mnist").kaiming_init);
  const auto r20 = pipeline::default_recipe(make_config("resnet20", 4, "bn", 3, 32), "cifar10");
  EXPECT_EQ(r20.augment.describe(), "flip+translate4+cutout12");
  EXPECT_EQ(pipeline::default_recipe(make_config("resnet20", 4, "bn", 3, 28), "mnist").augment.describe(),
            "translate4");
  EXPECT_DOUBLE_EQ(train::recipe_preset("vgg", "cifar10").weight_decay, 5e-4);
  EXPECT_THROW(train::recipe_preset("adam", "cifar10"), Error);
}

train::TrainOptions quick_options(int64_t epochs) {
  train::TrainOptions o;
  o.recipe = train::recipe_preset("mlp", "templates");
  o.recipe.batch_size = 64;
  o.recipe.epochs = epochs;
  o.recipe.schedule = {train::ScheduleKind::kTriangular, 0.05, 1, 0.0};
  o.recipe.augment = {};
  o.seed = 5;
  return o;
}

// Training lowers the loss and learns a learnable task.
TEST(Trainer, LowersTheLossOnALearnableTask) {
  const auto data = testing::template_dataset(1024, 1, 8, 4, 1);
  torch::manual_seed(0);
  auto net = models::make_network(make_config("mlp", 32, "none", 1, 8, 4, 2));
  const auto before = metrics::evaluate(*net, data, 256, torch::kCPU);
  const auto result = train::train(*net, data, quick_options(6));
  const auto after = metrics::evaluate(*net, data, 256, torch::kCPU);
  EXPECT_EQ(result.epochs.size(), 6u);
  EXPECT_EQ(result.iterations, 6 * (1024 / 64));
  EXPECT_LT(after.loss, 0.5 * before.loss);
  EXPECT_GT(after.accuracy, 90.0);
  EXPECT_LT(result.epochs.back().train_loss, result.epochs.front().train_loss);
}

// Same seeds, same machine: bitwise the same weights.
TEST(Trainer, IsDeterministicGivenTheSeeds) {
  const auto data = testing::template_dataset(512, 1, 8, 4, 2);
  auto run = [&] {
    torch::manual_seed(3);
    auto net = models::make_network(make_config("mlp", 16, "bn", 1, 8, 4, 2));
    auto options = quick_options(2);
    options.recipe.augment.translate = 2;
    options.recipe.augment.flip = true;
    train::train(*net, data, options);
    return models::state_dict(*net);
  };
  const auto a = run(), b = run();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i].second.equal(b[i].second)) << a[i].first;
}

// Recipe::kaiming_init: before the first step every Linear weight has std
// sqrt(2 / fan_in) and every bias is 0, whatever the global torch seed; BN
// affine parameters keep their init. Checked on a run of zero learning rate
// (momentum 0, so no step moves a weight).
TEST(Trainer, KaimingInitDrawsHeNormalWeightsAndZeroBiasesFromTheRunSeed) {
  const auto data = testing::template_dataset(256, 1, 8, 4, 1);
  auto start = [&](uint64_t torch_seed) {
    torch::manual_seed(torch_seed);
    auto net = models::make_network(make_config("mlp", 64, "bn", 1, 8, 4, 2));
    auto options = quick_options(1);
    options.recipe.kaiming_init = true;
    options.recipe.momentum = 0.0;
    options.recipe.schedule.kind = train::ScheduleKind::kConstant;
    options.recipe.schedule.peak_lr = 1e-30;
    train::train(*net, data, options);
    return models::state_dict(*net);
  };
  const auto a = start(1), b = start(2);
  for (size_t i = 0; i < a.size(); ++i) {
    const auto& [key, w] = a[i];
    SCOPED_TRACE(key);
    EXPECT_TRUE(torch::allclose(w, b[i].second, 0.0, 1e-20));  // the run seed, not the global one
    const bool linear = key.rfind("fc", 0) == 0 || (key.rfind("layers.", 0) == 0 && w.dim() == 2);
    if (linear && key.find("weight") != std::string::npos) {
      const double expected_std = std::sqrt(2.0 / static_cast<double>(w.size(1)));
      EXPECT_NEAR(w.std().item<double>(), expected_std, 0.1 * expected_std);
      EXPECT_NEAR(w.mean().item<double>(), 0.0, 0.1 * expected_std);
    }
  }
  for (const auto& [key, w] : a) {
    if (key == "fc2.bias") {
      EXPECT_LT(w.abs().max().item<double>(), 1e-20);  // 0 plus one step of lr 1e-30
    }
  }
}

// Channels-last training is the same computation in another memory order: the
// weights agree to float rounding, and the network comes back in the default
// order. One epoch (two SGD steps): each further step multiplies the rounding
// difference, here by ~40x per epoch. On an AMD EPYC (OpenBLAS Haswell and
// oneDNN AVX2 kernels, one thread) the largest weight difference was 2.4e-5
// after one epoch and 9.7e-4 after two, which broke this bound; a wrong
// memory order moves the weights by their own size in one step.
TEST(Trainer, ChannelsLastTrainsTheSameNetworkInAnotherMemoryOrder) {
  const auto data = testing::template_dataset(128, 3, 8, 4, 7);
  auto run = [&](bool channels_last) {
    torch::manual_seed(3);
    auto net = models::make_network(make_config("resnet20", 1, "bn", 3, 8, 4));
    auto options = quick_options(1);
    options.recipe.augment.flip = true;
    options.channels_last = channels_last;
    train::train(*net, data, options);
    return models::state_dict(*net);
  };
  const auto nchw = run(false), nhwc = run(true);
  for (size_t i = 0; i < nchw.size(); ++i) {
    EXPECT_TRUE(nhwc[i].second.is_contiguous()) << nhwc[i].first;
    EXPECT_TRUE(torch::allclose(nhwc[i].second, nchw[i].second, 1e-3, 1e-4))
        << nhwc[i].first << ": max |difference| " << (nhwc[i].second - nchw[i].second).abs().max().item<double>();
  }
}

TEST(Trainer, ADivergingRunStopsWithANumericError) {
  const auto data = testing::template_dataset(256, 1, 8, 4, 3);
  torch::manual_seed(0);
  auto net = models::make_network(make_config("mlp", 16, "none", 1, 8, 4, 2));
  auto options = quick_options(3);
  options.recipe.schedule = {train::ScheduleKind::kConstant, 1e12, 0, 0.0};
  try {
    train::train(*net, data, options);
    FAIL() << "training at lr 1e12 did not diverge";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNumeric);
    EXPECT_NE(std::string(e.what()).find("diverged"), std::string::npos) << e.what();
  }
}

// A run stopped after an epoch (as by a kill: the state file is all that is
// left) and started again ends with bitwise the weights of an uninterrupted
// run: momenta, the data order, augmentation and the GradScaler emulation all
// carry over.
TEST(Trainer, ResumesFromItsStateFileBitForBit) {
  auto data = testing::template_dataset(512, 1, 8, 4, 2);
  data.norm.std = {0.5};  // large first-layer gradients: the GradScaler emulation skips steps
  testing::TempDir dir;
  struct Stop {};
  auto run = [&](const std::string& state_path, int64_t stop_after_epoch) {
    torch::manual_seed(3);
    auto net = models::make_network(make_config("mlp", 16, "none", 1, 8, 4, 2));
    auto options = quick_options(4);
    options.recipe.augment.translate = 2;
    options.recipe.augment.flip = true;
    options.recipe.grad_scaler = true;
    options.state_path = state_path;
    options.on_epoch = [&](const train::EpochLog& log) {
      if (log.epoch + 1 == stop_after_epoch) throw Stop{};
    };
    const auto result = train::train(*net, data, options);
    return std::make_pair(models::state_dict(*net), result);
  };
  const auto [reference, uninterrupted] = run("", 0);
  const std::string state = dir.file("run.state");
  EXPECT_THROW(run(state, 1), Stop);
  EXPECT_THROW(run(state, 3), Stop);  // resumes at epoch 2, stops again after 3
  const auto [resumed, result] = run(state, 0);
  EXPECT_EQ(result.resumed_epochs, 3);
  EXPECT_EQ(result.iterations, uninterrupted.iterations);
  EXPECT_EQ(result.skipped_steps, uninterrupted.skipped_steps);
  EXPECT_GT(result.skipped_steps, 0);
  ASSERT_EQ(result.epochs.size(), 4u);
  for (size_t e = 0; e < 4; ++e) EXPECT_EQ(result.epochs[e].train_loss, uninterrupted.epochs[e].train_loss) << e;
  ASSERT_EQ(resumed.size(), reference.size());
  for (size_t i = 0; i < reference.size(); ++i) {
    EXPECT_TRUE(resumed[i].second.equal(reference[i].second)) << reference[i].first;
  }
}

// A resumed run reports its own training seconds apart from the
// earlier runs' (the report once added a killed run's seconds to this
// process's stage times, which then exceeded the total).
TEST(Trainer, AResumedRunCountsItsOwnSecondsApartFromEarlierRuns) {
  const auto data = testing::template_dataset(256, 1, 8, 4, 2);
  testing::TempDir dir;
  struct Stop {};
  auto options = quick_options(2);
  options.state_path = dir.file("run.state");
  constexpr double kSlowSeconds = 0.3;  // the first run's extra wall time
  options.on_iteration = [&](const train::TrainProgress& p) {
    if (p.epoch == 0 && p.batch == 0) std::this_thread::sleep_for(std::chrono::duration<double>(kSlowSeconds));
  };
  options.on_epoch = [&](const train::EpochLog& log) {
    if (log.epoch == 0) throw Stop{};
  };
  torch::manual_seed(0);
  auto net = models::make_network(make_config("mlp", 16, "none", 1, 8, 4, 2));
  EXPECT_THROW(train::train(*net, data, options), Stop);
  options.on_iteration = nullptr;
  options.on_epoch = nullptr;
  const auto resumed = train::train(*net, data, options);
  EXPECT_EQ(resumed.resumed_epochs, 1);
  EXPECT_GE(resumed.seconds - resumed.this_run_training_seconds, kSlowSeconds);
  EXPECT_LT(resumed.this_run_training_seconds, kSlowSeconds);
  EXPECT_GT(resumed.this_run_training_seconds, 0.0);

  options.state_path.clear();
  const auto fresh = train::train(*net, data, options);
  EXPECT_EQ(fresh.resumed_epochs, 0);
  EXPECT_EQ(fresh.seconds, fresh.this_run_training_seconds);
}

// A state file from another run (here another seed) is refused, not resumed.
TEST(Trainer, RefusesTheStateFileOfAnotherRun) {
  const auto data = testing::template_dataset(256, 1, 8, 4, 2);
  testing::TempDir dir;
  const std::string state = dir.file("run.state");
  auto options = quick_options(1);
  options.state_path = state;
  torch::manual_seed(0);
  auto net = models::make_network(make_config("mlp", 16, "none", 1, 8, 4, 2));
  train::train(*net, data, options);
  options.recipe.epochs = 2;
  options.seed = 6;
  try {
    train::train(*net, data, options);
    FAIL() << "resumed the state of another seed";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCheckpoint);
    EXPECT_NE(std::string(e.what()).find("belongs to another run"), std::string::npos) << e.what();
  }
  testing::write_bytes(state, "truncated");
  options.seed = 5;
  EXPECT_THROW(train::train(*net, data, options), Error);
}

// A damaged training state is refused naming its file, never resumed: a
// flipped bit anywhere (LibTorch's archive reader checks no CRC, so a flip in
// a weight once trained on silently), a cut file, an extended one.
TEST(Trainer, RefusesADamagedStateFile) {
  const auto data = testing::template_dataset(256, 1, 8, 4, 2);
  testing::TempDir dir;
  const std::string state = dir.file("run.state");
  struct Stop {};
  auto options = quick_options(2);
  options.state_path = state;
  options.on_epoch = [](const train::EpochLog& log) {
    if (log.epoch == 0) throw Stop{};  // as a kill after epoch 1: the state is left
  };
  torch::manual_seed(0);
  auto net = models::make_network(make_config("mlp", 16, "none", 1, 8, 4, 2));
  EXPECT_THROW(train::train(*net, data, options), Stop);
  options.on_epoch = nullptr;
  const std::string intact = read_file(state);
  ASSERT_GT(intact.size(), 1000u);
  struct Case {
    std::string name;
    std::string bytes;
    std::string says;
  };
  std::string flipped = intact;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x10);
  const std::vector<Case> cases = {
      {"a flipped bit", flipped, "is damaged"},
      {"cut short", intact.substr(0, intact.size() - 100), "has no integrity trailer"},
      {"extended", intact + "x", "has no integrity trailer"},
      {"trailer of another file", intact.substr(0, 200) + intact.substr(intact.size() - 16), "is damaged"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    testing::write_bytes(state, c.bytes);
    try {
      train::train(*net, data, options);
      ADD_FAILURE() << "resumed a state file " << c.name;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kCheckpoint);
      const std::string what = e.what();
      EXPECT_NE(what.find(state), std::string::npos) << what;
      EXPECT_NE(what.find(c.says), std::string::npos) << what;
    }
  }
  // The intact state still resumes.
  testing::write_bytes(state, intact);
  EXPECT_EQ(train::train(*net, data, options).resumed_epochs, 1);
}

// Divergence stops training with the path of the last good state in the message.
TEST(Trainer, DivergenceKeepsTheLastGoodState) {
  const auto data = testing::template_dataset(256, 1, 8, 4, 3);
  testing::TempDir dir;
  const std::string state = dir.file("run.state");
  torch::manual_seed(0);
  auto net = models::make_network(make_config("mlp", 16, "none", 1, 8, 4, 2));
  auto options = quick_options(3);
  options.state_path = state;
  options.recipe.schedule = {train::ScheduleKind::kConstant, 0.05, 0, 0.0};
  // After a good first epoch (its state saved), a NaN weight makes the loss NaN.
  options.on_epoch = [&](const train::EpochLog& log) {
    if (log.epoch == 0) {
      torch::NoGradGuard no_grad;
      net->parameters()[0].fill_(std::numeric_limits<float>::quiet_NaN());
    }
  };
  try {
    train::train(*net, data, options);
    FAIL() << "a NaN weight did not stop training";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNumeric);
    EXPECT_NE(std::string(e.what()).find("the state after epoch 1 is kept in " + state), std::string::npos) << e.what();
  }
  ASSERT_TRUE(std::filesystem::exists(state));
  torch::manual_seed(0);
  auto fresh = models::make_network(make_config("mlp", 16, "none", 1, 8, 4, 2));
  options.on_epoch = nullptr;
  options.recipe.epochs = 3;
  const auto result = train::train(*fresh, data, options);  // resumes from the good epoch 1
  EXPECT_EQ(result.resumed_epochs, 1);
  for (const auto& p : fresh->parameters()) EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
}

TEST(Recipe, ShortRunsKeepTheWarmupShare) {
  const auto full = train::recipe_preset("resnet20", "cifar10");  // 5 warm-up epochs of 200
  const auto quick = train::with_epochs(full, 2);
  EXPECT_EQ(quick.epochs, 2);
  EXPECT_DOUBLE_EQ(quick.schedule.warmup_epochs, 5.0 * 2 / 200);
  EXPECT_NE(quick.name, full.name);  // so the endpoint cache keeps them apart
  // The learning rate peaks early and decays to near zero by the end of the short run.
  EXPECT_LT(quick.schedule.lr_at(99, 50, 2), 0.01 * quick.schedule.peak_lr);
  EXPECT_THROW(train::with_epochs(full, 0), Error);
}

// GradScaler starts at a loss scale of 2^16: gradients above 65504 / 2^16 would
// overflow fp16, so it skips those steps and halves the scale until they fit.
// An epoch whose every step the emulated GradScaler skips is not divergence
// (a one-step epoch at the start skips while the scale halves toward the
// gradients); a scale halved below 2^-24 is, and says so.
TEST(Trainer, GradScalerEmulationOnlyGivesUpBelowTheSmallestScale) {
  auto data = testing::template_dataset(256, 1, 8, 4, 3);
  data.norm.std = {0.5};  // inputs x128: first-layer gradients above 1
  torch::manual_seed(0);
  auto net = models::make_network(make_config("mlp", 16, "none", 1, 8, 4, 2));
  auto options = quick_options(12);
  options.max_batches_per_epoch = 1;
  options.recipe.schedule = {train::ScheduleKind::kConstant, 1e-7, 0, 0.0};
  options.recipe.grad_scaler = true;
  const auto r = train::train(*net, data, options);
  EXPECT_GE(r.skipped_steps, 1);
  EXPECT_LT(r.skipped_steps, 12);
  for (const auto& e : r.epochs) EXPECT_TRUE(std::isfinite(e.train_loss));

  torch::manual_seed(0);
  auto wild = models::make_network(make_config("mlp", 16, "none", 1, 8, 4, 2));
  auto explode = quick_options(200);
  explode.recipe.schedule = {train::ScheduleKind::kConstant, 1e6, 0, 0.0};
  explode.recipe.grad_scaler = true;
  try {
    train::train(*wild, data, explode);
    FAIL() << "a learning rate of 1e6 trained";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNumeric);
    const std::string what = e.what();
    EXPECT_TRUE(what.find("fell below 2^-24") != std::string::npos || what.find("is not finite") != std::string::npos)
        << what;
  }
}

TEST(Trainer, GradScalerEmulationSkipsOverflowingStepsThenTrains) {
  auto data = testing::template_dataset(256, 1, 8, 4, 3);
  data.norm.std = {0.5};  // inputs x128: first-layer gradients above 1
  torch::manual_seed(0);
  auto net = models::make_network(make_config("mlp", 16, "none", 1, 8, 4, 2));
  auto options = quick_options(4);  // 4 steps per epoch
  options.recipe.schedule = {train::ScheduleKind::kConstant, 1e-7, 0, 0.0};
  options.recipe.grad_scaler = true;
  const auto before = models::clone(models::state_dict(*net));
  const auto r = train::train(*net, data, options);
  EXPECT_GT(r.skipped_steps, 0);
  EXPECT_LT(r.skipped_steps, r.iterations);  // once the scale fits, steps are taken
  bool changed = false;
  const auto after = models::state_dict(*net);
  for (size_t i = 0; i < after.size(); ++i) changed = changed || !after[i].second.equal(before[i].second);
  EXPECT_TRUE(changed);
  nlohmann::json j = options.recipe;
  EXPECT_TRUE(j.at("grad_scaler").get<bool>());
  nlohmann::json plain = train::recipe_preset("mlp", "fashion-mnist");
  EXPECT_FALSE(plain.contains("grad_scaler"));  // cache keys of existing endpoints are unchanged
}

}  // namespace
}  // namespace repairbench
