#include <catch2/catch.hpp>

#include <cstdlib>

#include <harmony/base/paths.hpp>

using namespace harmony::base;

namespace {
struct EnvGuard {
  std::string name;
  std::optional<std::string> saved;
  explicit EnvGuard(std::string n) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) saved = v;
  }
  ~EnvGuard() {
    if (saved)
      ::setenv(name.c_str(), saved->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};
}  // namespace

TEST_CASE("XDG directories follow the spec: absolute values win, relative ones are ignored") {
  EnvGuard home("HOME"), cache("XDG_CACHE_HOME"), state("XDG_STATE_HOME");
  ::setenv("HOME", "/home/u/", 1);
  ::setenv("XDG_CACHE_HOME", "/var/cache/u", 1);
  ::setenv("XDG_STATE_HOME", "relative/state", 1);
  CHECK(xdg_home(XdgDir::cache) == "/var/cache/u");
  CHECK(xdg_home(XdgDir::state) == "/home/u/.local/state");
  ::unsetenv("HOME");
  CHECK_FALSE(xdg_home(XdgDir::state));
}

TEST_CASE("PATH lists keep empty entries so they can be reported") {
  CHECK(split_path_list("/a:/b") == std::vector<std::string>{"/a", "/b"});
  CHECK(split_path_list("") == std::vector<std::string>{""});
  CHECK(split_path_list(":/a::") == std::vector<std::string>{"", "/a", "", ""});
}

TEST_CASE("path helpers") {
  CHECK(join_path("/a/", "b") == "/a/b");
  CHECK(join_path("/a", "b") == "/a/b");
  CHECK(parent_dir("/a/b") == "/a");
  CHECK(parent_dir("/a/b/") == "/a");
  CHECK(parent_dir("/a") == "/");
  CHECK(self_executable().find("harmony_core_tests") != std::string::npos);
}
