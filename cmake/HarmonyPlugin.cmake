# harmony_add_plugin(<name> SOURCES <files>... [LIBRARIES <targets>...])
#
# Builds the plugin executable harmony-<name> on the harmony-core SDK and
# embeds its descriptor (docs/plugin-protocol.md): after each link the plugin
# is run once as `harmony-<name> __descriptor <file>`, and objcopy writes what
# it printed into the section .harmony_plugin. Plugin authors write nothing
# for either. The same function builds the plugins of this repository and
# those of third parties (installed with the SDK's CMake package).
#
# Cross-compiling: set HARMONY_PLUGIN_RUNNER to an emulator command (for
# example qemu-aarch64) so the descriptor can be produced.

# Where this file is: its helper script (HarmonyExtras.cmake) sits beside it,
# in the source tree as in the installed SDK.
set(_harmony_cmake_dir "${CMAKE_CURRENT_LIST_DIR}")

if(NOT HARMONY_OBJCOPY)
  find_program(HARMONY_OBJCOPY NAMES objcopy REQUIRED)
endif()
set(HARMONY_PLUGIN_RUNNER "" CACHE STRING "Emulator that runs target executables when cross-compiling")

function(harmony_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT name MATCHES "^[a-z0-9][a-z0-9_-]*$")
    message(FATAL_ERROR "harmony_add_plugin: '${name}' is not a valid plugin name (lowercase letters, digits, '-', '_')")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "harmony_add_plugin(${name}): SOURCES is required")
  endif()
  set(target harmony-${name})
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE harmony::core ${ARG_LIBRARIES})
  # In CMake's own directory for the target, not beside the program: a
  # harmony-* file next to the plugin would be taken for another plugin.
  set(descriptor "${CMAKE_CURRENT_BINARY_DIR}/CMakeFiles/${target}.dir/descriptor.json")
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${HARMONY_PLUGIN_RUNNER} "$<TARGET_FILE:${target}>" __descriptor "${descriptor}"
    COMMAND "${HARMONY_OBJCOPY}" --add-section ".harmony_plugin=${descriptor}"
            --set-section-flags ".harmony_plugin=noload,readonly" "$<TARGET_FILE:${target}>"
    COMMENT "Embedding the descriptor of ${target}"
    VERBATIM)
endfunction()

# harmony_install_completions(TARGET <target> [COMPONENT <component>])
#
# Installs bash, zsh and fish completion for the program <target> builds
# (harmony, or a plugin harmony-<name>), where each shell looks for them:
# the scripts come from `<program> completion <shell>`, run at build time.
function(harmony_install_completions)
  cmake_parse_arguments(ARG "" "TARGET;COMPONENT" "" ${ARGN})
  if(NOT ARG_TARGET)
    message(FATAL_ERROR "harmony_install_completions: TARGET is required")
  endif()
  set(command "$<TARGET_FILE_NAME:${ARG_TARGET}>")
  # Under CMakeFiles, like the descriptor: never a harmony-* name beside the program.
  set(out "${CMAKE_CURRENT_BINARY_DIR}/CMakeFiles/${ARG_TARGET}-completions.dir/scripts")
  add_custom_command(OUTPUT "${out}/bash" "${out}/zsh" "${out}/fish"
    COMMAND "${CMAKE_COMMAND}" "-DPROGRAM=$<TARGET_FILE:${ARG_TARGET}>" "-DRUNNER=${HARMONY_PLUGIN_RUNNER}"
            "-DOUT=${out}" -P "${_harmony_cmake_dir}/HarmonyExtras.cmake"
    DEPENDS ${ARG_TARGET} "${_harmony_cmake_dir}/HarmonyExtras.cmake"
    COMMENT "Writing the completion scripts of ${ARG_TARGET}"
    VERBATIM)
  add_custom_target(${ARG_TARGET}-completions ALL DEPENDS "${out}/bash" "${out}/zsh" "${out}/fish")
  set(component)
  if(ARG_COMPONENT)
    set(component COMPONENT ${ARG_COMPONENT})
  endif()
  install(FILES "${out}/bash" DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions"
          RENAME "${command}" ${component})
  install(FILES "${out}/zsh" DESTINATION "${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions"
          RENAME "_${command}" ${component})
  install(FILES "${out}/fish" DESTINATION "${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d"
          RENAME "${command}.fish" ${component})
endfunction()

# harmony_install_gzipped(<file> DESTINATION <dir> [RENAME <name>] [COMPONENT <component>])
#
# Installs <file> compressed as Debian wants (gzip -9n: no name, no time
# stamp) as <dir>/<name>.gz: a changelog, a man page.
function(harmony_install_gzipped file)
  cmake_parse_arguments(ARG "" "DESTINATION;RENAME;COMPONENT" "" ${ARGN})
  get_filename_component(name "${file}" NAME)
  if(ARG_RENAME)
    set(name "${ARG_RENAME}")
  endif()
  get_filename_component(file "${file}" ABSOLUTE)
  string(MAKE_C_IDENTIFIER "${ARG_DESTINATION}/${name}" id)
  set(out "${CMAKE_CURRENT_BINARY_DIR}/gzipped/${id}/${name}.gz")
  add_custom_command(OUTPUT "${out}"
    COMMAND "${CMAKE_COMMAND}" "-DGZIP=${file}" "-DOUT=${out}" -P "${_harmony_cmake_dir}/HarmonyExtras.cmake"
    DEPENDS "${file}" "${_harmony_cmake_dir}/HarmonyExtras.cmake"
    COMMENT "Compressing ${name}"
    VERBATIM)
  add_custom_target(gz-${id} ALL DEPENDS "${out}")
  set(component)
  if(ARG_COMPONENT)
    set(component COMPONENT ${ARG_COMPONENT})
  endif()
  install(FILES "${out}" DESTINATION "${ARG_DESTINATION}" ${component})
endfunction()

# harmony_install_man_page(<roff file> [COMPONENT <component>])
#
# Installs a man page (name.SECTION), compressed, in the section its name says.
function(harmony_install_man_page page)
  cmake_parse_arguments(ARG "" "COMPONENT" "" ${ARGN})
  get_filename_component(name "${page}" NAME)
  string(REGEX MATCH "[0-9]$" section "${name}")
  if(NOT section)
    message(FATAL_ERROR "harmony_install_man_page: '${name}' does not end in a section number")
  endif()
  set(component)
  if(ARG_COMPONENT)
    set(component COMPONENT ${ARG_COMPONENT})
  endif()
  harmony_install_gzipped("${page}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man${section}" ${component})
endfunction()
