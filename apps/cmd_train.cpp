// `repairbench train`: one model of the zoo, trained with the paper's recipe.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli_common.h"
#include "commands.h"
#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "repairbench/core/runtime.h"
#include "repairbench/data/registry.h"
#include "repairbench/dist/dist.h"
#include "repairbench/metrics/evaluate.h"
#include "repairbench/models/checkpoint.h"
#include "repairbench/models/family.h"
#include "repairbench/models/zoo.h"
#include "repairbench/pipeline/defaults.h"
#include "repairbench/report/progress.h"
#include "repairbench/train/trainer.h"

namespace repairbench::cli {
namespace {

struct TrainFlags {
  ModelFlags model;
  DataFlags data;
  std::string device = "cpu";
  uint64_t seed = 0;
  std::string recipe;  // "" = the paper's preset for the model
  std::string out;
  std::string export_pytorch;
  int64_t max_batches = 0;
  int64_t eval_batch_size = 2000;
  int64_t checkpoint_every = 1;
  bool restart = false;
  std::string dist_backend = "auto";
  double bucket_mb = 25.0;  // PyTorch DDP's bucket_cap_mb
  bool channels_last = false;
  bool eval_train = false;
};

std::string default_out(const models::ModelConfig& c, const std::string& dataset, uint64_t seed) {
  std::ostringstream name;
  name << "checkpoints/" << models::family_name(c.family) << "_w" << c.width;
  if (c.family == models::Family::kMlp) name << "_d" << c.depth;
  name << "_" << models::to_string(c.norm) << "_" << dataset << "_seed" << seed << ".pt";
  return name.str();
}

// The recipe overrides given on the command line, applied to `r`.
void apply_recipe_flags(const po::variables_map& vm, train::Recipe& r) {
  if (vm.count("epochs")) r.epochs = vm["epochs"].as<int64_t>();
  if (vm.count("batch-size")) r.batch_size = vm["batch-size"].as<int64_t>();
  if (vm.count("lr")) r.schedule.peak_lr = vm["lr"].as<double>();
  if (vm.count("schedule")) r.schedule.kind = train::parse_schedule(vm["schedule"].as<std::string>());
  if (vm.count("warmup-epochs")) r.schedule.warmup_epochs = vm["warmup-epochs"].as<double>();
  if (vm.count("momentum")) r.momentum = vm["momentum"].as<double>();
  if (vm.count("weight-decay")) r.weight_decay = vm["weight-decay"].as<double>();
  if (vm.count("label-smoothing")) r.label_smoothing = vm["label-smoothing"].as<double>();
  if (vm.count("augment")) r.augment = data::parse_augment(vm["augment"].as<std::string>());
  if (vm.count("grad-scaler")) r.grad_scaler = true;
  if (vm.count("kaiming-init")) r.kaiming_init = true;
}

}  // namespace

int run_train(int argc, char** argv) {
  TrainFlags f;
  po::options_description description("repairbench train");
  description.add_options()("help,h", "show this help");
  add_model_flags(description, f.model);
  add_data_flags(description, f.data);
  add_run_flags(description, f.device, f.seed);
  add_dist_flags(description, f.dist_backend);
  std::string recipes;
  for (const auto& name : train::recipe_names()) recipes += (recipes.empty() ? "" : ", ") + name;
  const std::string recipe_help = "training preset (default: the paper's for the model): " + recipes;
  description.add_options()("recipe", po::value(&f.recipe), recipe_help.c_str())(
      "epochs", po::value<int64_t>(), "override the recipe's epochs")("batch-size", po::value<int64_t>(),
                                                                      "override the recipe's batch size")(
      "lr", po::value<double>(), "override the recipe's peak learning rate")(
      "schedule", po::value<std::string>(), "override the schedule: triangular | cosine | constant")(
      "warmup-epochs", po::value<double>(), "override the warm-up length in epochs")("momentum", po::value<double>(),
                                                                                     "override the SGD momentum")(
      "weight-decay", po::value<double>(), "override the weight decay")("label-smoothing", po::value<double>(),
                                                                        "override the label smoothing")(
      "augment", po::value<std::string>(), "override the augmentation, e.g. flip+translate4+cutout12 or none")(
      "grad-scaler", "emulate GradScaler's skip rule of the reference's fp16 training (see Recipe::grad_scaler)")(
      "kaiming-init",
      "re-initialize Linear/Conv weights from N(0, 2/fan_in), biases 0, instead of PyTorch's default "
      "(see Recipe::kaiming_init)")("out", po::value(&f.out),
                                    "checkpoint path (default checkpoints/<model>_..._seed<seed>.pt)")(
      "export-pytorch", po::value(&f.export_pytorch), "also write a plain torch.save(state_dict) file here")(
      "max-batches", po::value(&f.max_batches)->default_value(0), "stop each epoch after N batches (smoke runs)")(
      "eval-batch-size", po::value(&f.eval_batch_size)->default_value(f.eval_batch_size), "evaluation batch size")(
      "eval-train", po::bool_switch(&f.eval_train), "also evaluate on the (un-augmented) training set")(
      "checkpoint-every", po::value(&f.checkpoint_every)->default_value(f.checkpoint_every),
      "save the training state to <out>.state every N epochs (0: never); a rerun of a killed command "
      "resumes from it")("restart", po::bool_switch(&f.restart),
                         "ignore a leftover <out>.state and train from scratch")(
      "channels-last", po::bool_switch(&f.channels_last),
      "train conv nets with weights and batches in channels-last (NHWC) memory order (oneDNN)")(
      "bucket-mb", po::value(&f.bucket_mb)->default_value(f.bucket_mb),
      "data-parallel gradient buckets of this many MiB, each all-reduced as soon as backward has filled it "
      "(a size above the model's: one all-reduce after backward)");
  po::variables_map vm;
  if (!parse(argc, argv, "Trains one model and evaluates it on the test split.", description, vm)) {
    return 0;
  }

  // Every numeric flag is checked before any data is read: the
  // recipe depends only on the family and norm flags and the data set's name.
  models::ModelConfig planned;
  planned.family = models::parse_family(f.model.family);
  planned.norm = models::parse_norm(f.model.norm);
  train::Recipe recipe = f.recipe.empty() ? pipeline::default_recipe(planned, f.data.dataset)
                                          : train::recipe_preset(f.recipe, f.data.dataset);
  apply_recipe_flags(vm, recipe);
  train::validate(recipe);
  RB_CHECK(f.max_batches >= 0, kUsage, "--max-batches must be >= 0 (0: whole epochs), got ", f.max_batches);
  RB_CHECK(f.eval_batch_size >= 1, kUsage, "--eval-batch-size must be >= 1, got ", f.eval_batch_size);
  RB_CHECK(f.checkpoint_every >= 0, kUsage, "--checkpoint-every must be >= 0 (0: never), got ", f.checkpoint_every);
  RB_CHECK(f.bucket_mb > 0 && f.bucket_mb <= 1 << 20, kUsage, "--bucket-mb must be in (0, 1048576], got ", f.bucket_mb);

  const torch::Device device = parse_device(f.device);
  const data::DatasetSplits splits = data::load_dataset(f.data.dataset, f.data.data_dir);
  const models::ModelConfig config = model_config(f.model, splits.train);

  train::TrainOptions options;
  options.recipe = recipe;
  const train::Recipe& r = options.recipe;
  options.seed = f.seed;
  options.device = device;
  options.max_batches_per_epoch = f.max_batches;
  options.channels_last = f.channels_last;
  options.bucket_bytes = std::max<int64_t>(1, static_cast<int64_t>(f.bucket_mb * (1 << 20)));
  const std::string out = f.out.empty() ? default_out(config, f.data.dataset, f.seed) : f.out;
  check_output_is_not_an_input("--export-pytorch", f.export_pytorch, {out, out + ".state"});
  if (f.checkpoint_every > 0) {
    options.state_path = out + ".state";
    options.checkpoint_every = f.checkpoint_every;
  }
  // Launched by torchrun or srun: data-parallel over every rank of the job;
  // rank 0 alone writes the state, the checkpoint and the summary, and other
  // ranks print only their errors. Rank 0 drops a stale state before it joins
  // the group, so no rank can find it once training starts.
  const dist::JobInfo job = dist::job_from_environment();
  const bool lead = job.rank == 0;
  if (lead && (f.restart || options.state_path.empty())) std::filesystem::remove(out + ".state");
  f.dist_backend = dist::resolve_backend(f.dist_backend, device);
  options.group = dist::Group::connect(job, f.dist_backend);
  std::ostream quiet(nullptr);
  std::ostream& log = lead ? std::cerr : quiet;

  torch::manual_seed(f.seed);
  models::Network net = models::make_network(config);
  const RuntimeInfo runtime = runtime_info();
  log << "training " << config.describe() << " on " << f.data.dataset << " (" << splits.train.size()
      << " images) with recipe " << r.name << ": batch " << r.batch_size << ", " << r.epochs << " epochs, "
      << train::to_string(r.schedule.kind) << " lr " << r.schedule.peak_lr << ", wd " << r.weight_decay << ", augment "
      << r.augment.describe() << "; seed " << f.seed << ", " << runtime.threads << " threads, BLAS core "
      << (runtime.blas_core.empty() ? "?" : runtime.blas_core) << "\n";

  if (job.world_size > 1) {
    log << "data-parallel over " << job.world_size << " processes (" << job.launcher << ", " << f.dist_backend
        << "): " << r.batch_size / job.world_size << " images of each batch per rank\n";
  }
  if (!options.state_path.empty() && std::filesystem::exists(options.state_path)) {
    log << "resuming from the training state " << options.state_path << " (--restart to start over)\n";
  }
  report::TrainingProgress progress(log, lead && isatty(fileno(stderr)) != 0);
  options.on_iteration = progress.callback();
  const train::TrainResult result = train::train(*net, splits.train, options);
  progress.finish();
  if (!lead) return 0;

  const auto test = metrics::evaluate(*net, splits.test, f.eval_batch_size, device);
  nlohmann::json meta = {{"dataset", f.data.dataset},
                         {"recipe", r},
                         {"seed", f.seed},
                         {"device", f.device},
                         {"max_batches_per_epoch", f.max_batches},
                         {"train_seconds", result.seconds},
                         {"images_per_second", result.images_per_second},
                         {"skipped_steps", result.skipped_steps},
                         {"final_train_loss", result.epochs.back().train_loss},
                         {"test_accuracy", test.accuracy},
                         {"test_loss", test.loss},
                         {"torch_version", runtime.torch_version},
                         {"threads", runtime.threads},
                         {"blas_core", runtime.blas_core}};
  std::ostringstream summary;
  summary << std::fixed << std::setprecision(2) << "test accuracy " << test.accuracy << "% (loss "
          << std::setprecision(4) << test.loss << ", " << test.count << " images)";
  if (f.eval_train) {
    const auto tr = metrics::evaluate(*net, splits.train, f.eval_batch_size, device);
    meta["train_accuracy"] = tr.accuracy;
    meta["train_loss"] = tr.loss;
    summary << std::setprecision(2) << "; train accuracy " << tr.accuracy << "% (loss " << std::setprecision(4)
            << tr.loss << ")";
  }
  models::save_checkpoint(out, *net, meta);
  std::filesystem::remove(out + ".state");
  if (!f.export_pytorch.empty()) models::export_state_dict(f.export_pytorch, *net);
  std::cout << std::fixed << summary.str() << "\n"
            << "trained in " << report::ProgressBar::format_duration(result.seconds) << " (" << std::setprecision(1)
            << result.seconds << " s wall, " << std::setprecision(0) << result.images_per_second << " img/s, "
            << result.iterations << " iterations of " << r.batch_size;
  if (r.grad_scaler) std::cout << ", " << result.skipped_steps << " skipped by the GradScaler emulation";
  std::cout << ")\n";
  if (result.resumed_epochs > 0) {
    std::cout << "resumed after epoch " << result.resumed_epochs << ": " << std::setprecision(1)
              << result.this_run_training_seconds << " s of the " << result.seconds
              << " s of training were spent in this run\n";
  }
  std::cout << "checkpoint: " << out << "\n";
  return 0;
}

}  // namespace repairbench::cli
