# Every switch of the build, in one place. Names carry the HARMONY_ prefix so
# they never collide with a parent project's options.
option(HARMONY_BUILD_TESTS "Build the unit and end-to-end tests" ON)
option(HARMONY_DEV_MODE "Developer build: warnings are errors" OFF)
option(HARMONY_USE_CCACHE "Use ccache when it is installed" ON)
option(HARMONY_PACKAGING "Install completions, man pages, the systemd unit; configure CPack" ON)
# A device needs fleet-agent alone: a cross build (scripts/build-arm64) then
# needs only the agent's libraries for the target, not the SDK's, the
# dispatcher's or the tunnel's (CLI11, libcurl, Boost, OpenSSL).
option(HARMONY_AGENT_ONLY "Build only fleet-agent, its unit tests and its deb" OFF)
option(HARMONY_STATIC_RUNTIME
  "Link libstdc++ and libgcc statically into the lean binaries (dispatcher); see docs/adr/0004"
  ON)
# A second, instrumented build for CI (scripts/run-sanitizers): thread or
# address. Empty in every other build.
set(HARMONY_SANITIZE "" CACHE STRING "Instrument everything with a sanitizer: thread, address, or empty")
set_property(CACHE HARMONY_SANITIZE PROPERTY STRINGS "" thread address)
