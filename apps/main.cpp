// repairbench: the command-line entry point. Sub-commands live in cmd_*.cpp;
// this file dispatches and turns every error into one line and an exit code.
#include <c10/util/Exception.h>

#include <cstring>
#include <iostream>
#include <string>

#include "commands.h"
#include "repairbench/core/error.h"
#include "repairbench/core/runtime.h"

namespace {

constexpr const char* kUsage =
    "usage: repairbench <command> [options]\n"
    "\n"
    "commands:\n"
    "  train   train a model of the zoo with the paper's recipe (or flags)\n"
    "  eval    evaluate a checkpoint (ours or a PyTorch state_dict) on a data set\n"
    "  merge   align model B to model A, interpolate, REPAIR; curves, barriers, JSON report\n"
    "  compare show what changed between two reports (exit 1 beyond --tolerance)\n"
    "  check-report  check a report against the report schema\n"
    "  report merge  collate the shard reports of a sharded reproduction (--shard k/n) into its report\n"
    "\n"
    "`repairbench <command> --help` lists every option of a command.";

int dispatch(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::cout << kUsage << "\n";
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  if (command == "train") return repairbench::cli::run_train(argc - 1, argv + 1);
  if (command == "eval") return repairbench::cli::run_eval(argc - 1, argv + 1);
  if (command == "merge") return repairbench::cli::run_merge(argc - 1, argv + 1);
  if (command == "compare") return repairbench::cli::run_compare(argc - 1, argv + 1);
  if (command == "check-report") return repairbench::cli::run_check_report(argc - 1, argv + 1);
  if (command == "report") return repairbench::cli::run_report(argc - 1, argv + 1);
  RB_FAIL(kUsage, "unknown command '", command, "'; run repairbench --help");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    repairbench::init_runtime(argc, argv);
    return dispatch(argc, argv);
  } catch (const repairbench::Error& e) {
    std::cerr << "repairbench: error: " << e.what() << "\n";
    return repairbench::exit_code(e.kind());
  } catch (const c10::Error& e) {
    std::cerr << "repairbench: torch error: " << e.what_without_backtrace() << "\n";
    return repairbench::exit_code(repairbench::ErrorKind::kInternal);
  } catch (const std::exception& e) {
    std::cerr << "repairbench: error: " << e.what() << "\n";
    return repairbench::exit_code(repairbench::ErrorKind::kInternal);
  }
}
