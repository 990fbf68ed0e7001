// plugin list, plugin info, which, help, version: text and JSON.

#include <catch2/catch.hpp>

#include <harmony/version.hpp>

#include "sandbox.hpp"

using namespace harmony::e2e;
using nlohmann::json;

namespace {

// A PATH with one of every kind of file the dispatcher must report on.
struct Zoo {
  Sandbox box;
  Zoo() {
    box.install("probe", "a", "harmony-probe");
    box.install("fleet", "a", "harmony-fleet");
    box.install("plain", "a", "harmony-plain");
    box.install("broken", "a", "harmony-broken");
    box.install("newer", "a", "harmony-newer");
    box.install("probe", "a", "harmony-foo-bar");
    box.script("a", "harmony-hello", "Says hello");
    box.script("a", "harmony-status", "clashes");
    box.write("a", "harmony-noexec", "#!/bin/sh\n", fs::perms(0644));
    box.write("a", "harmony-Upper", "#!/bin/sh\n");
    box.write("a", "not-a-plugin", "#!/bin/sh\n");
    fs::create_symlink(box.path("nowhere"), box.path("a/harmony-dangling"));
    fs::create_symlink("harmony-loop2", box.path("a/harmony-loop"));
    fs::create_symlink("harmony-loop", box.path("a/harmony-loop2"));
    box.install("probe", "b", "harmony-probe");
    box.dir("open", fs::perms(0777));
    box.install("probe", "open", "harmony-exposed");
    fs::permissions(box.path("open"), fs::perms(0777));
    box.path_dirs = {"a", "b", "open", "missing", "."};
  }
  json entry(const json& list, const std::string& path) {
    for (const auto& p : list["plugins"])
      if (p["path"] == box.path(path)) return p;
    FAIL("no entry for " << path);
    return {};
  }
};

}  // namespace

TEST_CASE("plugin list shows what runs, and warns about every problem without failing") {
  Zoo z;
  auto r = z.box.harmony({"plugin", "list"});
  REQUIRE(r.exit_code == 0);
  auto out = lines(r.out);
  REQUIRE(out.size() == 7);
  CHECK_THAT(out[0], Catch::Matches("COMMAND +VERSION +DESCRIPTION +PATH"));
  CHECK_THAT(out[1], Catch::Matches("broken +- +- +" + z.box.path("a/harmony-broken")));
  CHECK_THAT(out[2], Catch::Matches("fleet +0\\.1\\.0 +A stand-in for the fleet plugin +" + z.box.path("a/harmony-fleet")));
  CHECK_THAT(out[3], Catch::Matches("foo bar +1\\.0\\.0 +Reports what it received +.*"));
  CHECK_THAT(out[4], Catch::Matches("hello +- +Says hello +.*"));
  CHECK_THAT(out[5], Catch::Matches("plain +- +- +.*"));
  CHECK_THAT(out[6], Catch::Matches("probe +1\\.0\\.0 +Reports what it received +" + z.box.path("a/harmony-probe")));

  const std::string& err = r.err;
  CHECK_THAT(err, Catch::Contains("PATH entry '.': relative entries depend on the current directory; never searched"));
  CHECK_THAT(err, Catch::Contains(z.box.path("b/harmony-probe") + ": shadowed by " + z.box.path("a/harmony-probe")));
  CHECK_THAT(err, Catch::Contains(z.box.path("a/harmony-noexec") + ": not executable (mode 0644); never run"));
  CHECK_THAT(err, Catch::Contains(z.box.path("a/harmony-status") + ": named like the built-in command 'status'"));
  CHECK_THAT(err, Catch::Contains(z.box.path("a/harmony-Upper") + ": 'harmony-Upper' is not harmony-<words>"));
  CHECK_THAT(err, Catch::Contains(z.box.path("a/harmony-dangling") + ": a symbolic link to '" + z.box.path("nowhere") + "', which does not exist"));
  CHECK_THAT(err, Catch::Contains(z.box.path("a/harmony-loop") + ": a loop of symbolic links"));
  CHECK_THAT(err, Catch::Contains(z.box.path("open/harmony-exposed") + ": its directory " + z.box.path("open") + " is writable by any user"));
  CHECK_THAT(err, Catch::Contains(z.box.path("a/harmony-newer") + ": it requires harmony 99.0.0 or later"));
  CHECK_THAT(err, Catch::Contains(z.box.path("a/harmony-broken") + ": its descriptor cannot be read"));
  CHECK(err.find("not-a-plugin") == std::string::npos);
}

