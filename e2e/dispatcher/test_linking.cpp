// The dispatcher's linking discipline (docs/adr/0004-lean-dispatcher.md),
// checked on the built binary itself, not on the build files.

#include <catch2/catch.hpp>

#include <algorithm>

#include "sandbox.hpp"

using namespace harmony::e2e;

namespace {

// The file name of the binary's program interpreter (PT_INTERP): glibc's
// dynamic loader, whose name differs per architecture (ld-linux-x86-64.so.2,
// ld-linux-aarch64.so.1, ...).
std::string loader_of(const std::string& binary) {
  Sandbox box;
  box.path_dirs = {"/usr/bin", "/bin"};
  auto r = box.run({"readelf", "--program-headers", "--wide", binary});
  REQUIRE(r.ok());
  const std::string marker = "[Requesting program interpreter: ";
  const auto at = r.out.find(marker);
  REQUIRE(at != std::string::npos);
  const auto start = at + marker.size();
  const std::string path = r.out.substr(start, r.out.find(']', start) - start);
  return path.substr(path.rfind('/') + 1);
}

}  // namespace

TEST_CASE("the dispatcher needs no shared library but libc") {
  // libc, and on some architectures the loader that is part of it.
  const std::string loader = loader_of(harmony_binary());
  CHECK_THAT(loader, Catch::StartsWith("ld-"));
  const auto needed = needed_libraries(harmony_binary());
  INFO("needed: " << Catch::Detail::stringify(needed) << "; loader: " << loader);
  CHECK(std::count(needed.begin(), needed.end(), "libc.so.6") == 1);
  for (const auto& library : needed) CHECK((library == "libc.so.6" || library == loader));
}

TEST_CASE("the dispatcher carries no iostream initialiser and no SDK code") {
  Sandbox box;
  box.path_dirs = {"/usr/bin", "/bin"};
  auto r = box.run({"nm", "--defined-only", "--demangle", harmony_binary()});
  REQUIRE(r.ok());
  CHECK(r.out.find("std::ios_base::Init::Init()") == std::string::npos);
  CHECK(r.out.find("CLI::App") == std::string::npos);
  CHECK(r.out.find("harmony::dispatcher::run(") != std::string::npos);  // the check can see symbols at all
}
