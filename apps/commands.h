#pragma once

namespace repairbench::cli {

/// Each sub-command takes argv without the program name (argv[0] is the
/// command) and returns the process exit code; errors are thrown.
int run_train(int argc, char** argv);
int run_eval(int argc, char** argv);
int run_merge(int argc, char** argv);
int run_check_report(int argc, char** argv);
int run_compare(int argc, char** argv);
int run_report(int argc, char** argv);

}  // namespace repairbench::cli
