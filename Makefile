# Two commands do everything on a fresh machine (see README.md):
#   make repro   install what is missing, build, run the main reproduction
#   make test    install what is missing, build, run the unit + smoke tests
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all setup configure build test repro clean

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

repro: build
	@BUILD_DIR=$(BUILD_DIR) scripts/repro_default.sh

clean:
	@rm -rf $(BUILD_DIR) $(BUILD_DIR).configure.log
