// The dispatcher's linking discipline (docs/adr/0004-lean-dispatcher.md),
// checked on the built binary itself, not on the build files.

#include <catch2/catch.hpp>

#include "sandbox.hpp"

using namespace harmony::e2e;

TEST_CASE("the dispatcher needs no shared library but libc") {
  CHECK(needed_libraries(harmony_binary()) == std::vector<std::string>{"libc.so.6", "ld-linux-x86-64.so.2"});
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
