# harmony_embed_descriptor(<target> <json-file>)
#
# Writes a plugin descriptor (docs/plugin-protocol.md) into the executable as
# the non-loaded section `.harmony_plugin`, so the dispatcher can read it from
# the file without running the plugin. The section is not under `.note*`
# because distribution strip steps drop some notes; it survives
# `strip --strip-unneeded`.
function(harmony_embed_descriptor target json_file)
  get_filename_component(json_file "${json_file}" ABSOLUTE)
  # Relink (and so re-embed) when the descriptor changes.
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${json_file}")
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND "${HARMONY_OBJCOPY}"
            --add-section ".harmony_plugin=${json_file}"
            --set-section-flags ".harmony_plugin=noload,readonly"
            "$<TARGET_FILE:${target}>"
    COMMENT "Embedding plugin descriptor into ${target}"
    VERBATIM)
endfunction()
