// `repairbench merge`: align model B to model A, interpolate, REPAIR, and
// report the curves and barriers (docs/reference/algorithm.md §2 and §5).
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli_common.h"
#include "commands.h"
#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "repairbench/data/registry.h"
#include "repairbench/dist/dist.h"
#include "repairbench/interp/interpolate.h"
#include "repairbench/models/checkpoint.h"
#include "repairbench/models/family.h"
#include "repairbench/pipeline/defaults.h"
#include "repairbench/pipeline/merge.h"
#include "repairbench/report/context.h"
#include "repairbench/report/merge_report.h"
#include "repairbench/report/paper_reference.h"

namespace repairbench::cli {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, sep)) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

models::Network load(const std::string& path, const ModelFlags& flags, const data::Dataset& dataset,
                     const std::string& strip_prefix, bool flags_given) {
  if (models::is_repairbench_checkpoint(path) && !flags_given) return models::load_network(path);
  const models::ModelConfig config = model_config(flags, dataset);
  return models::load_network(path, &config, strip_prefix);
}

}  // namespace

int run_merge(int argc, char** argv) {
  ModelFlags model;
  DataFlags data_flags;
  std::string device_name = "cpu", a_path, b_path, match = "activation", repairs = "repair", alphas = "0:1:11";
  std::string out, strip_prefix, std_estimate, stats_augment, dist_backend = "auto", stats_order = "shuffled";
  std::string weight_order = "random";
  std::vector<std::string> match_points;
  uint64_t seed = 0;
  int64_t eval_batch_size = 2000, stats_batch_size = 0, stats_batches = 0, endpoint_epochs = 0, merged_epochs = 0;
  double target_std_eps = -1;
  bool eval_train = false, no_variance = false, unaligned_quirk = false;
  po::options_description description("repairbench merge");
  description.add_options()("help,h", "show this help")("a", po::value(&a_path)->required(),
                                                        "checkpoint of model A (kept fixed)")(
      "b", po::value(&b_path)->required(), "checkpoint of model B (aligned to A)")(
      "match", po::value(&match)->default_value(match),
      "activation (correlation) | covariance | inner-product | weight | none | random (seeded by --seed)")(
      "repair", po::value(&repairs)->default_value(repairs),
      "corrections to compare, comma-separated: none, reset-bn, repair, closed-form, repair-blocks, rescale, "
      "reshift, data-free")("alphas", po::value(&alphas)->default_value(alphas),
                            "alpha grid: start:stop:count or a,b,c")(
      "out", po::value(&out), "write the JSON report here")("eval-train", po::bool_switch(&eval_train),
                                                            "also evaluate every point on the un-augmented train set")(
      "eval-batch-size", po::value(&eval_batch_size)->default_value(eval_batch_size), "evaluation batch size")(
      "stats-batch-size", po::value(&stats_batch_size), "batch size of the statistics data (default: the reference's)")(
      "stats-batches", po::value(&stats_batches),
      "the corrections' statistics budget: batches per pass (default: every batch); matching still reads all")(
      "stats-augment", po::value(&stats_augment), "augmentation of the statistics data (default: the reference's)")(
      "stats-order", po::value(&stats_order)->default_value(stats_order),
      "shuffled (the reference's loaders) | sequential: the training set in stored order, consecutive "
      "batches, last incomplete one dropped, no augmentation, so another implementation can read exactly "
      "the same batches")(
      "weight-order", po::value(&weight_order)->default_value(weight_order),
      "weight matching's group order per sweep: random (seeded by --seed) | spec (the network's group order)")(
      "endpoint-epochs", po::value(&endpoint_epochs),
      "passes for the endpoints' REPAIR statistics (default: the reference's)")(
      "merged-epochs", po::value(&merged_epochs), "passes through the merged net (default: the reference's)")(
      "target-std-eps", po::value(&target_std_eps), "REPAIR scale = sqrt(sigma*^2 + eps) (default: the reference's)")(
      "std-estimate", po::value(&std_estimate), "correlation std: moment | average (default: the reference's)")(
      "match-point", po::value(&match_points)->composing(),
      "GROUP=POINT: match a group elsewhere, e.g. stream3=layer3.2 (repeatable)")(
      "no-variance-ratios", po::bool_switch(&no_variance), "skip the per-layer variance ratios")(
      "repair-stats-unaligned-b", po::bool_switch(&unaligned_quirk),
      "reproduce Permute-Datasets-MLP.ipynb's quirk: REPAIR statistics of B taken before alignment")(
      "strip-prefix", po::value(&strip_prefix), "remove this prefix from state_dict keys (e.g. module.)");
  add_model_flags(description, model);
  add_data_flags(description, data_flags);
  add_run_flags(description, device_name, seed);
  add_dist_flags(description, dist_backend);
  po::variables_map vm;
  if (!parse(argc, argv, "Aligns B to A, interpolates and repairs; prints the curves and barriers.", description, vm)) {
    return 0;
  }
  check_output_is_not_an_input("--out", out, {a_path, b_path});
  const torch::Device device = parse_device(device_name);
  const pipeline::Matcher matcher = pipeline::parse_matcher(match);
  const align::WeightOrder order_of_groups = align::parse_weight_order(weight_order);
  const pipeline::StatsOrder batch_order = pipeline::parse_stats_order(stats_order);

  // The data set defaults to the one model A was trained on.
  if (vm["dataset"].defaulted() && models::is_repairbench_checkpoint(a_path)) {
    const auto meta = models::load_checkpoint(a_path).meta;
    if (meta.contains("dataset")) {
      RB_CHECK(meta.at("dataset").is_string(), kCheckpoint, a_path, ": meta entry 'dataset' is ",
               meta.at("dataset").dump(), ", not a data set name");
      data_flags.dataset = meta.at("dataset").get<std::string>();
    }
  }
  const data::DatasetSplits splits = data::load_dataset(data_flags.dataset, data_flags.data_dir);
  const bool flags_given = !vm["model"].defaulted() || !vm["width"].defaulted();
  models::Network a = load(a_path, model, splits.train, strip_prefix, flags_given);
  models::Network b = load(b_path, model, splits.train, strip_prefix, flags_given);
  check_model_fits(a->config(), splits.train, a_path);
  check_model_fits(b->config(), splits.train, b_path);
  RB_CHECK(a->config() == b->config(), kUsage, "cannot merge ", a_path, " (", a->config().describe(), ") with ", b_path,
           " (", b->config().describe(), "): ", models::config_difference(a->config(), b->config()));

  pipeline::StatsDefaults defaults = pipeline::stats_defaults(a->config(), data_flags.dataset);
  data::LoaderOptions loader_options = defaults.loader;
  loader_options.seed = seed;
  loader_options.device = device;
  if (vm.count("stats-batch-size")) loader_options.batch_size = stats_batch_size;
  if (vm.count("stats-augment")) loader_options.augment = data::parse_augment(stats_augment);
  if (batch_order == pipeline::StatsOrder::kSequential) {
    RB_CHECK(!vm.count("stats-augment") || !loader_options.augment.any(), kUsage,
             "--stats-order sequential reads un-augmented batches; drop --stats-augment ", stats_augment);
    loader_options.shuffle = false;
    loader_options.augment = data::AugmentOptions{};
  }
  data::Loader match_loader(splits.train, loader_options);
  if (vm.count("stats-batches")) {
    RB_CHECK(stats_batches > 0, kUsage, "--stats-batches must be positive, got ", stats_batches);
    loader_options.max_batches = stats_batches;
  }
  data::Loader stats_loader(splits.train, loader_options);

  pipeline::MergeOptions options = pipeline::merge_options(defaults);
  options.match = matcher;
  options.random_seed = seed;
  if (vm.count("stats-batches")) options.match_loader = &match_loader;
  if (!std_estimate.empty()) options.activation.std_estimate = stats::parse_std_estimate(std_estimate);
  for (const auto& entry : match_points) {
    const auto eq = entry.find('=');
    RB_CHECK(eq != std::string::npos, kUsage, "--match-point wants GROUP=POINT, got ", entry);
    options.activation.match_points[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  options.weight.seed = seed;
  options.weight.order = order_of_groups;
  options.repairs.clear();
  for (const auto& name : split(repairs, ',')) {
    const auto method = repair::parse_repair_method(name);
    if (method != repair::RepairMethod::kNone) options.repairs.push_back(method);
  }
  if (vm.count("endpoint-epochs")) options.repair.endpoint_epochs = endpoint_epochs;
  if (vm.count("merged-epochs")) options.repair.merged_epochs = merged_epochs;
  if (vm.count("target-std-eps")) options.repair.target_std_eps = target_std_eps;
  options.alphas = interp::parse_alpha_grid(alphas);
  options.eval_train = eval_train;
  options.eval_batch_size = eval_batch_size;
  options.variance_ratios = !no_variance;
  options.repair_stats_from_unaligned_b = unaligned_quirk;

  // Launched by torchrun or srun: every statistics pass and evaluation is
  // shared over the ranks (each computes 1/N of the batches) and all-reduced;
  // rank 0 alone prints and writes the report.
  const dist::JobInfo job = dist::job_from_environment();
  dist_backend = dist::resolve_backend(dist_backend, device);
  const auto group = dist::Group::connect(job, dist_backend);
  std::ostream quiet(nullptr);
  std::ostream& log = job.rank == 0 ? std::cerr : quiet;
  std::ostream& table = job.rank == 0 ? std::cout : quiet;

  log << "merging " << a->config().describe() << " on " << data_flags.dataset << ": match " << match << ", repair "
      << repairs << ", " << options.alphas.size() << " alphas; statistics data: batch " << loader_options.batch_size
      << ", augment " << loader_options.augment.describe() << " (" << defaults.source << ")\n";
  if (job.world_size > 1) {
    log << "data-parallel statistics and evaluation over " << job.world_size << " processes (" << job.launcher << ", "
        << dist_backend << ")\n";
  }
  const auto result = pipeline::merge(*a, *b, stats_loader, splits.test, eval_train ? &splits.train : nullptr, options,
                                      {device, group.get()});

  std::optional<nlohmann::json> paper;
  if (a->config().family == models::Family::kMlp && a->config().norm == models::Norm::kNone) {
    paper = report::paper_mlp_point(data_flags.dataset, a->config().width, a->config().depth);
  }
  table << report::merge_table(result, paper);
  if (!out.empty() && job.rank == 0) {
    nlohmann::json settings = {
        {"model_a", a_path},
        {"model_b", b_path},
        {"model", a->config()},
        {"dataset", data_flags.dataset},
        {"match", pipeline::matcher_name(options.match)},
        {"std_estimate", stats::to_string(options.activation.std_estimate)},
        {"weight_order", align::weight_order_name(options.weight.order)},
        {"repairs", repairs},
        {"alphas", options.alphas},
        {"statistics_data",
         {{"split", "train"},
          {"batch_size", loader_options.batch_size},
          {"order", pipeline::stats_order_name(batch_order)},
          {"batches_per_pass", vm.count("stats-batches") ? nlohmann::json(stats_batches) : nlohmann::json("all")},
          {"augment", loader_options.augment.describe()},
          {"endpoint_epochs", options.repair.endpoint_epochs},
          {"merged_epochs", options.repair.merged_epochs},
          {"target_std_eps", options.repair.target_std_eps},
          {"source", defaults.source}}},
        {"repair_stats_from_unaligned_b", unaligned_quirk},
        {"seed", seed}};
    nlohmann::json report = {{"format_version", 1},
                             {"kind", "merge"},
                             {"context", report::run_context(device_name, argc, argv)},
                             {"settings", settings},
                             {"results", report::merge_results_json(result)}};
    if (paper) report["paper"] = *paper;
    write_file_atomic(out, report.dump(1) + "\n");
    table << "report: " << out << "\n";
  }
  return 0;
}

}  // namespace repairbench::cli
