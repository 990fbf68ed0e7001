# Compiles refusal.cpp against a topology with the capability (must succeed)
# and against one without (must fail, and the diagnostic must name the
# missing concept). Variables: CXX, SOURCE, INCLUDES (;-list).
set(flags -std=c++20 -fsyntax-only)
foreach(dir IN LISTS INCLUDES)
  list(APPEND flags "-I${dir}")
endforeach()

execute_process(COMMAND "${CXX}" ${flags} -DTOPOLOGY=harmony::topologies::Local "${SOURCE}"
                RESULT_VARIABLE with_rc ERROR_VARIABLE with_err)
if(NOT with_rc EQUAL 0)
  message(FATAL_ERROR "refusal.cpp should compile against the local topology, but:\n${with_err}")
endif()

execute_process(COMMAND "${CXX}" ${flags} -DTOPOLOGY=FilesOnly "${SOURCE}"
                RESULT_VARIABLE without_rc ERROR_VARIABLE without_err)
if(without_rc EQUAL 0)
  message(FATAL_ERROR "refusal.cpp compiled against a topology without SupervisesProcesses")
endif()
if(NOT without_err MATCHES "SupervisesProcesses")
  message(FATAL_ERROR "the diagnostic does not name the missing concept SupervisesProcesses:\n${without_err}")
endif()
message(STATUS "compiles with the capability; refused without it, naming SupervisesProcesses")
