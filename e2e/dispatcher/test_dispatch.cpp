// The dispatch grammar and the exec contract, through the real binary.

#include <catch2/catch.hpp>

#include <csignal>

#include <harmony/version.hpp>

#include "sandbox.hpp"
#include "skip.hpp"

using namespace harmony::e2e;
using nlohmann::json;

namespace {

struct Probe {
  Sandbox box;
  std::string probe;
  Probe() {
    probe = box.install("probe", "bin", "harmony-probe");
    box.path_dirs = {"bin"};
  }
};

}  // namespace

TEST_CASE("harmony replaces itself with the plugin: same pid, argv[0] is the plugin's path, arguments untouched") {
  Probe p;
  auto r = p.box.harmony({"probe", "a", "-x", "--y=1", "", "two words"});
  REQUIRE(r.ok());
  json doc = json_of(r);
  CHECK(doc["pid"] == r.pid);
  CHECK(doc["exe"] == p.probe);
  CHECK(doc["argv0"] == p.probe);
  CHECK(doc["args"] == json::array({"a", "-x", "--y=1", "", "two words"}));
  CHECK(r.err.empty());
}

TEST_CASE("the plugin gets the HARMONY_* contract") {
  Probe p;
  SECTION("defaults") {
    json env = json_of(p.box.harmony({"probe"}))["env"];
    CHECK(env["HARMONY_BIN"] == harmony_binary());
    CHECK(env["HARMONY_VERSION"] == harmony::version);
    CHECK(env["HARMONY_PLUGIN_NAME"] == "probe");
    CHECK(env["HARMONY_VERBOSE"] == "0");
    CHECK(env["HARMONY_OUTPUT"] == "text");
    CHECK(env["HARMONY_NO_COLOR"] == "0");
  }
  SECTION("global flags before the first word") {
    json env = json_of(p.box.harmony({"-v", "-vv", "-o", "json", "--no-color", "probe"}))["env"];
    CHECK(env["HARMONY_VERBOSE"] == "3");
    CHECK(env["HARMONY_OUTPUT"] == "json");
    CHECK(env["HARMONY_NO_COLOR"] == "1");
    env = json_of(p.box.harmony({"--output=json", "--verbose", "probe"}))["env"];
    CHECK(env["HARMONY_OUTPUT"] == "json");
    CHECK(env["HARMONY_VERBOSE"] == "1");
  }
  SECTION("NO_COLOR is honoured") {
    p.box.vars = {{"NO_COLOR", "1"}};
    CHECK(json_of(p.box.harmony({"probe"}))["env"]["HARMONY_NO_COLOR"] == "1");
  }
  SECTION("flags after the first word belong to the plugin") {
    json doc = json_of(p.box.harmony({"probe", "-v", "-o", "json", "--no-color"}));
    CHECK(doc["args"] == json::array({"-v", "-o", "json", "--no-color"}));
    CHECK(doc["env"]["HARMONY_VERBOSE"] == "0");
    CHECK(doc["env"]["HARMONY_OUTPUT"] == "text");
  }
  SECTION("HARMONY_* set by the caller are defaults that flags override") {
    p.box.vars = {{"HARMONY_OUTPUT", "json"}, {"HARMONY_VERBOSE", "2"}};
    json env = json_of(p.box.harmony({"probe"}))["env"];
    CHECK(env["HARMONY_OUTPUT"] == "json");
    CHECK(env["HARMONY_VERBOSE"] == "2");
    env = json_of(p.box.harmony({"-o", "text", "probe"}))["env"];
    CHECK(env["HARMONY_OUTPUT"] == "text");
  }
}