TEST_CASE("plugin list --name-only prints the commands one per line") {
  Zoo z;
  auto r = z.box.harmony({"plugin", "list", "--name-only"});
  CHECK(r.ok());
  CHECK(r.out == "broken\nfleet\nfoo bar\nhello\nplain\nprobe\n");
}

TEST_CASE("plugin list -o json is one document with every file and its problems") {
  Zoo z;
  auto r = z.box.harmony({"plugin", "list", "-o", "json"});
  REQUIRE(r.ok());
  json doc = json_of(r);
  CHECK(doc["harmony_version"] == harmony::version);
  CHECK(doc["search_path"] == json::array({z.box.path("a"), z.box.path("b"), z.box.path("open"), z.box.path("missing")}));
  bool saw_relative = false, saw_missing = false;
  for (const auto& s : doc["skipped_path_entries"]) {
    saw_relative |= s["entry"] == "." && s["variable"] == "PATH";
    saw_missing |= s["entry"] == z.box.path("missing") && s["reason"] == "does not exist";
  }
  CHECK(saw_relative);
  CHECK(saw_missing);

  json probe = z.entry(doc, "a/harmony-probe");
  CHECK(probe["name"] == "probe");
  CHECK(probe["command"] == "probe");
  CHECK(probe["status"] == "ok");
  CHECK(probe["runnable"] == true);
  CHECK(probe["winner"] == true);
  CHECK(probe["version"] == "1.0.0");
  CHECK(probe["metadata_source"] == "descriptor");
  CHECK(probe["descriptor"]["verbs"] == json::array({"deploy", "status"}));
  CHECK(probe["descriptor"]["completion"] == true);
  CHECK(probe["problems"].empty());

  CHECK(z.entry(doc, "b/harmony-probe")["status"] == "shadowed");
  CHECK(z.entry(doc, "b/harmony-probe")["shadowed_by"] == z.box.path("a/harmony-probe"));
  CHECK(z.entry(doc, "a/harmony-noexec")["status"] == "not-executable");
  CHECK(z.entry(doc, "a/harmony-status")["status"] == "clash");
  CHECK(z.entry(doc, "a/harmony-Upper")["status"] == "invalid-name");
  CHECK(z.entry(doc, "a/harmony-Upper")["command"].is_null());
  CHECK(z.entry(doc, "a/harmony-dangling")["status"] == "dangling-link");
  CHECK(z.entry(doc, "a/harmony-loop")["status"] == "link-loop");
  CHECK(z.entry(doc, "open/harmony-exposed")["status"] == "insecure");
  CHECK(z.entry(doc, "a/harmony-newer")["status"] == "incompatible");
  CHECK(z.entry(doc, "a/harmony-newer")["runnable"] == false);
  CHECK(z.entry(doc, "a/harmony-broken")["status"] == "broken-descriptor");
  CHECK(z.entry(doc, "a/harmony-broken")["runnable"] == true);
  CHECK(z.entry(doc, "a/harmony-hello")["metadata_source"] == "script-comment");
  CHECK(z.entry(doc, "a/harmony-hello")["description"] == "Says hello");
  CHECK(z.entry(doc, "a/harmony-foo-bar")["command"] == "foo bar");
  // The global flag works the same way.
  CHECK(json_of(z.box.harmony({"-o", "json", "plugin", "list"})) == doc);
}

TEST_CASE("plugin info describes one plugin") {
  Zoo z;
  auto r = z.box.harmony({"plugin", "info", "probe"});
  REQUIRE(r.ok());
  CHECK_THAT(r.out, Catch::Contains("command:      probe\n"));
  CHECK_THAT(r.out, Catch::Contains("path:         " + z.box.path("a/harmony-probe") + "\n"));
  CHECK_THAT(r.out, Catch::Contains("requires:     harmony >= 0.1.0\n"));
  CHECK_THAT(r.out, Catch::Contains("topologies:   local (default)\n"));
  CHECK_THAT(r.out, Catch::Contains("shadows:      " + z.box.path("b/harmony-probe") + "\n"));

  json doc = json_of(z.box.harmony({"plugin", "info", "-o", "json", "foo", "bar"}));
  CHECK(doc["path"] == z.box.path("a/harmony-foo-bar"));
  CHECK(json_of(z.box.harmony({"plugin", "info", "-o", "json", "harmony-foo-bar"}))["path"] == doc["path"]);

  auto unknown = z.box.harmony({"plugin", "info", "prob"});
  CHECK(unknown.exit_code == 127);
  CHECK_THAT(unknown.err, Catch::Contains("did you mean 'probe'?"));
  auto noexec = z.box.harmony({"plugin", "info", "noexec"});
  CHECK(noexec.exit_code == 126);
  CHECK_THAT(noexec.out, Catch::Contains("status:       not-executable"));
  CHECK(z.box.harmony({"plugin", "info", "deploy"}).exit_code == 2);
}

