# fleet-agent's package, besides its program: its man page, systemd unit,
# configuration and documents, and the words that describe it. Included by
# packaging/CMakeLists.txt (all five packages) and packaging/arm64 (the
# agent-only cross build), so that the two fleet-agent debs cannot drift.

set(_fleet_agent_files "${CMAKE_CURRENT_LIST_DIR}")

harmony_install_man_page("${PROJECT_SOURCE_DIR}/docs/man/fleet-agent.8" COMPONENT agent)

# The unit and configuration belong in /lib/systemd/system and /etc when
# installed into /usr (the packages), and under the prefix otherwise:
# decided when installing, so that `cmake --install --prefix <scratch>` never
# writes into the system.
install(CODE "
  if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
    set(harmony_etc /etc)
    set(harmony_units /lib/systemd/system)
  else()
    set(harmony_etc \"\${CMAKE_INSTALL_PREFIX}/etc\")
    set(harmony_units \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
  endif()
  file(INSTALL DESTINATION \"\${harmony_units}\" TYPE FILE FILES \"${_fleet_agent_files}/fleet-agent.service\")
  file(INSTALL DESTINATION \"\${harmony_etc}/fleet-agent\" TYPE FILE FILES \"${_fleet_agent_files}/agent.yaml\")
" COMPONENT agent)

install(FILES "${PROJECT_SOURCE_DIR}/docs/agent.md" "${PROJECT_SOURCE_DIR}/docs/agent-protocol.md"
        DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/fleet-agent" COMPONENT agent)

set(HARMONY_FLEET_AGENT_SUMMARY "device agent of the harmony fleet")
set(HARMONY_FLEET_AGENT_DESCRIPTION
  "fleet-agent connects a device to the fleet's NATS, answers ping, status,\nexec of allowlisted programs and logs, sends heartbeats and runs the\nworkloads the fleet operator assigns. It is a small daemon that does not\nlink the harmony SDK. A systemd unit runs it once the device is enrolled.")
set(HARMONY_FLEET_AGENT_CONTROL_EXTRA
  "${_fleet_agent_files}/conffiles;${_fleet_agent_files}/postinst;${_fleet_agent_files}/prerm;${_fleet_agent_files}/postrm")
