# Thin executables around repairbench::core share its precompiled torch header.
function(repairbench_add_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE repairbench::core ${ARG_LIBS})
  target_precompile_headers(${name} REUSE_FROM repairbench_core)
  repairbench_set_warnings(${name})
endfunction()

# repairbench_add_test(<name> SOURCES a.cpp b.cpp LABELS unit [LIBS ...])
# One GoogleTest binary per module folder, and one CTest test per binary: a
# process per case spent most of the unit label in LibTorch's start-up (0.5-0.7
# s each; 253 core-seconds for 218 cases, against 118 for the 13 binaries run
# whole, measured 2026-12-02). The binary's output names every failed and
# skipped case; run one case with `<binary> --gtest_filter=Suite.Case`.
function(repairbench_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LABELS;LIBS" ${ARGN})
  repairbench_add_executable(${name}
    SOURCES ${ARG_SOURCES}
    LIBS repairbench_test_support GTest::gtest ${ARG_LIBS})
  add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 600)
  # `make test-asan` builds just these rather than every app and reproduction.
  if("unit" IN_LIST ARG_LABELS)
    add_dependencies(repairbench_unit_tests ${name})
  endif()
endfunction()