TEST_CASE("which tells what runs, what it shadows and why others were skipped") {
  Zoo z;
  z.box.write("a", "harmony-probe-x", "#!/bin/sh\n", fs::perms(0644));
  auto r = z.box.harmony({"which", "probe", "x", "--flag"});
  REQUIRE(r.ok());
  CHECK(r.out ==
        "runs:     " + z.box.path("a/harmony-probe") + " x --flag\n" +
        "shadows:  " + z.box.path("b/harmony-probe") + "\n" +
        "skipped:  " + z.box.path("a/harmony-probe-x") + " (not executable (mode 0644))\n");

  json doc = json_of(z.box.harmony({"which", "-o", "json", "deploy", "fleet", "--topology", "k3d"}));
  CHECK(doc["kind"] == "plugin");
  CHECK(doc["path"] == z.box.path("a/harmony-fleet"));
  CHECK(doc["argv"] == json::array({z.box.path("a/harmony-fleet"), "deploy", "--topology", "k3d"}));

  // `status` is a lifecycle verb: without a plugin it is a usage error.
  CHECK(z.box.harmony({"which", "status"}).exit_code == 2);
  json version = json_of(z.box.harmony({"which", "-o", "json", "version"}));
  CHECK(version["kind"] == "builtin");

  auto refused = z.box.harmony({"which", "newer"});
  CHECK(refused.exit_code == 126);
  CHECK_THAT(refused.out, Catch::Contains("skipped:  " + z.box.path("a/harmony-newer") + " (it requires harmony 99.0.0"));
  CHECK(z.box.harmony({"which", "nothing"}).exit_code == 127);
}

TEST_CASE("which names the files a built-in ignores") {
  Sandbox box;
  box.script("bin", "harmony-plugin", "");
  box.path_dirs = {"bin"};
  auto r = box.harmony({"which", "plugin", "list"});
  CHECK(r.ok());
  CHECK(r.out == "runs:     the built-in command 'plugin'\nignored:  " + box.path("bin/harmony-plugin") +
                     " (built-ins cannot be replaced)\n");
}

TEST_CASE("help lists built-ins and plugins with their descriptions, and help <plugin> is the plugin's --help") {
  Zoo z;
  auto r = z.box.harmony({"help"});
  REQUIRE(r.ok());
  CHECK_THAT(r.out, Catch::Contains("usage: harmony [global flags] <command> [args...]"));
  CHECK_THAT(r.out, Catch::Contains("  fleet    A stand-in for the fleet plugin\n"));
  CHECK_THAT(r.out, Catch::Contains("  hello    Says hello\n"));
  CHECK(z.box.harmony({}).out == r.out);
  CHECK(z.box.harmony({"--help"}).out == r.out);

  json doc = json_of(z.box.harmony({"help", "-o", "json"}));
  CHECK(doc["builtins"].size() == 5);
  CHECK(doc["lifecycle_verbs"].size() == 4);

  json plugin_help = json_of(z.box.harmony({"help", "probe"}));
  CHECK(plugin_help["args"] == json::array({"--help"}));
  auto builtin_help = z.box.harmony({"help", "plugin"});
  CHECK(builtin_help.ok());
  CHECK_THAT(builtin_help.out, Catch::Contains("harmony plugin"));
  CHECK_THAT(builtin_help.out, Catch::Contains("list"));
  CHECK(z.box.harmony({"help", "nosuch"}).exit_code == 127);
}

TEST_CASE("version, in text and JSON") {
  Sandbox box;
  CHECK(box.harmony({"--version"}).out == "harmony " + std::string(harmony::version) + " (plugin protocol 1.0)\n");
  json doc = json_of(box.harmony({"version", "-o", "json"}));
  CHECK(doc == json{{"version", harmony::version}, {"plugin_protocol", "1.0"}});
}

TEST_CASE("listing is fast to repeat: the second listing reads descriptors from the cache") {
  Zoo z;
  auto first = z.box.harmony({"plugin", "list", "-o", "json"});
  REQUIRE(fs::exists(z.box.path("cache/harmony/plugins-v1.json")));
  auto second = z.box.harmony({"plugin", "list", "-o", "json"});
  CHECK(json_of(first) == json_of(second));
}
