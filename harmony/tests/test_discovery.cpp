#include <catch2/catch.hpp>

#include "discovery.hpp"
#include "fake_filesystem.hpp"

using namespace harmony::dispatcher;
using harmony::testing::FakeFileSystem;

namespace {

std::vector<std::string> args(std::initializer_list<const char*> list) { return {list.begin(), list.end()}; }

Resolution run(const FakeFileSystem& fs, const SearchPath& sp, std::vector<std::string> a, ResolveOptions options = {},
               Policy policy = {}) {
  return resolve(fs, sp, policy, a, options);
}

SearchPath dirs(std::initializer_list<const char*> list) {
  SearchPath sp;
  sp.dirs.assign(list.begin(), list.end());
  return sp;
}

}  // namespace

TEST_CASE("the search path is HARMONY_PLUGIN_PATH then PATH, absolute entries only, without duplicates") {
  auto sp = make_search_path("/opt/harmony/plugins:/usr/bin/", "/usr/local/bin::.:bin:/usr/bin:/usr/local/bin/");
  CHECK(sp.dirs == std::vector<std::string>{"/opt/harmony/plugins", "/usr/bin", "/usr/local/bin"});
  REQUIRE(sp.skipped.size() == 3);
  CHECK(sp.skipped[0].entry.empty());
  CHECK(sp.skipped[0].variable == "PATH");
  CHECK(sp.skipped[1].entry == ".");
  CHECK_THAT(sp.skipped[1].reason, Catch::Contains("never searched"));
  CHECK(sp.skipped[2].entry == "bin");

  CHECK(make_search_path(std::nullopt, std::nullopt).dirs.empty());
  CHECK(make_search_path(std::nullopt, "/").dirs == std::vector<std::string>{"/"});
}

TEST_CASE("a 1000-entry PATH is handled") {
  std::string path;
  for (int i = 0; i < 1000; ++i) path += (i ? ":" : "") + std::string("/d/") + std::to_string(i % 700);
  auto sp = make_search_path(std::nullopt, path);
  CHECK(sp.dirs.size() == 700);
  FakeFileSystem fs;
  fs.file("/d/699/harmony-last");
  auto r = resolve(fs, sp, {}, args({"last"}), {});
  REQUIRE(r.chosen);
  CHECK(r.chosen->path == "/d/699/harmony-last");
}

TEST_CASE("built-in names are reserved") {
  for (const char* b : {"plugin", "completion", "version", "help", "which", "deploy", "destroy", "status", "plan"})
    CHECK(is_builtin(b));
  CHECK(is_lifecycle_verb("deploy"));
  CHECK_FALSE(is_lifecycle_verb("plugin"));
  CHECK_FALSE(is_builtin("fleet"));
}

TEST_CASE("inspecting a file says whether it runs, and why not") {
  FakeFileSystem fs;
  fs.dir("/p");
  SECTION("a plain executable runs") {
    fs.file("/p/harmony-ok");
    auto c = inspect(fs, "/p", "harmony-ok", {});
    CHECK(c.runnable());
    CHECK(c.words == std::vector<std::string>{"ok"});
    CHECK(c.issues.empty());
  }
  SECTION("no execute permission") {
    fs.file("/p/harmony-x", "#!/bin/sh\n", 0644);
    auto c = inspect(fs, "/p", "harmony-x", {});
    CHECK_FALSE(c.runnable());
    CHECK(c.has(Problem::not_executable));
    CHECK(c.first_blocking()->message == "not executable (mode 0644)");
  }
  SECTION("a directory") {
    fs.dir("/p/harmony-d");
    CHECK(inspect(fs, "/p", "harmony-d", {}).has(Problem::not_regular));
  }
  SECTION("named like a built-in, alone or as the first word") {
    fs.file("/p/harmony-plugin");
    fs.file("/p/harmony-deploy-x");
    CHECK(inspect(fs, "/p", "harmony-plugin", {}).has(Problem::clash));
    CHECK(inspect(fs, "/p", "harmony-deploy-x", {}).has(Problem::clash));
    fs.file("/p/harmony-deploy_x");  // the command 'deploy-x' is not a built-in
    CHECK(inspect(fs, "/p", "harmony-deploy_x", {}).runnable());
  }
  SECTION("names that are not harmony-<words>") {
    for (const char* name : {"harmony-Foo", "harmony-a--b", "harmony-x.sh", "harmony-_x"}) {
      fs.file(std::string("/p/") + name);
      CHECK(inspect(fs, "/p", name, {}).has(Problem::invalid_name));
    }
  }
  SECTION("a dangling link") {
    fs.link("/p/harmony-gone", "/nowhere/harmony-gone");
    auto c = inspect(fs, "/p", "harmony-gone", {});
    CHECK(c.has(Problem::missing));
    CHECK_THAT(c.first_blocking()->message, Catch::Contains("/nowhere/harmony-gone"));
  }
  SECTION("a loop of links") {
    fs.link("/p/harmony-loop", "/p/harmony-loop2");
    fs.link("/p/harmony-loop2", "/p/harmony-loop");
    CHECK(inspect(fs, "/p", "harmony-loop", {}).has(Problem::link_loop));
  }
  SECTION("a link to a good file runs") {
    fs.file("/opt/real/harmony-linked");
    fs.link("/p/harmony-linked", "../opt/real/harmony-linked");
    auto c = inspect(fs, "/p", "harmony-linked", {});
    CHECK(c.runnable());
    CHECK(c.is_link);
  }
}

