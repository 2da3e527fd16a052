# Thin executables around repairbench::core share its precompiled torch header.
function(repairbench_add_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE repairbench::core ${ARG_LIBS})
  target_precompile_headers(${name} REUSE_FROM repairbench_core)
  repairbench_set_warnings(${name})
endfunction()

# repairbench_add_test(<name> SOURCES a.cpp b.cpp LABELS unit [LIBS ...])
# One GoogleTest binary per module folder; every case becomes a CTest test.
# PRE_TEST discovery keeps test binaries from running at build time, and the
# timeout covers libtorch's start-up.
function(repairbench_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LABELS;LIBS" ${ARGN})
  repairbench_add_executable(${name}
    SOURCES ${ARG_SOURCES}
    LIBS repairbench_test_support GTest::gtest ${ARG_LIBS})
  gtest_discover_tests(${name}
    DISCOVERY_MODE PRE_TEST
    DISCOVERY_TIMEOUT 120
    PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 600
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  # `make test-asan` builds just these rather than every app and reproduction.
  if("unit" IN_LIST ARG_LABELS)
    add_dependencies(repairbench_unit_tests ${name})
  endif()
endfunction()
