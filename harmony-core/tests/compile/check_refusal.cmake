# Compiles refusal.cpp against a topology with the capability (must succeed)
# and against one without (must fail, and the diagnostic must name the
# missing concept). Then list_disagrees.cpp (beside SOURCE): a capability
# list that disagrees with the constraint is refused inside a Plugin, naming
# the capability or the topology. Variables: CXX, SOURCE, INCLUDES (;-list).
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

get_filename_component(here "${SOURCE}" DIRECTORY)
set(list_source "${here}/list_disagrees.cpp")
execute_process(COMMAND "${CXX}" ${flags} -DLIST_GOOD=1 "${list_source}" RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "list_disagrees.cpp should compile with a list that matches its constraint, but:\n${err}")
endif()
execute_process(COMMAND "${CXX}" ${flags} -DLIST_EXTRA=1 "${list_source}" RESULT_VARIABLE rc ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "a list naming a capability the constraint does not need compiled")
endif()
if(NOT err MATCHES "listed_capability_that_create_interpret_does_not_need<TwoNeeds, harmony::topologies::Local, harmony::capability::Kubernetes")
  message(FATAL_ERROR "the diagnostic for an extra capability does not name the Score, topology and capability:\n${err}")
endif()
execute_process(COMMAND "${CXX}" ${flags} "${list_source}" RESULT_VARIABLE rc ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "a list omitting a capability the constraint needs compiled")
endif()
if(NOT err MATCHES "create_interpret_needs_a_capability_the_list_omits<TwoNeeds, FilesOnly")
  message(FATAL_ERROR "the diagnostic for an omitted capability does not name the Score and topology:\n${err}")
endif()
message(STATUS "a capability list that disagrees with its constraint is refused, naming the capability (or the topology)")
