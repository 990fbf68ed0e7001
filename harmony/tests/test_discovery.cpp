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

namespace {

const Policy as_user{.user = 1000};  // root's and uid 1000's files are trusted
const Policy as_root{};              // a root shell, or sudo: root's only

// The problems that keep a file from running, one per line.
std::string refusals(const FakeFileSystem& fs, const std::string& dir, const std::string& name, const Policy& policy) {
  std::string out;
  for (const auto& issue : inspect(fs, dir, name, policy).issues)
    if (issue.blocking) out += issue.message + "\n";
  return out;
}

}  // namespace

TEST_CASE("trusted: the file and every directory up to / are owned by root or the user, none group- or world-writable") {
  FakeFileSystem fs;
  fs.dir("/home/u", 0755, 1000);
  fs.dir("/home/u/bin", 0700, 1000);
  fs.file("/home/u/bin/harmony-mine", "#!/bin/sh\n", 0755, 1000);
  fs.file("/usr/bin/harmony-system");
  CHECK(refusals(fs, "/home/u/bin", "harmony-mine", as_user).empty());
  CHECK(refusals(fs, "/usr/bin", "harmony-system", as_user).empty());
  CHECK(refusals(fs, "/usr/bin", "harmony-system", as_root).empty());

  SECTION("as root (sudo keeps the real uid 0), the user's plugins are not trusted") {
    CHECK(refusals(fs, "/home/u/bin", "harmony-mine", as_root) ==
          "the directory /home/u above it is owned by uid 1000, not by root\n"
          "its directory /home/u/bin is owned by uid 1000, not by root\n"
          "the file is owned by uid 1000, not by root\n");
  }
}

TEST_CASE("untrusted files and directories are refused, with every reason, like sudo's and OpenSSH's checks") {
  struct Node {
    const char* path;
    std::uint32_t mode;
    std::uint32_t uid = 0;
  };
  struct Case {
    const char* what;
    std::vector<Node> dirs;  // made first, in order ("/" changes the root's mode)
    Node plugin;             // the file; its directory is the search-path entry
    Policy policy;
    std::string refusals;
  };
  const Case cases[] = {
      {"a file owned by someone else", {}, {"/opt/p/harmony-x", 0755, 65534}, as_user,
       "the file is owned by uid 65534, not by root or you (uid 1000)\n"},
      {"a world-writable file", {}, {"/p/harmony-w", 0777}, as_user, "the file is writable by any user (mode 0777)\n"},
      {"a group-writable file", {}, {"/p/harmony-g", 0775}, as_user, "the file is writable by its group (mode 0775)\n"},
      {"a world-writable directory", {{"/w", 0777, 1000}}, {"/w/harmony-w", 0755}, as_user,
       "its directory /w is writable by any user (mode 0777)\n"},
      {"a group-writable directory", {{"/srv/team", 0775}}, {"/srv/team/harmony-g", 0755}, as_user,
       "its directory /srv/team is writable by its group (mode 0775)\n"},
      {"a world-writable directory above a safe one", {{"/open", 0777}, {"/open/bin", 0755}},
       {"/open/bin/harmony-x", 0755}, as_user, "the directory /open above it is writable by any user (mode 0777)\n"},
      {"a directory above owned by someone else", {{"/srv", 0755, 65534}}, {"/srv/bin/harmony-x", 0755}, as_root,
       "the directory /srv above it is owned by uid 65534, not by root\n"},
      {"even /", {{"/", 0777}}, {"/usr/bin/harmony-x", 0755}, as_user,
       "the directory / above it is writable by any user (mode 0777)\n"},
      {"every problem is told, once each", {{"/open", 0777}, {"/open/team", 0775}},
       {"/open/team/harmony-x", 0777, 65534}, as_user,
       "the directory /open above it is writable by any user (mode 0777)\n"
       "its directory /open/team is writable by its group (mode 0775)\n"
       "the file is owned by uid 65534, not by root or you (uid 1000)\n"},
  };
  for (const auto& t : cases) {
    INFO(t.what);
    FakeFileSystem fs;
    for (const auto& d : t.dirs) fs.dir(d.path, d.mode, d.uid);
    fs.file(t.plugin.path, "#!/bin/sh\n", t.plugin.mode, t.plugin.uid);
    const std::string path = t.plugin.path;
    const std::string dir = harmony::base::parent_dir(path);
    const std::string name = path.substr(dir.size() + 1);
    CHECK(refusals(fs, dir, name, t.policy) == t.refusals);
    CHECK(inspect(fs, dir, name, t.policy).has(Problem::insecure));
  }
}