TEST_CASE("files or directories writable by others are refused, like ssh's StrictModes") {
  FakeFileSystem fs;
  SECTION("a world-writable file") {
    fs.dir("/p");
    fs.file("/p/harmony-w", "#!/bin/sh\n", 0777);
    auto c = inspect(fs, "/p", "harmony-w", {});
    CHECK(c.has(Problem::insecure));
    CHECK_FALSE(c.runnable());
  }
  SECTION("a world-writable directory") {
    fs.dir("/w", 0777, 1000);
    fs.file("/w/harmony-w");
    auto c = inspect(fs, "/w", "harmony-w", {});
    CHECK_FALSE(c.runnable());
    CHECK_THAT(c.first_blocking()->message, Catch::Contains("/w is writable by any user (mode 0777)"));
  }
  SECTION("a sticky directory owned by root, like /tmp, is fine") {
    fs.dir("/tmp", 01777, 0);
    fs.file("/tmp/harmony-t");
    CHECK(inspect(fs, "/tmp", "harmony-t", {}).runnable());
  }
  SECTION("a sticky directory owned by someone else is not") {
    fs.dir("/shared", 01777, 1000);
    fs.file("/shared/harmony-t");
    CHECK_FALSE(inspect(fs, "/shared", "harmony-t", {}).runnable());
  }
  SECTION("a link into a world-writable directory") {
    fs.dir("/p");
    fs.dir("/w", 0777, 1000);
    fs.file("/w/harmony-real");
    fs.link("/p/harmony-l", "/w/harmony-real");
    CHECK(inspect(fs, "/p", "harmony-l", {}).has(Problem::insecure));
  }
  SECTION("HARMONY_ALLOW_INSECURE_PATH keeps the warning but lets it run") {
    fs.dir("/w", 0777, 1000);
    fs.file("/w/harmony-w");
    auto c = inspect(fs, "/w", "harmony-w", {.allow_insecure = true});
    CHECK(c.runnable());
    CHECK(c.has(Problem::insecure));
  }
}

TEST_CASE("resolution takes the longest match over the leading words") {
  FakeFileSystem fs;
  fs.file("/p/harmony-foo");
  fs.file("/p/harmony-foo-bar");
  auto sp = dirs({"/p"});

  auto r = run(fs, sp, args({"foo", "bar", "x"}));
  REQUIRE(r.chosen);
  CHECK(r.chosen->path == "/p/harmony-foo-bar");
  CHECK(r.words == std::vector<std::string>{"foo", "bar"});
  CHECK(r.args == std::vector<std::string>{"x"});

  r = run(fs, sp, args({"foo", "baz", "x"}));
  REQUIRE(r.chosen);
  CHECK(r.chosen->path == "/p/harmony-foo");
  CHECK(r.args == std::vector<std::string>{"baz", "x"});
  CHECK(r.tried == std::vector<std::string>{"harmony-foo-baz-x", "harmony-foo-baz", "harmony-foo"});

  // Flags and non-words end the command words.
  r = run(fs, sp, args({"foo", "--bar", "bar"}));
  REQUIRE(r.chosen);
  CHECK(r.chosen->path == "/p/harmony-foo");
  CHECK(r.args == std::vector<std::string>{"--bar", "bar"});
}

