#include "harness/target_cli.h"

#include <c10/util/Exception.h>

#include <filesystem>
#include <iostream>
#include <sstream>

#include "repairbench/core/error.h"
#include "repairbench/core/runtime.h"
#include "repairbench/data/registry.h"

namespace repairbench::harness {

void add_common_flags(po::options_description& options, CommonFlags& f, const std::string& target) {
  f.settings.target = target;
  options.add_options()("help,h", "show this help")
      ("preset", po::value(&f.settings.preset)->default_value("paper"),
       "paper (the paper's recipe and grid) or quick (fewer widths/epochs, judged on the paper's claims)")
      ("pairs", po::value(&f.settings.pairs)->default_value(1), "pairs of endpoints (pair k: seeds 2k+1, 2k+2)")
      ("data-dir", po::value(&f.settings.data_dir), "data sets (default $REPAIRBENCH_DATA or <repo>/datasets)")
      ("cache-dir", po::value(&f.settings.cache_dir), "trained endpoints (default <repo>/checkpoints/cache)")
      ("out-dir", po::value(&f.settings.out_dir), "report folder (default <repo>/reports/<target>)")
      ("retrain", po::bool_switch(&f.settings.retrain), "train the endpoints again even if cached")
      ("sequential-endpoints", po::bool_switch(&f.sequential_endpoints),
       "train a pair's endpoints one after the other with every thread (default: side by side, half the threads "
       "each)")
      ("grad-scaler", po::bool_switch(&f.settings.grad_scaler),
       "train with the emulation of the reference's GradScaler skip rule (fp16 overflow skips a step; the "
       "norm-free MLPs' default recipe has it already)")
      ("epochs", po::value(&f.settings.epochs),
       "train this many epochs instead of the recipe's (warm-up scaled; default: the preset's)")
      ("smoke", po::bool_switch(&f.settings.smoke), "tiny run on synthetic data: checks the pipeline, not the paper")
      ("device", po::value(&f.device)->default_value(f.device), "cpu | cuda | cuda:N")
      ("shard", po::value(&f.shard),
       "k/n: compute only the k-th of n interleaved shares of the runs (point x pair) and write them to "
       "<out-dir>/shards; `repairbench report merge` then writes the report")
      ("collate", po::bool_switch(&f.settings.collate),
       "write the report from the shard reports in <out-dir>/shards (what `repairbench report merge` runs)")
      ("fail-on-mismatch", po::bool_switch(&f.fail_on_mismatch), "exit 1 when the verdict is fail");
}

bool parse_target_flags(int argc, char** argv, const std::string& about, const po::options_description& options,
                        po::variables_map& vm, CommonFlags& f) {
  try {
    po::store(po::command_line_parser(argc, argv).options(options).run(), vm);
    if (vm.count("help") != 0) {
      std::cout << about << "\n\n" << options << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    RB_FAIL(kUsage, e.what(), " (see --help)");
  }
  RB_CHECK(f.settings.preset == "paper" || f.settings.preset == "quick", kUsage, "--preset must be paper or quick");
  RB_CHECK(f.settings.epochs >= 0, kUsage, "--epochs must be positive");
  RB_CHECK(f.settings.pairs >= 1 && f.settings.pairs <= 100, kUsage, "--pairs must be in 1..100");
  f.settings.concurrent_endpoints = !f.sequential_endpoints;
  if (f.settings.preset == "quick" && f.settings.epochs == 0) f.settings.epochs = f.quick_epochs;
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
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--collate" || arg.rfind("--shard=", 0) == 0) continue;
    if (arg == "--shard") {
      ++i;
      continue;
    }
    f.settings.arguments.push_back(arg);
  }
  const std::string root = REPAIRBENCH_SOURCE_DIR;
  if (f.settings.cache_dir.empty()) f.settings.cache_dir = root + "/checkpoints/cache";
  if (f.settings.out_dir.empty()) f.settings.out_dir = root + "/reports/" + f.settings.target;
  if (f.device != "cpu") {
    RB_CHECK(torch::cuda::is_available(), kUsage, "--device ", f.device, " needs a CUDA build of LibTorch and a GPU");
    f.settings.device = torch::Device(f.device);
  }
  return true;
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

int run_sweep_target(const CommonFlags& flags, const std::vector<SweepPoint>& points,
                     const SweepLayout& layout, const nlohmann::json& settings_json,
                     const nlohmann::json& reference, const std::string& gap_cause, int argc, char** argv,
                     const std::vector<std::string>& notes) {
  const auto& s = flags.settings;
  const auto outcomes = run_sweep(s, points);
  const auto checks = sweep_checks(s, outcomes, layout);
  nlohmann::json settings = settings_json;
  settings["alphas"] = points.front().merge.alphas;
  settings["match"] = points.front().merge.match;
  const nlohmann::json report = {
      {"settings", settings},
      {"results", sweep_results_json(outcomes)},
      {"paper", {{"source", reference.at("source")}, {"notes", reference.value("notes", "")},
                 {"points", sweep_paper_json(outcomes)}}},
      {"plots", sweep_plots(s, outcomes, layout)}};
  std::vector<std::string> findings = notes;
  for (auto& f : sweep_findings(checks, gap_cause)) findings.push_back(std::move(f));
  return finish_target(s, report, checks, findings,
                              sweep_table(outcomes), flags.fail_on_mismatch, argc, argv);
}

std::vector<double> alpha_grid(int64_t points) {
  std::vector<double> alphas;
  for (int64_t i = 0; i < points; ++i) alphas.push_back(static_cast<double>(i) / static_cast<double>(points - 1));
  return alphas;
}

int run_target(int argc, char** argv, int (*body)(int, char**)) {
  try {
    init_runtime(argc, argv);
    return body(argc, argv);
  } catch (const ShardFinished& done) {
    std::cout << "shard done: " << done.runs << " run(s) in " << done.path
              << "; when every shard is done: repairbench report merge --shards "
              << std::filesystem::path(done.path).parent_path().string() << "\n";
    return 0;
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
