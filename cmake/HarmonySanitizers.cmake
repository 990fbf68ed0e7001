# HARMONY_SANITIZE=thread|address instruments every target of the build, for
# scripts/run-sanitizers. Included before any target is defined.

# Called at the end of the top-level CMakeLists.txt: every executable gets the
# sanitizer defaults below (libraries stay as they are, and so does the SDK's
# export set).
function(harmony_sanitize_executables)
  if(NOT HARMONY_SANITIZE)
    return()
  endif()
  set(dirs "${PROJECT_SOURCE_DIR}")
  while(dirs)
    list(POP_FRONT dirs dir)
    get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
    list(APPEND dirs ${subdirs})
    get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
    foreach(target IN LISTS targets)
      get_target_property(type ${target} TYPE)
      if(type STREQUAL "EXECUTABLE")
        target_link_libraries(${target} PRIVATE harmony_sanitizer_options)
      endif()
    endforeach()
  endwhile()
endfunction()

if(NOT HARMONY_SANITIZE)
  return()
endif()
if(NOT HARMONY_SANITIZE MATCHES "^(thread|address)$")
  message(FATAL_ERROR "HARMONY_SANITIZE is '${HARMONY_SANITIZE}': use thread, address, or leave it empty")
endif()
# The sanitizer runtimes are shared libraries that replace operator new and
# the thread primitives: a libstdc++ linked statically would bypass them.
set(HARMONY_STATIC_RUNTIME OFF CACHE BOOL "" FORCE)
add_compile_options(-fsanitize=${HARMONY_SANITIZE} -fno-omit-frame-pointer -g)
add_link_options(-fsanitize=${HARMONY_SANITIZE})

# The tests run programs with a scrubbed environment, where TSAN_OPTIONS or
# ASAN_OPTIONS would not reach them: every program carries its defaults
# instead, and writes each report to a file under sanitizer-reports/ that
# scripts/run-sanitizers reads after the tests.
add_library(harmony_sanitizer_options OBJECT "${CMAKE_CURRENT_LIST_DIR}/sanitizers/default_options.c")
target_compile_definitions(harmony_sanitizer_options PRIVATE
  HARMONY_SANITIZER_REPORTS="${CMAKE_BINARY_DIR}/sanitizer-reports"
  HARMONY_TSAN_SUPPRESSIONS="${CMAKE_CURRENT_LIST_DIR}/sanitizers/tsan.supp")
