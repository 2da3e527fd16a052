# Every dependency comes from Debian's packages (scripts/setup.sh installs them).
find_package(Torch REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(MATIO REQUIRED IMPORTED_TARGET matio)

# Debian splits OpenCV into per-module -dev packages and ships its CMake config
# only with the libopencv-dev meta package (60 more packages); the three
# modules we use are found directly instead.
find_path(REPAIRBENCH_OPENCV_INCLUDE opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
add_library(repairbench::opencv INTERFACE IMPORTED)
foreach(module core imgproc imgcodecs)
  find_library(REPAIRBENCH_OPENCV_${module} opencv_${module} REQUIRED)
  target_link_libraries(repairbench::opencv INTERFACE ${REPAIRBENCH_OPENCV_${module}})
endforeach()
target_include_directories(repairbench::opencv SYSTEM INTERFACE ${REPAIRBENCH_OPENCV_INCLUDE})

find_package(Boost 1.74 REQUIRED COMPONENTS program_options)
if(REPAIRBENCH_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(REPAIRBENCH_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