TEST_CASE("an unknown leading flag is a usage error") {
  Probe p;
  auto r = p.box.harmony({"--bogus", "probe"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::StartsWith("harmony: error: unknown global flag '--bogus'"));
  CHECK_THAT(r.err, Catch::Contains("hint: a plugin's own flags go after its name"));
  auto bad_value = p.box.harmony({"-o", "yaml", "probe"});
  CHECK(bad_value.exit_code == 2);
  CHECK_THAT(bad_value.err, Catch::Contains("'text' or 'json', not 'yaml'"));
  p.box.vars = {{"HARMONY_OUTPUT", "xml"}};
  auto bad_env = p.box.harmony({"probe"});
  CHECK(bad_env.exit_code == 2);
  CHECK_THAT(bad_env.err, Catch::Contains("HARMONY_OUTPUT must be 'text' or 'json'"));
}

TEST_CASE("stdin and the terminal pass straight through") {
  Probe p;
  auto r = p.box.harmony({"probe", "--cat"}, "piped input\n");
  REQUIRE(r.ok());
  CHECK_THAT(r.out, Catch::StartsWith("piped input\n{"));

  // Under a pseudo-terminal (script(1)), the plugin sees a terminal.
  auto tty = p.box.run({"/usr/bin/script", "-qec", harmony_binary() + " probe", "/dev/null"});
  if (!tty.ok() && tty.err.find("pseudo-terminal") != std::string::npos) {
    HARMONY_SKIP("the terminal half: this machine cannot allocate a pseudo-terminal: " + tty.err);
  }
  REQUIRE(tty.ok());
  CHECK_THAT(tty.out, Catch::Contains("\"stdin_tty\":true,\"stdout_tty\":true"));
}

TEST_CASE("the longest match over the leading words wins") {
  Probe p;
  auto foo = p.box.install("probe", "bin", "harmony-foo");
  auto foo_bar = p.box.install("probe", "bin", "harmony-foo-bar");
  json doc = json_of(p.box.harmony({"foo", "bar", "x"}));
  CHECK(doc["exe"] == foo_bar);
  CHECK(doc["args"] == json::array({"x"}));
  doc = json_of(p.box.harmony({"foo", "baz", "bar"}));
  CHECK(doc["exe"] == foo);
  CHECK(doc["args"] == json::array({"baz", "bar"}));
  CHECK(json_of(p.box.harmony({"foo", "bar", "x"}))["env"]["HARMONY_PLUGIN_NAME"] == "foo-bar");
}

TEST_CASE("a dash inside a word maps to an underscore in the file name") {
  Probe p;
  auto app = p.box.install("probe", "bin", "harmony-my_app");
  json doc = json_of(p.box.harmony({"my-app", "deploy"}));
  CHECK(doc["exe"] == app);
  CHECK(doc["args"] == json::array({"deploy"}));
  CHECK(doc["env"]["HARMONY_PLUGIN_NAME"] == "my_app");
}

TEST_CASE("lifecycle verbs run harmony-<plugin> <verb>") {
  Probe p;
  p.box.install("fleet", "bin", "harmony-fleet");
  json doc = json_of(p.box.harmony({"deploy", "probe", "--topology", "local"}));
  CHECK(doc["exe"] == p.probe);
  CHECK(doc["args"] == json::array({"deploy", "--topology", "local"}));

  SECTION("with no plugin, the usage error lists the plugins offering the verb") {
    auto r = p.box.harmony({"status"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("'harmony status' needs a plugin name"));
    CHECK_THAT(r.err, Catch::Contains("plugins offering 'status': fleet, probe"));
    auto plan = p.box.harmony({"plan"});
    CHECK_THAT(plan.err, Catch::Contains("plugins offering 'plan': fleet"));
  }
  SECTION("exactly one word names the plugin") {
    p.box.install("probe", "bin", "harmony-probe-deploy");
    json d = json_of(p.box.harmony({"deploy", "probe", "deploy"}));
    CHECK(d["exe"] == p.probe);
    CHECK(d["args"] == json::array({"deploy", "deploy"}));
  }
  SECTION("an unknown plugin") {
    auto r = p.box.harmony({"deploy", "prob"});
    CHECK(r.exit_code == 127);
    CHECK_THAT(r.err, Catch::Contains("unknown plugin 'prob'"));
    CHECK_THAT(r.err, Catch::Contains("did you mean 'probe'?"));
  }
  SECTION("a plugin reached only through a relative PATH entry: the error names the entry") {
    p.box.vars.emplace_back("PATH", "bin::/usr/bin:/bin");
    auto r = p.box.harmony({"deploy", "probe"});
    CHECK(r.exit_code == 127);
    CHECK_THAT(r.err, Catch::Contains("unknown plugin 'probe'"));
    CHECK_THAT(r.err, Catch::Contains("not searched: 'bin' in PATH, an empty entry in PATH"));
    CHECK_THAT(r.err, Catch::Contains("put the plugin's directory on PATH as an absolute path"));
  }
  SECTION("--help describes the verb") {
    auto r = p.box.harmony({"deploy", "--help"});
    CHECK(r.ok());
    CHECK_THAT(r.out, Catch::Contains("usage: harmony deploy <plugin> [args...]"));
    CHECK_THAT(r.out, Catch::Contains("plugins offering 'deploy': fleet, probe"));
  }
}

TEST_CASE("built-ins are never shadowed") {
  Probe p;
  for (const char* name : {"harmony-version", "harmony-plugin-list", "harmony-help", "harmony-deploy", "harmony-which"})
    p.box.script("bin", name, "", "echo SHADOW-RAN; exit 3\n");
  auto v = p.box.harmony({"version"});
  CHECK(v.ok());
  CHECK(v.out == "harmony " + std::string(harmony::version) + " (plugin protocol 1.0)\n");
  auto list = p.box.harmony({"plugin", "list"});
  CHECK(list.ok());
  CHECK(list.out.find("SHADOW-RAN") == std::string::npos);
  CHECK_THAT(list.err, Catch::Contains("harmony-plugin-list: named like the built-in command 'plugin'"));
  auto deploy = p.box.harmony({"deploy", "probe"});
  CHECK(deploy.out.find("SHADOW-RAN") == std::string::npos);
  auto help = p.box.harmony({"help"});
  CHECK(help.out.find("SHADOW-RAN") == std::string::npos);
}

TEST_CASE("the first directory wins, and HARMONY_PLUGIN_PATH comes before PATH") {
  Sandbox box;
  auto first = box.install("probe", "one", "harmony-probe");
  auto second = box.install("probe", "two", "harmony-probe");
  auto preferred = box.install("probe", "plugins", "harmony-probe");
  box.path_dirs = {"one", "two"};
  CHECK(json_of(box.harmony({"probe"}))["exe"] == first);
  box.vars = {{"HARMONY_PLUGIN_PATH", box.path("plugins")}};
  CHECK(json_of(box.harmony({"probe"}))["exe"] == preferred);
  (void)second;
}

TEST_CASE("relative and empty PATH entries are never searched") {
  Sandbox box;
  box.script("", "harmony-here", "", "touch RAN-FROM-CWD\n");
  box.install("probe", "bin", "harmony-probe");
  for (std::vector<std::string> dirs : {std::vector<std::string>{".", "bin"}, {"", "bin"}, {"bin", "."}}) {
    box.path_dirs = dirs;
    auto r = box.harmony({"here"});
    CHECK(r.exit_code == 127);
    CHECK_FALSE(fs::exists(box.path("RAN-FROM-CWD")));
  }
  box.vars = {{"HARMONY_PLUGIN_PATH", ".:relative"}};
  box.path_dirs = {"bin"};
  CHECK(box.harmony({"here"}).exit_code == 127);
  CHECK_FALSE(fs::exists(box.path("RAN-FROM-CWD")));
}

TEST_CASE("unrunnable files are skipped for a later runnable one, or explained") {
  Sandbox box;
  box.script("a", "harmony-tool", "", "");
  fs::permissions(box.path("a/harmony-tool"), fs::perms(0644));
  box.path_dirs = {"a"};
  auto r = box.harmony({"tool"});
  CHECK(r.exit_code == 126);
  CHECK_THAT(r.err, Catch::Contains("cannot run plugin 'tool'"));
  CHECK_THAT(r.err, Catch::Contains("not executable (mode 0644)"));
  CHECK_THAT(r.err, Catch::Contains("hint: make it executable: chmod +x " + box.path("a/harmony-tool")));

  auto good = box.install("probe", "b", "harmony-tool");
  box.path_dirs = {"a", "b"};
  CHECK(json_of(box.harmony({"tool"}))["exe"] == good);
}

TEST_CASE("a plugin in a directory others can write to is refused unless allowed") {
  Sandbox box;
  box.dir("open", fs::perms(0777));
  box.install("probe", "open", "harmony-probe");
  fs::permissions(box.path("open"), fs::perms(0777));
  box.path_dirs = {"open"};
  auto r = box.harmony({"probe"});
  CHECK(r.exit_code == 126);
  CHECK_THAT(r.err, Catch::Contains("refusing to run plugin 'probe'"));
  CHECK_THAT(r.err, Catch::Contains("is writable by any user (mode 0777)"));
  CHECK_THAT(r.err, Catch::Contains("HARMONY_ALLOW_INSECURE_PATH=1"));
  box.vars = {{"HARMONY_ALLOW_INSECURE_PATH", "1"}};
  CHECK(box.harmony({"probe"}).ok());

  SECTION("a world-writable file, too") {
    box.vars.clear();
    box.install("probe", "safe", "harmony-loose");
    fs::permissions(box.path("safe/harmony-loose"), fs::perms(0777));
    box.path_dirs = {"safe"};
    CHECK(box.harmony({"loose"}).exit_code == 126);
  }
}

TEST_CASE("scripts that cannot start say why") {
  Sandbox box;
  box.path_dirs = {"bin"};
  box.write("bin", "harmony-badinterp", "#!/nonexistent/interpreter\necho hi\n");
  auto r = box.harmony({"badinterp"});
  CHECK(r.exit_code == 126);
  CHECK_THAT(r.err, Catch::Contains("interpreter line '#!/nonexistent/interpreter' names a program that does not exist"));
  box.write("bin", "harmony-noshebang", "echo hi\n");
  auto n = box.harmony({"noshebang"});
  CHECK(n.exit_code == 126);
  CHECK_THAT(n.err, Catch::Contains("neither a binary for this machine nor a script"));
}

TEST_CASE("unknown commands get a suggestion across built-ins and plugins") {
  Probe p;
  auto r = p.box.harmony({"prboe"});
  CHECK(r.exit_code == 127);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "harmony: error: unknown command 'prboe'\n"
        "  reason: no built-in command and no plugin named harmony-prboe in the 1 directories of HARMONY_PLUGIN_PATH and PATH\n"
        "  hint: did you mean 'probe'?\n");
  CHECK_THAT(p.box.harmony({"verison"}).err, Catch::Contains("did you mean 'version'?"));
  CHECK_THAT(p.box.harmony({"zzzzzz"}).err, Catch::Contains("run 'harmony help'"));
}

TEST_CASE("incompatible plugins are reported, and refused at dispatch once the cache knows them") {
  Sandbox box;
  box.path_dirs = {"bin"};
  box.install("newer", "bin", "harmony-newer");
  box.install("future", "bin", "harmony-future");
  // Before any listing, dispatch does no extra work: the plugin runs.
  CHECK(box.harmony({"newer"}).ok());
  auto list = box.harmony({"plugin", "list"});
  CHECK_THAT(list.err, Catch::Contains("harmony-newer: it requires harmony 99.0.0 or later; this is harmony"));
  CHECK_THAT(list.err, Catch::Contains("harmony-future: it speaks plugin protocol 2.0; this harmony speaks 1.x"));
  auto r = box.harmony({"newer"});
  CHECK(r.exit_code == 126);
  CHECK_THAT(r.err, Catch::Contains("refusing to run plugin 'newer'"));
  CHECK_THAT(r.err, Catch::Contains("requires harmony 99.0.0 or later"));
  CHECK(box.harmony({"future"}).exit_code == 126);
  // A changed file is a new file: it runs again until listed again.
  box.install("probe", "bin", "harmony-newer");
  CHECK(box.harmony({"newer"}).ok());

  SECTION("a refused longer match falls through to the shorter one, in which and in dispatch alike") {
    auto newer_bar = box.install("newer", "bin", "harmony-foo-bar");
    auto foo = box.install("probe", "bin", "harmony-foo");
    CHECK(json_of(box.harmony({"foo", "bar"}))["exe"] == newer_bar);  // the cache does not know it yet
    json which = json_of(box.harmony({"which", "-o", "json", "foo", "bar"}));
    CHECK(which["path"] == foo);
    CHECK(which["argv"] == json::array({foo, "bar"}));
    CHECK(which["skipped"][0]["path"] == newer_bar);
    CHECK(which["skipped"][0]["problem"] == "incompatible");
    json ran = json_of(box.harmony({"foo", "bar"}));
    CHECK(ran["exe"] == foo);
    CHECK(ran["args"] == json::array({"bar"}));
  }
}

TEST_CASE("a plugin with a broken descriptor is listed with the problem and still runs") {
  Sandbox box;
  box.path_dirs = {"bin"};
  box.install("broken", "bin", "harmony-broken");
  auto list = box.harmony({"plugin", "list"});
  CHECK_THAT(list.err, Catch::Contains("harmony-broken: its descriptor cannot be read: it is not valid JSON"));
  CHECK_THAT(list.out, Catch::Contains("broken"));
  CHECK(box.harmony({"broken"}).ok());
}
