#include "harness/target_cli.h"

#include <c10/util/Exception.h>
#include <torch/cuda.h>

#include <filesystem>
#include <iostream>
#include <sstream>

#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "repairbench/core/runtime.h"
#include "repairbench/data/registry.h"
#include "repairbench/report/paper_reference.h"

namespace repairbench::harness {

void add_common_flags(po::options_description& options, CommonFlags& f, const std::string& target) {
  f.settings.target = target;
  options.add_options()("help,h", "show this help")(
      "preset", po::value(&f.preset)->default_value(f.preset),
      "paper (the paper's recipe and grid) or quick (fewer widths/epochs, judged on the paper's claims)")(
      "pairs", po::value(&f.settings.pairs)->default_value(1), "pairs of endpoints (pair k: seeds 2k+1, 2k+2)")(
      "data-dir", po::value(&f.settings.data_dir), "data sets (default $REPAIRBENCH_DATA or <repo>/datasets)")(
      "cache-dir", po::value(&f.settings.cache_dir), "trained endpoints (default <repo>/checkpoints/cache)")(
      "out-dir", po::value(&f.settings.out_dir), "report folder (default <repo>/reports/<target>)")(
      "retrain", po::bool_switch(&f.settings.retrain), "train the endpoints again even if cached")(
      "sequential-endpoints", po::bool_switch(&f.sequential_endpoints),
      "train a pair's endpoints one after the other with every thread (default: side by side, half the threads "
      "each)")("grad-scaler", po::bool_switch(&f.settings.grad_scaler),
               "train with the emulation of the reference's GradScaler skip rule (fp16 overflow skips a step; the "
               "norm-free MLPs' default recipe has it already)")(
      "epochs", po::value(&f.settings.epochs),
      "train this many epochs instead of the recipe's (warm-up scaled; default: the preset's)")(
      "smoke", po::bool_switch(&f.settings.smoke), "tiny run on synthetic data: checks the pipeline, not the paper")(
      "device", po::value(&f.device)->default_value(f.device), "cpu | cuda | cuda:N")(
      "shard", po::value(&f.shard),
      "k/n: compute only the k-th of n interleaved shares of the runs (point x pair) and write them to "
      "<out-dir>/shards; `repairbench report merge` then writes the report")(
      "collate", po::bool_switch(&f.settings.collate),
      "write the report from the shard reports in <out-dir>/shards; given with --out-dir alone, the shards' own "
      "flags are used (what `repairbench report merge` runs)")("fail-on-mismatch", po::bool_switch(&f.fail_on_mismatch),
                                                               "exit 1 when the verdict is fail");
}

namespace {

// True for `--collate` given with at most `--out-dir DIR`: the sweep's flags
// are then those the shards in DIR/shards ran with (what `repairbench report
// merge` runs, so that no flag travels from a report into a command line).
bool collate_from_shards(const std::vector<std::string>& args) {
  bool collate = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--collate") {
      collate = true;
    } else if (args[i] == "--out-dir" && i + 1 < args.size()) {
      ++i;
    } else if (args[i].rfind("--out-dir=", 0) != 0) {
      return false;
    }
  }
  return collate;
}

}  // namespace

