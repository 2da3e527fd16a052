// One libFuzzer executable per reader: this file is compiled once per target
// with REPAIRBENCH_FUZZ_TARGET naming it (see CMakeLists.txt).
#include <torch/torch.h>

#include <cstddef>
#include <cstdint>

#include "harness.h"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // `make fuzz` runs targets side by side; the readers' few tensor ops do not
  // need a thread pool, and one thread keeps each target on one core.
  torch::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const repairbench::fuzz::Target& target = repairbench::fuzz::target(REPAIRBENCH_FUZZ_TARGET);
  target.run(data, size);
  return 0;
}
