# Code that only calls into the library (the CLI, the reproductions and their
# harness, the tests) compiles at -O1: the hot code is the library's and
# LibTorch's, and -O1 takes about a third less compile time per translation
# unit (the reproductions' main.cpp: 8.8 s against 13.3 s at -O3, measured
# one after the other). Without -ffast-math or -march the level changes no
# floating-point result; the golden reports check that. Benchmarks and the
# speed guards keep the library's -O3 (REPAIRBENCH_OPTIMIZED), since what
# they time may sit in their own translation units.
set(REPAIRBENCH_THIN_OPTIMIZATION -O1)

# Thin executables around repairbench::core share its precompiled torch header.
# OPTIMIZED keeps the library's optimization level.
function(repairbench_add_executable name)
  cmake_parse_arguments(ARG "OPTIMIZED" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE repairbench::core ${ARG_LIBS})
  target_precompile_headers(${name} REUSE_FROM repairbench_core)
  repairbench_set_warnings(${name})
  if(NOT ARG_OPTIMIZED AND CMAKE_BUILD_TYPE STREQUAL "Release")
    target_compile_options(${name} PRIVATE ${REPAIRBENCH_THIN_OPTIMIZATION})
  endif()
endfunction()

# repairbench_add_test(<name> SOURCES a.cpp b.cpp LABELS unit [LIBS ...])
# One CTest test per module folder. The `unit` label's modules are compiled
# into one GoogleTest binary, unit_tests (repairbench_add_unit_binary), and
# each module's test runs that binary with a filter on the module's test
# suites: every translation unit of a cold build first loads the 570 MB
# precompiled torch header (about 4 s), so fewer, larger unity batches build
# faster than a binary per module. Other labels keep a binary of their own.
# The output names every failed and skipped case; run one case with
# `unit_tests --gtest_filter=Suite.Case`.
function(repairbench_add_test name)
  cmake_parse_arguments(ARG "OPTIMIZED" "" "SOURCES;LABELS;LIBS" ${ARGN})
  set(optimized "")
  if(ARG_OPTIMIZED)
    set(optimized OPTIMIZED)
  endif()
  if(ARG_LABELS STREQUAL "unit")
    set(suites "")
    foreach(source IN LISTS ARG_SOURCES)
      get_filename_component(path ${source} ABSOLUTE)
      set_property(GLOBAL APPEND PROPERTY REPAIRBENCH_UNIT_SOURCES ${path})
      file(STRINGS ${path} lines REGEX "^(TEST|TEST_F|TEST_P|TYPED_TEST)\\(")
      foreach(line IN LISTS lines)
        string(REGEX REPLACE "^[A-Z_]+\\(([A-Za-z0-9_]+),.*" "\\1" suite "${line}")
        list(APPEND suites ${suite})
      endforeach()
    endforeach()
    list(REMOVE_DUPLICATES suites)
    set_property(GLOBAL APPEND PROPERTY REPAIRBENCH_UNIT_LIBS ${ARG_LIBS})
    set_property(GLOBAL APPEND PROPERTY REPAIRBENCH_UNIT_SUITES ${suites})
    # Suite.* and, for value-parameterized suites, Prefix/Suite.*.
    set(filter "")
    foreach(suite IN LISTS suites)
      string(APPEND filter "${suite}.*:*/${suite}.*:")
    endforeach()
    add_test(NAME ${name} COMMAND unit_tests --gtest_filter=${filter} WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  else()
    repairbench_add_executable(${name} ${optimized}
      SOURCES ${ARG_SOURCES}
      LIBS repairbench_test_support GTest::gtest ${ARG_LIBS})
    add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 600)
endfunction()

# The unit_tests binary of every module's unit sources, after the last
# repairbench_add_test; and unit_tests_covered, which fails when the binary
# holds a suite that no module's test runs (a suite whose TEST line the
# filter's pattern missed would otherwise never run).
function(repairbench_add_unit_binary)
  get_property(sources GLOBAL PROPERTY REPAIRBENCH_UNIT_SOURCES)
  get_property(libs GLOBAL PROPERTY REPAIRBENCH_UNIT_LIBS)
  get_property(suites GLOBAL PROPERTY REPAIRBENCH_UNIT_SUITES)
  list(REMOVE_DUPLICATES libs)
  repairbench_add_executable(unit_tests SOURCES ${sources} LIBS repairbench_test_support GTest::gtest ${libs})
  set_target_properties(unit_tests PROPERTIES UNITY_BUILD_BATCH_SIZE 12)
  # `make test-asan` builds just this rather than every app and reproduction.
  add_dependencies(repairbench_unit_tests unit_tests)
  add_test(NAME unit_tests_covered
           COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/unit_tests_covered.py $<TARGET_FILE:unit_tests> ${suites})
  set_tests_properties(unit_tests_covered PROPERTIES LABELS unit TIMEOUT 120)
endfunction()
