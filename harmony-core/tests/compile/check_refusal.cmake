# Compiles refusal.cpp against a topology with the capability (must succeed)
# and against one without (must fail, and the diagnostic must name the
# missing concept). Then list_disagrees.cpp (beside SOURCE): a capability
# list that disagrees with the constraint is refused inside a Plugin, naming
# the capability or the topology. Variables: CXX, SOURCE, INCLUDES (;-list).
set(flags -std=c++20 -fsyntax-only)
foreach(dir IN LISTS INCLUDES)
  list(APPEND flags "-I${dir}")
endforeach()

# compiles(<source> <define or ""> <why it must compile>)
function(compiles source define why)
  execute_process(COMMAND "${CXX}" ${flags} ${define} "${source}" RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${why}, but:\n${err}")
  endif()
endfunction()

# refused(<source> <define or ""> <what must not compile> <regex the diagnostic must match>)
function(refused source define what pattern)
  execute_process(COMMAND "${CXX}" ${flags} ${define} "${source}" RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(rc EQUAL 0)
    message(FATAL_ERROR "${what} compiled")
  endif()
  if(NOT err MATCHES "${pattern}")
    message(FATAL_ERROR "the diagnostic for ${what} does not match '${pattern}':\n${err}")
  endif()
endfunction()

compiles("${SOURCE}" -DTOPOLOGY=harmony::topologies::Local "refusal.cpp should compile against the local topology")
refused("${SOURCE}" -DTOPOLOGY=FilesOnly "refusal.cpp against a topology without SupervisesProcesses" "SupervisesProcesses")
message(STATUS "compiles with the capability; refused without it, naming SupervisesProcesses")

get_filename_component(here "${SOURCE}" DIRECTORY)
set(list_source "${here}/list_disagrees.cpp")
compiles("${list_source}" -DLIST_GOOD=1 "list_disagrees.cpp should compile with a list that matches its constraint")
refused("${list_source}" -DLIST_EXTRA=1 "a list naming a capability the constraint does not need"
        "listed_capability_that_create_interpret_does_not_need<TwoNeeds, harmony::topologies::Local, harmony::capability::Kubernetes")
refused("${list_source}" "" "a list omitting a capability the constraint needs"
        "create_interpret_needs_a_capability_the_list_omits<TwoNeeds, FilesOnly")
message(STATUS "a capability list that disagrees with its constraint is refused, naming the capability (or the topology)")