bool parse_target_flags(int argc, char** argv, const std::string& about, const po::options_description& options,
                        po::variables_map& vm, CommonFlags& f) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parse = [&](const std::vector<std::string>& given) {
    try {
      po::store(po::command_line_parser(given).options(options).run(), vm);
      if (vm.count("help") != 0) return false;
      po::notify(vm);
    } catch (const po::error& e) {
      RB_FAIL(kUsage, e.what(), " (see --help)");
    }
    return true;
  };
  if (!parse(args)) {
    std::cout << about << "\n\n" << options << "\n";
    return false;
  }
  // The folders a run defaults to: <repo>/checkpoints/cache and <repo>/reports/<target>.
  const auto default_paths = [&f] {
    const std::string root = REPAIRBENCH_SOURCE_DIR;
    if (f.settings.cache_dir.empty()) f.settings.cache_dir = root + "/checkpoints/cache";
    if (f.settings.out_dir.empty()) f.settings.out_dir = root + "/reports/" + f.settings.target;
  };
  default_paths();
  if (collate_from_shards(args)) {
    const std::string out_dir = f.settings.out_dir;
    const auto shards = load_shard_reports(out_dir + "/shards");
    RB_CHECK(shards.front().target == f.settings.target, kUsage, "the shard reports in ", out_dir,
             "/shards are of target ", shards.front().target, ", not ", f.settings.target);
    // The shards' flags are data, read through this target's own option
    // table: a flag it does not know is refused, and none is executed.
    args = shards.front().arguments;
    vm = po::variables_map();
    RB_CHECK(parse(args), kUsage, "the shards in ", out_dir, "/shards ran with --help; they computed nothing");
    f.settings.collate = true;
    f.settings.out_dir = out_dir;
  }
  f.settings.preset = parse_preset(f.preset);
  RB_CHECK(f.settings.epochs >= 0, kUsage, "--epochs must be positive");
  RB_CHECK(f.settings.pairs >= 1 && f.settings.pairs <= 100, kUsage, "--pairs must be in 1..100");
  f.settings.concurrent_endpoints = !f.sequential_endpoints;
  if (f.settings.preset == Preset::kQuick && f.settings.epochs == 0) f.settings.epochs = f.quick_epochs;
  if (!f.shard.empty()) {
    const auto slash = f.shard.find('/');
    size_t used_k = 0, used_n = 0;
    int64_t k = 0, n = 0;
    try {
      k = std::stoll(f.shard.substr(0, slash), &used_k);
      n = std::stoll(f.shard.substr(slash + 1), &used_n);
    } catch (const std::exception&) {
      used_k = 0;
    }
    RB_CHECK(slash != std::string::npos && used_k == slash && used_n == f.shard.size() - slash - 1 && n >= 1 &&
                 k >= 1 && k <= n,
             kUsage, "--shard wants k/n with 1 <= k <= n, e.g. 2/3; got '", f.shard, "'");
    RB_CHECK(!f.settings.collate, kUsage, "--collate reads the shards' results; give it without --shard");
    f.settings.shard_index = k - 1;
    f.settings.shard_count = n;
  }
  // The arguments that define the sweep: everything but the sharding flags,
  // which differ between the shards and the collating run.
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--collate" || arg.rfind("--shard=", 0) == 0) continue;
    if (arg == "--shard") {
      ++i;
      continue;
    }
    f.settings.arguments.push_back(arg);
  }
  if (f.device != "cpu") {
    RB_CHECK(torch::cuda::is_available(), kUsage, "--device ", f.device, " needs a CUDA build of LibTorch and a GPU");
    f.settings.device = torch::Device(f.device);
  }
  return true;
}

std::string flag_or_preset(const TargetSettings& settings, const std::string& flag, const std::string& paper,
                           const std::string& quick, const std::string& smoke) {
  if (!flag.empty()) return flag;
  if (settings.smoke && !smoke.empty()) return smoke;
  return settings.preset == Preset::kPaper ? paper : quick;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& flag) {
  std::vector<int64_t> values;
  for (const auto& part : split(text)) {
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(part, &used);
    } catch (const std::logic_error&) {
      used = 0;
    }
    RB_CHECK(used == part.size() && v > 0, kUsage, flag, " wants positive integers, got '", part, "'");
    values.push_back(v);
  }
  RB_CHECK(!values.empty(), kUsage, flag, " is empty");
  return values;
}

std::optional<PaperPoint> find_paper(const TargetSettings& settings, const nlohmann::json& reference,
                                     const std::function<bool(const nlohmann::json&)>& match) {
  if (settings.smoke) return std::nullopt;
  for (const auto& entry : reference.at("points")) {
    if (match(entry)) return paper_point_from_json(entry, reference.at("source").get<std::string>());
  }
  return std::nullopt;
}

