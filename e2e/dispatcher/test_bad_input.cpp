// Hostile and odd input: clear messages, no crash, nothing outside the
// plugin directories ever executed.

#include <catch2/catch.hpp>

#include "sandbox.hpp"

using namespace harmony::e2e;
using nlohmann::json;

TEST_CASE("names with '/' or '..' are usage errors and run nothing") {
  Sandbox box;
  box.script("", "harmony-escape", "", "touch ESCAPED\n");
  box.script("bin/sub", "harmony-x", "", "touch ESCAPED\n");
  box.install("probe", "bin", "harmony-probe");
  box.path_dirs = {"bin"};
  for (std::string bad : {"../harmony-escape", "../escape", "sub/x", "..", "/etc/passwd", "./probe", "Probe", "-"}) {
    auto r = box.harmony({bad});
    INFO(bad);
    CHECK((r.exit_code == 2 || r.exit_code == 127));
    CHECK_THAT(r.err, Catch::StartsWith("harmony: error: "));
  }
  CHECK_THAT(box.harmony({"../escape"}).err, Catch::Contains("'../escape' is not a valid command name"));
  CHECK(box.harmony({"deploy", "../escape"}).exit_code == 2);
  CHECK(box.harmony({"which", "../escape"}).exit_code == 2);
  CHECK(box.harmony({"plugin", "info", "../escape"}).exit_code != 0);
  CHECK_FALSE(fs::exists(box.path("ESCAPED")));
}

TEST_CASE("a 100k-character argument reaches the plugin intact, and as a command name it is refused briefly") {
  Sandbox box;
  box.install("probe", "bin", "harmony-probe");
  box.path_dirs = {"bin"};
  std::string huge(100000, 'a');
  json doc = json_of(box.harmony({"probe", huge}));
  CHECK(doc["args"][0].get<std::string>().size() == 100000);
  auto r = box.harmony({huge});
  CHECK(r.exit_code == 2);
  CHECK(r.err.size() < 500);
  CHECK(box.harmony({"which", huge}).err.size() < 1000);
}

TEST_CASE("a 1000-entry PATH with duplicates and junk still resolves and lists") {
  Sandbox box;
  for (int i = 0; i < 50; ++i) box.dir("d" + std::to_string(i));
  auto last = box.install("probe", "d49", "harmony-probe");
  for (int i = 0; i < 1000; ++i) {
    switch (i % 4) {
      case 0: box.path_dirs.push_back("d" + std::to_string(i % 50)); break;
      case 1: box.path_dirs.push_back("missing" + std::to_string(i)); break;
      case 2: box.path_dirs.push_back("."); break;
      default: box.path_dirs.push_back("d" + std::to_string((i * 7) % 50)); break;
    }
  }
  box.path_dirs.push_back("d49");
  CHECK(json_of(box.harmony({"probe"}))["exe"] == last);
  auto list = box.harmony({"plugin", "list", "--name-only"});
  CHECK(list.ok());
  CHECK(list.out == "probe\n");
}

TEST_CASE("symlink loops and dangling links are reported, not followed for ever") {
  Sandbox box;
  box.dir("bin");
  fs::create_symlink("harmony-b", box.path("bin/harmony-a"));
  fs::create_symlink("harmony-a", box.path("bin/harmony-b"));
  fs::create_symlink("/nonexistent/target", box.path("bin/harmony-gone"));
  fs::create_symlink(box.path("bin"), box.path("bin/self"));  // a directory loop
  box.path_dirs = {"bin", "bin/self", "bin/self/self"};
  auto a = box.harmony({"a"});
  CHECK(a.exit_code == 126);
  CHECK_THAT(a.err, Catch::Contains("a loop of symbolic links"));
  auto gone = box.harmony({"gone"});
  CHECK(gone.exit_code == 126);
  CHECK_THAT(gone.err, Catch::Contains("a symbolic link to '/nonexistent/target', which does not exist"));
  CHECK_THAT(gone.err, Catch::Contains("hint: fix the link or remove it"));
  auto list = box.harmony({"plugin", "list", "-o", "json"});
  CHECK(list.ok());
  CHECK(json_of(list)["plugins"].size() == 3);
}

TEST_CASE("file names with control characters cannot rewrite the terminal") {
  Sandbox box;
  box.write("bin", "harmony-evil", std::string("#!/bin/sh\n# harmony-description: \x1b[2Jgotcha\x07\n"));
  box.path_dirs = {"bin"};
  auto r = box.harmony({"plugin", "list"});
  CHECK(r.ok());
  CHECK(r.out.find('\x1b') == std::string::npos);
  CHECK(r.out.find('\x07') == std::string::npos);
  CHECK_THAT(r.out, Catch::Contains("?[2Jgotcha?"));
  CHECK(box.harmony({"help"}).out.find('\x1b') == std::string::npos);
}

TEST_CASE("a directory full of plugins named like built-ins is listed, never run") {
  Sandbox box;
  for (const char* name : {"plugin", "completion", "version", "help", "which", "deploy", "destroy", "status", "plan"})
    box.script("bin", std::string("harmony-") + name, "", "touch RAN\n");
  box.path_dirs = {"bin"};
  auto list = box.harmony({"plugin", "list", "-o", "json"});
  CHECK(list.ok());
  for (const auto& p : json_of(list)["plugins"]) CHECK(p["status"] == "clash");
  for (const char* cmd : {"plugin", "completion", "version", "help", "which"}) (void)box.harmony({cmd});
  for (const char* verb : {"deploy", "destroy", "status", "plan"}) (void)box.harmony({verb, "x"});
  CHECK_FALSE(fs::exists(box.path("RAN")));
}

TEST_CASE("an unwritable or damaged cache never breaks a command") {
  Sandbox box;
  box.install("probe", "bin", "harmony-probe");
  box.path_dirs = {"bin"};
  box.write("cache/harmony", "plugins-v1.json", "{\"format\": 1, \"entries\": 7}");
  box.write("cache/harmony", "refused-v1", "garbage\n\n\x01\x02");
  CHECK(box.harmony({"plugin", "list"}).ok());
  CHECK(box.harmony({"probe"}).ok());
  box.vars = {{"XDG_CACHE_HOME", "/proc/nonexistent"}};
  CHECK(box.harmony({"plugin", "list"}).ok());
  box.vars = {{"XDG_CACHE_HOME", "relative"}, {"HOME", ""}};
  CHECK(box.harmony({"plugin", "list"}).ok());
}
