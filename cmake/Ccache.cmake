# ccache makes rebuilds of an unchanged tree nearly free. The precompiled torch
# header needs the pch sloppiness settings or every lookup misses.
find_program(REPAIRBENCH_CCACHE ccache)
if(REPAIRBENCH_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      ${REPAIRBENCH_CCACHE})
endif()
