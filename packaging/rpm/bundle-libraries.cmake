# CPACK_PRE_BUILD_SCRIPTS for the RPM generator: runs on the staged files of
# every component before rpmbuild sees them.
#
# The binaries were linked against Debian's libraries. Those the RPM target
# provides under the same soname (glibc, libstdc++, OpenSSL 3, protobuf-c)
# stay ordinary requirements; the others (CPACK_HARMONY_RPM_BUNDLE: libnats,
# which Fedora does not package at all, and yaml-cpp, spdlog, fmt, whose
# Fedora versions have other sonames) are copied next to the package, and
# every program and copied library finds them through a RUNPATH relative to
# itself. rpmbuild's automatic Provides and Requires skip them
# (CPACK_RPM_SPEC_MORE_DEFINE in packaging/CMakeLists.txt), so the rpms
# neither require nor claim those sonames.

foreach(var CPACK_TEMPORARY_DIRECTORY CPACK_HARMONY_RPM_BUNDLE CPACK_HARMONY_RPM_PRIVATE_LIBDIR CPACK_HARMONY_PATCHELF)
  if(NOT ${var})
    message(FATAL_ERROR "bundle-libraries: ${var} is not set (is CPACK_PROJECT_CONFIG_FILE the one packaging/CMakeLists.txt writes?)")
  endif()
endforeach()

function(harmony_patchelf)
  execute_process(COMMAND "${CPACK_HARMONY_PATCHELF}" ${ARGN} RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "bundle-libraries: patchelf ${ARGN} failed: ${err}")
  endif()
endfunction()

file(GLOB components LIST_DIRECTORIES true "${CPACK_TEMPORARY_DIRECTORY}/*")
foreach(stage IN LISTS components)
  if(NOT IS_DIRECTORY "${stage}/usr/bin")
    continue()
  endif()
  get_filename_component(component "${stage}" NAME)
  string(TOUPPER "${component}" C)
  set(package "${CPACK_RPM_${C}_PACKAGE_NAME}")
  file(GLOB programs "${stage}/usr/bin/*")
  set(elves)
  foreach(program IN LISTS programs)
    file(READ "${program}" magic LIMIT 4 HEX)
    if(magic STREQUAL "7f454c46")
      list(APPEND elves "${program}")
    endif()
  endforeach()
  if(NOT elves)
    continue()
  endif()
  # The dependency closure, resolved the way the loader on this machine
  # resolves it; only the names to bundle are kept.
  file(GET_RUNTIME_DEPENDENCIES
    EXECUTABLES ${elves}
    RESOLVED_DEPENDENCIES_VAR resolved
    UNRESOLVED_DEPENDENCIES_VAR unresolved
    PRE_INCLUDE_REGEXES ${CPACK_HARMONY_RPM_BUNDLE}
    PRE_EXCLUDE_REGEXES ".*")
  if(unresolved)
    message(FATAL_ERROR "bundle-libraries: ${package}: cannot resolve ${unresolved}")
  endif()
  if(NOT resolved)
    continue()
  endif()
  set(private "${stage}${CPACK_HARMONY_RPM_PRIVATE_LIBDIR}/${package}")
  file(MAKE_DIRECTORY "${private}")
  foreach(library IN LISTS resolved)
    get_filename_component(soname "${library}" NAME)
    file(REAL_PATH "${library}" real)
    # Copied under its soname (the name NEEDED entries use), readable by
    # all, and finding its own bundled dependencies (spdlog needs fmt)
    # beside itself.
    file(COPY_FILE "${real}" "${private}/${soname}")
    file(CHMOD "${private}/${soname}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
    harmony_patchelf(--set-rpath "\$ORIGIN" "${private}/${soname}")
  endforeach()
  file(RELATIVE_PATH back "/usr/bin" "${CPACK_HARMONY_RPM_PRIVATE_LIBDIR}/${package}")
  foreach(program IN LISTS elves)
    harmony_patchelf(--set-rpath "\$ORIGIN/${back}" "${program}")
  endforeach()
  list(LENGTH resolved n)
  message(STATUS "bundle-libraries: ${package}: ${n} libraries in ${CPACK_HARMONY_RPM_PRIVATE_LIBDIR}/${package}")
endforeach()