TEST_CASE("a root-owned sticky directory, like /tmp, is safe for root's and the user's files only") {
  FakeFileSystem fs;
  fs.dir("/tmp", 01777);
  fs.file("/tmp/harmony-root");
  fs.file("/tmp/harmony-mine", "#!/bin/sh\n", 0755, 1000);
  fs.file("/tmp/harmony-nobody", "#!/bin/sh\n", 0755, 65534);
  fs.dir("/tmp/box", 0700);
  fs.file("/tmp/box/harmony-inside");
  CHECK(refusals(fs, "/tmp", "harmony-root", as_user).empty());
  CHECK(refusals(fs, "/tmp", "harmony-mine", as_user).empty());
  CHECK(refusals(fs, "/tmp/box", "harmony-inside", as_user).empty());
  CHECK(refusals(fs, "/tmp", "harmony-nobody", as_root) == "the file is owned by uid 65534, not by root\n");
  CHECK(refusals(fs, "/tmp", "harmony-mine", as_root) == "the file is owned by uid 1000, not by root\n");

  SECTION("a sticky directory owned by someone else is not safe") {
    fs.dir("/shared", 01777, 1000);
    fs.file("/shared/harmony-t");
    CHECK(refusals(fs, "/shared", "harmony-t", as_root) == "its directory /shared is owned by uid 1000, not by root\n");
  }
}

TEST_CASE("for a link, the link and its path, then the target and its real path are judged") {
  FakeFileSystem fs;
  fs.dir("/p");
  SECTION("a link into a world-writable directory") {
    fs.dir("/w", 0777, 1000);
    fs.file("/w/harmony-real");
    fs.link("/p/harmony-l", "/w/harmony-real");
    CHECK(refusals(fs, "/p", "harmony-l", as_user) == "its directory /w is writable by any user (mode 0777)\n");
  }
  SECTION("a chain of links through a world-writable directory") {
    fs.dir("/srv/open", 0777);
    fs.file("/usr/bin/harmony-real");
    fs.link("/p/harmony-l", "/srv/open/l2");
    fs.link("/srv/open/l2", "/usr/bin/harmony-real");
    // Before: only /p and the real path /usr/bin were judged, and it ran.
    CHECK(refusals(fs, "/p", "harmony-l", as_root) == "its directory /srv/open is writable by any user (mode 0777)\n");
  }
  SECTION("a link to someone else's file") {
    fs.file("/opt/harmony-real", "#!/bin/sh\n", 0755, 65534);
    fs.link("/p/harmony-l", "/opt/harmony-real");
    CHECK(refusals(fs, "/p", "harmony-l", as_root) == "its target /opt/harmony-real is owned by uid 65534, not by root\n");
  }
  SECTION("someone else's link in /tmp to a trusted program") {
    fs.dir("/tmp", 01777);
    fs.file("/usr/bin/harmony-tool");
    fs.link("/tmp/harmony-tool", "/usr/bin/harmony-tool", 65534);
    CHECK(refusals(fs, "/tmp", "harmony-tool", as_root) == "the link is owned by uid 65534, not by root\n");
  }
  SECTION("a search-path directory that is a link (/bin -> usr/bin) is judged on both paths") {
    fs.file("/usr/bin/harmony-b");
    fs.link("/bin", "usr/bin");
    CHECK(refusals(fs, "/bin", "harmony-b", as_root).empty());
    fs.chmod("/usr/bin", 0775);
    CHECK(refusals(fs, "/bin", "harmony-b", as_root) == "its directory /usr/bin is writable by its group (mode 0775)\n");
    fs.chmod("/usr/bin", 0755);
    fs.dir("/w", 0777);
    fs.link("/w/bin", "/usr/bin");
    CHECK(refusals(fs, "/w/bin", "harmony-b", as_root) == "the directory /w above it is writable by any user (mode 0777)\n");
  }
}

