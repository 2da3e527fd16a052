# REPAIRBENCH_SANITIZE=address,undefined instruments every target this project
# compiles (the library, its PCH, tests, tools); LibTorch, OpenBLAS and the
# other Debian libraries stay uninstrumented, so ASan sees their heap but not
# their out-of-bounds accesses. `make test-asan` uses it.
set(REPAIRBENCH_SANITIZE "" CACHE STRING
    "Comma-separated -fsanitize= list for our own code, e.g. address,undefined (empty: off)")
# libFuzzer targets (tests/fuzz); clang only, and the library must then be
# compiled with fuzzer-no-link coverage instrumentation too.
option(REPAIRBENCH_FUZZ "Build the libFuzzer targets under tests/fuzz (clang only)" OFF)

if(REPAIRBENCH_FUZZ AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "REPAIRBENCH_FUZZ needs clang (e.g. -DCMAKE_CXX_COMPILER=clang++-14)")
endif()
if(REPAIRBENCH_FUZZ AND NOT REPAIRBENCH_BUILD_TESTS)
  message(FATAL_ERROR "REPAIRBENCH_FUZZ lives in the test tree; keep REPAIRBENCH_BUILD_TESTS=ON")
endif()

set(repairbench_sanitize_flags "")
if(REPAIRBENCH_SANITIZE)
  list(APPEND repairbench_sanitize_flags -fsanitize=${REPAIRBENCH_SANITIZE} -fno-omit-frame-pointer)
  if(REPAIRBENCH_SANITIZE MATCHES "undefined")
    # A UB report fails the test that caused it instead of scrolling past.
    list(APPEND repairbench_sanitize_flags -fno-sanitize-recover=undefined)
  endif()
  add_link_options(-fsanitize=${REPAIRBENCH_SANITIZE})
endif()
if(REPAIRBENCH_FUZZ)
  list(APPEND repairbench_sanitize_flags -fsanitize=fuzzer-no-link)
endif()
# Directory-wide, so that the precompiled torch header gets the same flags as
# the sources that use it.
add_compile_options(${repairbench_sanitize_flags})
