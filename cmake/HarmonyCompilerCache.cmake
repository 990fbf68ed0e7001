# ccache when present: rebuilds on 2 cores are dominated by a few heavy headers.
if(HARMONY_USE_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  find_program(HARMONY_CCACHE_PROGRAM ccache)
  if(HARMONY_CCACHE_PROGRAM)
    set(CMAKE_C_COMPILER_LAUNCHER "${HARMONY_CCACHE_PROGRAM}")
    set(CMAKE_CXX_COMPILER_LAUNCHER "${HARMONY_CCACHE_PROGRAM}")
  endif()
endif()