TEST_CASE("HARMONY_ALLOW_INSECURE_PATH keeps the warning but lets it run") {
  FakeFileSystem fs;
  fs.dir("/w", 0777, 1000);
  fs.file("/w/harmony-w", "#!/bin/sh\n", 0755, 65534);
  auto c = inspect(fs, "/w", "harmony-w", {.allow_insecure = true, .user = 1000});
  CHECK(c.runnable());
  REQUIRE(c.issues.size() == 2);
  CHECK(c.issues[0].problem == Problem::insecure);
  CHECK(c.issues[0].message == "its directory /w is writable by any user (mode 0777); allowed by HARMONY_ALLOW_INSECURE_PATH");
  CHECK(c.issues[1].message ==
        "the file is owned by uid 65534, not by root or you (uid 1000); allowed by HARMONY_ALLOW_INSECURE_PATH");
}

TEST_CASE("directories shared by the search path's entries are inspected once per run") {
  FakeFileSystem fs;
  for (const char* d : {"/opt/tools/a", "/opt/tools/b", "/opt/tools/c"}) fs.file(std::string(d) + "/harmony-foo");
  auto r = run(fs, dirs({"/opt/tools/a", "/opt/tools/b", "/opt/tools/c"}), args({"foo"}), {.explain = true});
  REQUIRE(r.chosen);
  CHECK(r.shadowed.size() == 2);
  CHECK(fs.lstats["/"] == 1);
  CHECK(fs.lstats["/opt"] == 1);
  CHECK(fs.lstats["/opt/tools"] == 1);
}

TEST_CASE("the last check before a script's exec notices a file replaced or changed since it was judged") {
  FakeFileSystem fs;
  fs.file("/p/harmony-s");
  fs.file("/p/other");
  const FileStat judged = *fs.stat("/p/harmony-s");
  CHECK_FALSE(changed_since_check(fs, "/p/harmony-s", judged));
  SECTION("replaced by another file") {
    fs.remove("/p/harmony-s");
    fs.file("/p/harmony-s");
    CHECK(changed_since_check(fs, "/p/harmony-s", judged) == "it was replaced by another file after it was checked");
  }
  SECTION("a link pointed elsewhere") {
    fs.link("/p/harmony-l", "/p/harmony-s");
    const FileStat through_link = *fs.stat("/p/harmony-l");
    fs.link("/p/harmony-l", "/p/other");
    CHECK(changed_since_check(fs, "/p/harmony-l", through_link) == "it was replaced by another file after it was checked");
  }
  SECTION("its owner or mode changed") {
    fs.chmod("/p/harmony-s", 0777);
    CHECK(changed_since_check(fs, "/p/harmony-s", judged) == "its mode changed from 0755 to 0777 after it was checked");
    fs.chmod("/p/harmony-s", 0755);
    fs.chown("/p/harmony-s", 65534);
    CHECK(changed_since_check(fs, "/p/harmony-s", judged) == "its owner changed from uid 0 to 65534 after it was checked");
  }
  SECTION("removed") {
    fs.remove("/p/harmony-s");
    CHECK_THAT(changed_since_check(fs, "/p/harmony-s", judged).value_or(""), Catch::StartsWith("it cannot be inspected any more"));
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
