# Two commands do everything on a fresh machine (see README.md):
#   make repro   install what is missing, build, run the main reproduction
#   make test    install what is missing, build, run the unit + smoke tests
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all setup configure build test repro repro-all-quick bench clean

all: build

setup:
	@scripts/setup.sh

configure: setup
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) > $(BUILD_DIR).configure.log 2>&1 \
	  || (cat $(BUILD_DIR).configure.log; exit 1)

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# Each test process gets one thread so that ctest can run $(JOBS) of them side by side.
test: build
	@cd $(BUILD_DIR) && REPAIRBENCH_THREADS=1 ctest -L "unit|smoke" -j $(JOBS) --output-on-failure --timeout 900

# The main job: the paper's Fashion-MNIST MLP at width 128 with the paper's recipe.
repro: build
	@$(BUILD_DIR)/reproductions/repro_mlp_datasets --preset paper --datasets fashion-mnist --widths 128

# Any target with its defaults (the paper's recipe), e.g. make repro-mlp_datasets.
repro-%: build
	@$(BUILD_DIR)/reproductions/repro_$* $(ARGS)

# Every target's quick preset; a target whose data set is absent says so and is skipped.
repro-all-quick: build
	@for t in $(BUILD_DIR)/reproductions/repro_*; do \
	  $$t --preset quick; code=$$?; \
	  if [ $$code -eq 3 ]; then echo "skipped $$t: data set missing"; elif [ $$code -ne 0 ]; then exit $$code; fi; \
	done

# Google Benchmark suites with their JSON under reports/bench/ and a summary table.
bench: build
	@mkdir -p reports/bench
	@for b in bm_assignment bm_pipeline; do \
	  $(BUILD_DIR)/benchmarks/$$b --benchmark_min_time=0.5 --benchmark_out=reports/bench/$$b.json \
	    --benchmark_out_format=json || exit 1; \
	done
	@python3 tools/bench_summary.py reports/bench

clean:
	@rm -rf $(BUILD_DIR) $(BUILD_DIR).configure.log
