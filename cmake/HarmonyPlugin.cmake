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
  set(descriptor "${CMAKE_CURRENT_BINARY_DIR}/${target}.descriptor.json")
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${HARMONY_PLUGIN_RUNNER} "$<TARGET_FILE:${target}>" __descriptor "${descriptor}"
    COMMAND "${HARMONY_OBJCOPY}" --add-section ".harmony_plugin=${descriptor}"
            --set-section-flags ".harmony_plugin=noload,readonly" "$<TARGET_FILE:${target}>"
    COMMENT "Embedding the descriptor of ${target}"
    VERBATIM)
endfunction()