std::vector<double> alpha_grid(int64_t points) {
  std::vector<double> alphas;
  for (int64_t i = 0; i < points; ++i) alphas.push_back(static_cast<double>(i) / static_cast<double>(points - 1));
  return alphas;
}

namespace {

int run_declared(int argc, char** argv, const TargetSpec& spec) {
  CommonFlags flags;
  flags.quick_epochs = spec.quick_epochs;
  po::options_description options(spec.name);
  add_common_flags(options, flags, spec.name);
  if (spec.flags) spec.flags(options);
  po::variables_map vm;
  if (!parse_target_flags(argc, argv, spec.about, options, vm, flags)) return 0;
  const auto& s = flags.settings;
  // Before any training: an output folder found unusable only when the
  // report is written would throw the whole run away.
  check_writable_directory("--out-dir", s.out_dir);
  const nlohmann::json reference = spec.reference.empty() ? nlohmann::json{{"source", spec.paper_source}}
                                                          : report::load_paper_reference(spec.reference);
  const Plan plan = spec.plan(s, reference);
  RB_CHECK(!plan.points.empty(), kUsage, spec.name, " has no points to run");
  const SweepRun run = run_sweep(s, plan.points);
  if (run.shard) {
    std::cout << "shard done: " << run.shard->runs << " run(s) in " << run.shard->path
              << "; when every shard is done: repairbench report merge --shards "
              << std::filesystem::path(run.shard->path).parent_path().string() << "\n";
    return 0;
  }
  const auto& outcomes = run.outcomes;
  std::vector<Check> checks;
  if (spec.judge_sweep) checks = sweep_checks(s, outcomes, plan.layout);
  const Extension extension = spec.extend ? spec.extend(s, plan, outcomes) : Extension{};
  checks.insert(checks.end(), extension.checks.begin(), extension.checks.end());
  TargetReport report;
  report.context = target_context(s, s.collate ? StageSeconds{} : run.stages());
  if (s.collate) report.context.shard_stages = run.stages();
  report.settings = plan.settings;
  report.settings["alphas"] = plan.points.front().merge.alphas;
  report.settings["match"] = pipeline::matcher_name(plan.points.front().merge.match);
  report.results = sweep_results_json(outcomes);
  report.paper = {reference.at("source").get<std::string>(), reference.value("notes", ""), sweep_paper_json(outcomes)};
  // A figure the paper stores no numbers for is judged on its claims under
  // either preset (TargetSpec::mode).
  const std::string mode = !spec.mode.empty() ? spec.mode : (s.judged_on_numbers() ? "paper-numbers" : "qualitative");
  report.verdict = make_verdict(mode, checks);
  report.findings = spec.notes;
  for (auto& f : sweep_findings(report.verdict.checks, spec.known_differences)) report.findings.push_back(std::move(f));
  report.plots = extension.plots;
  if (plan.layout.curve_plots) {
    for (auto& file : sweep_plots(s, outcomes, plan.layout)) report.plots.push_back(std::move(file));
  }
  report.extensions = extension.report;
  const std::string path = write_target_report(s, report, argc, argv);
  print_target_summary(std::cout, s, report, sweep_table(outcomes) + extension.table, path);
  return (flags.fail_on_mismatch && report.verdict.result == "fail") ? 1 : 0;
}

}  // namespace

int run_target(int argc, char** argv, const TargetSpec& spec) {
  try {
    init_runtime(argc, argv);
    return run_declared(argc, argv, spec);
  } catch (const Error& e) {
    std::cerr << argv[0] << ": error: " << e.what() << "\n";
    return exit_code(e.kind());
  } catch (const c10::Error& e) {
    std::cerr << argv[0] << ": torch error: " << e.what_without_backtrace() << "\n";
    return exit_code(ErrorKind::kInternal);
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": error: " << e.what() << "\n";
    return exit_code(ErrorKind::kInternal);
  }
}

}  // namespace repairbench::harness