TEST_CASE("a dash inside a word maps to an underscore in the file name") {
  FakeFileSystem fs;
  fs.file("/p/harmony-my_app");
  auto r = run(fs, dirs({"/p"}), args({"my-app", "deploy"}));
  REQUIRE(r.chosen);
  CHECK(r.chosen->path == "/p/harmony-my_app");
  CHECK(r.words == std::vector<std::string>{"my-app"});
  CHECK(r.args == std::vector<std::string>{"deploy"});
}

TEST_CASE("the first runnable file wins, and unrunnable ones are skipped with a reason") {
  FakeFileSystem fs;
  fs.file("/a/harmony-foo", "#!/bin/sh\n", 0644);
  fs.file("/b/harmony-foo");
  fs.file("/c/harmony-foo");
  auto sp = dirs({"/a", "/b", "/c"});

  auto fast = run(fs, sp, args({"foo"}));
  REQUIRE(fast.chosen);
  CHECK(fast.chosen->path == "/b/harmony-foo");
  CHECK(fast.shadowed.empty());  // fast mode stops at the winner

  auto explained = run(fs, sp, args({"foo"}), {.explain = true});
  REQUIRE(explained.chosen);
  CHECK(explained.chosen->path == "/b/harmony-foo");
  REQUIRE(explained.skipped.size() == 1);
  CHECK(explained.skipped[0].path == "/a/harmony-foo");
  REQUIRE(explained.shadowed.size() == 1);
  CHECK(explained.shadowed[0].path == "/c/harmony-foo");
}

TEST_CASE("exact resolution considers only the given words") {
  FakeFileSystem fs;
  fs.file("/p/harmony-fleet");
  auto r = run(fs, dirs({"/p"}), args({"fleet"}), {.exact = true, .max_words = 1});
  REQUIRE(r.chosen);
  auto none = run(fs, dirs({"/p"}), args({"fleet-x"}), {.exact = true, .max_words = 1});
  CHECK_FALSE(none.chosen);
}

TEST_CASE("a refusal from the metadata cache skips the file") {
  FakeFileSystem fs;
  fs.file("/a/harmony-foo");
  fs.file("/b/harmony-foo");
  ResolveOptions options;
  options.refused = [](const Candidate& c) -> std::optional<std::string> {
    if (c.dir == "/a") return "it requires harmony 9.0.0 or later";
    return std::nullopt;
  };
  auto r = run(fs, dirs({"/a", "/b"}), args({"foo"}), options);
  REQUIRE(r.chosen);
  CHECK(r.chosen->path == "/b/harmony-foo");
  REQUIRE(r.skipped.size() == 1);
  CHECK(r.skipped[0].has(Problem::incompatible));
}

TEST_CASE("hostile words never reach the file system as paths") {
  FakeFileSystem fs;
  fs.file("/etc/harmony-passwd");
  fs.file("/p/harmony-x");
  auto sp = dirs({"/p"});
  for (const char* bad : {"../../etc/passwd", "/etc/passwd", "..", ".", "a/b", ""}) {
    auto r = run(fs, sp, args({bad}));
    CHECK_FALSE(r.chosen);
    CHECK(r.tried.empty());
  }
  auto huge = run(fs, sp, {std::string(100000, 'x')});
  CHECK_FALSE(huge.chosen);
  CHECK(huge.tried.empty());
  // Many long words stop before the file name would exceed NAME_MAX.
  std::vector<std::string> many(20, std::string(60, 'a'));
  auto r = run(fs, sp, many);
  for (const auto& name : r.tried) CHECK(name.size() <= 255);
}

TEST_CASE("directories that are missing or not directories are passed over") {
  FakeFileSystem fs;
  fs.file("/notadir");
  fs.file("/p/harmony-x");
  auto r = run(fs, dirs({"/missing", "/notadir", "/p"}), args({"x"}));
  REQUIRE(r.chosen);
  CHECK(r.chosen->path == "/p/harmony-x");
}
