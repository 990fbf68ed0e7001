# All third-party dependencies, found in one place. Each comes from a Debian
# package listed in scripts/debian-packages.txt.

find_package(tl-expected CONFIG REQUIRED)        # tl::expected (header-only)
find_package(nlohmann_json 3.11 CONFIG REQUIRED) # nlohmann_json::nlohmann_json (header-only)
find_package(Threads REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)            # target `yaml-cpp` (0.7 has no namespace)
find_package(spdlog CONFIG REQUIRED)              # spdlog::spdlog (compiled; pulls fmt::fmt)
find_package(PkgConfig REQUIRED)
# cnats' own CMake config is broken on Debian 12 (it names a static library
# the package does not ship): use pkg-config.
pkg_check_modules(NATS REQUIRED IMPORTED_TARGET libnats)  # PkgConfig::NATS

# What fleet-agent does not link (HARMONY_AGENT_ONLY leaves them out, so a
# cross build needs none of them for the target).
if(NOT HARMONY_AGENT_ONLY)
  find_package(CLI11 CONFIG REQUIRED)              # CLI11::CLI11 (header-only)
  find_package(CURL REQUIRED)                       # CURL::libcurl (headers; the library is dlopen()ed)
  # The port-forward tunnel (plugins/harmony-agent/tunnel): WebSocket over TLS
  # to the API server. Debian's libcurl has no WebSocket; Beast has.
  find_package(Boost 1.74 CONFIG REQUIRED COMPONENTS headers)  # Boost::headers (Beast, Asio)
  find_package(OpenSSL REQUIRED)                               # OpenSSL::SSL (Asio's TLS; libnats links it already)
  # The auth callout's Ed25519 nkeys and curve25519 xkeys (NaCl boxes, which
  # OpenSSL does not do): libsodium.
  pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)  # PkgConfig::SODIUM
endif()

if(HARMONY_BUILD_TESTS)
  find_package(Catch2 2.13 CONFIG REQUIRED)      # Catch2::Catch2WithMain: never compile the Catch main
  include(Catch)
endif()

find_program(HARMONY_OBJCOPY NAMES objcopy REQUIRED)
