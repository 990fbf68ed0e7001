// The plugin runner as users and the dispatcher see it: descriptor,
// components, completion, concurrency, Ctrl-C, progress on a terminal.

#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

#include <harmony/base/files.hpp>
#include <harmony/base/process.hpp>
#include <harmony/version.hpp>

#include "eventually.hpp"
#include "sandbox.hpp"
#include "skip.hpp"
#include "stack.hpp"

using namespace harmony::e2e;
using nlohmann::json;
using namespace std::chrono_literals;


TEST_CASE("the build embeds the descriptor: listing reads verbs, components and topologies without running it") {
  Stack p;
  json list = json_of(p.harmony({"plugin", "list", "-o", "json"}));
  REQUIRE(list["plugins"].size() == 1);
  json d = list["plugins"][0]["descriptor"];
  CHECK(d["name"] == "sdktest");
  CHECK(d["version"] == "1.2.3");
  CHECK(d["sdk_version"] == harmony::version);
  CHECK(d["verbs"] == json::array({"deploy", "destroy", "status", "plan"}));
  CHECK(d["components"] == json::array({"web", "worker", "cloud", "shop", "chart", "widget", "ops", "apps", "all"}));
  CHECK(d["topologies"] == json::array({"local", "directory", "kubeconfig", "k3d"}));
  CHECK(d["default_topology"] == "local");
  CHECK(d["completion"] == true);
  CHECK_THAT(p.harmony({"status"}).err, Catch::Contains("plugins offering 'status': sdktest"));
}

TEST_CASE("components lists components, topologies, groups and every setting") {
  Stack p;
  auto text = p.harmony({"sdktest", "components"});
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("cloud      directory        a manifest"));
  CHECK_THAT(text.out, Catch::Contains("shop       kubeconfig, k3d  a small web shop on Kubernetes"));
  CHECK_THAT(text.out, Catch::Contains("apps = web, worker"));
  CHECK_THAT(text.out, Catch::Contains("local (default): processes on this machine"));
  json doc = json_of(p.harmony({"sdktest", "components", "-o", "json"}));
  CHECK(doc["default_topology"] == "local");
  json web = doc["components"][0];
  CHECK(web["name"] == "web");
  CHECK(web["topologies"] == json::array({"local"}));
  CHECK(web["unsupported"]["directory"] == json::array({"SupervisesProcesses", "StoresFiles", "ReachesEndpoints"}));
  bool saw_port = false, saw_token = false;
  for (const auto& f : web["settings"]) {
    if (f["key"] == "web.port") saw_port = f["type"] == "port" && f["default"] == "18080";
    if (f["key"] == "web.token") saw_token = f["secret"] == true;
  }
  CHECK(saw_port);
  CHECK(saw_token);
}

TEST_CASE("completion answers from what was registered") {
  Stack p;
  auto verbs = p.harmony({"__complete", "sdktest", ""});
  CHECK_THAT(verbs.out, Catch::Contains("deploy\t"));
  CHECK_THAT(verbs.out, Catch::Contains("components\t"));
  CHECK(p.harmony({"__complete", "deploy", "sdktest", "w"}).out == "web\tsdktest-server with a config file and readiness checks\n"
                                                                     "worker\ta second server, deployed after web\n"
          "widget\ta custom resource and its CRD\n");
  CHECK(p.harmony({"__complete", "deploy", "sdktest", "--topology", ""}).out ==
        "local\tprocesses on this machine, started and tracked by harmony\n"
        "directory\tmanifests written into a directory (a test topology)\n"
        "kubeconfig\tthe Kubernetes cluster of a kubeconfig context\n"
        "k3d\ta local k3d cluster, created when missing\n");
  auto keys = p.harmony({"__complete", "deploy", "sdktest", "--set", "web.p"});
  CHECK(keys.out == "web.port=\tthe HTTP port\n:nospace\n");
  CHECK_THAT(p.harmony({"__complete", "deploy", "sdktest", "--v"}).out, Catch::Contains("--values\t"));
  CHECK(p.harmony({"__complete", "sdktest", "logs", "wo"}).out == "worker\ta second server, deployed after web\n");
}

TEST_CASE("a plugin run directly completes in bash with its own completion script") {
  Stack p;
  auto script = p.box.run({"harmony-sdktest", "completion", "bash"});
  REQUIRE(script.exit_code == 0);
  CHECK_THAT(script.out, Catch::Contains("complete -F _harmony_sdktest harmony-sdktest"));
  auto complete = [&](const std::string& words, int cword) {
    auto r = p.box.run({"/bin/bash", "--norc", "--noprofile", "-c",
                        "source <(harmony-sdktest completion bash)\nCOMP_WORDS=(" + words + ")\nCOMP_CWORD=" +
                            std::to_string(cword) + "\n_harmony_sdktest\nprintf '%s\\n' \"${COMPREPLY[@]}\""});
    return lines(r.out);
  };
  CHECK(complete("harmony-sdktest dep", 1) == std::vector<std::string>{"deploy"});
  CHECK(complete("harmony-sdktest deploy wo", 2) == std::vector<std::string>{"worker"});
  CHECK(p.box.run({"harmony-sdktest", "completion", "tcsh"}).exit_code == harmony::base::exit_status::usage);
  CHECK_THAT(p.box.run({"harmony-sdktest", "completion", "zsh"}).out, Catch::StartsWith("#compdef harmony-sdktest"));
  CHECK_THAT(p.box.run({"harmony-sdktest", "completion", "fish"}).out, Catch::Contains("complete -c harmony-sdktest"));
}

TEST_CASE("the plugin's own flags win over HARMONY_* variables") {
  Stack p;
  json doc = json_of(p.harmony({"-o", "text", "sdktest", "components", "-o", "json"}));
  CHECK(doc["plugin"] == "sdktest");
  auto text = p.harmony({"-o", "json", "sdktest", "components", "-o", "text"});
  CHECK_THAT(text.out, Catch::StartsWith("COMPONENT"));
  CHECK(json_of(p.harmony({"-o", "json", "sdktest", "components"}))["plugin"] == "sdktest");
}

TEST_CASE("unknown commands and flags of a plugin are usage errors with suggestions") {
  Stack p;
  auto r = p.harmony({"sdktest", "deplyo"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("harmony sdktest: error: unknown command 'deplyo'"));
  CHECK_THAT(r.err, Catch::Contains("did you mean 'deploy'?"));
  CHECK(p.harmony({"sdktest", "deploy", "--bogus"}).exit_code == 2);
  auto unknown = p.harmony({"deploy", "sdktest", "wbe"});
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("did you mean 'web'?"));
}

TEST_CASE("concurrent deploys of the same stack: the second waits, or fails clearly when out of time") {
  Stack p;
  const std::string slow = "harmony deploy sdktest web --set " + p.web() + " --set web.delay=3";
  harmony::base::ProcessSpec first;
  first.argv = {"/bin/sh", "-c", slow + " >/dev/null 2>&1 & echo $!"};
  first.env = p.box.environment();
  auto started = harmony::base::run_process(first);
  REQUIRE(started);
  // The first deploy holds the lock (its pid is in the lock file) while it
  // waits for web, which listens only after 3 seconds.
  const std::string lock = p.box.path("state/harmony/sdktest/local/lock");
  REQUIRE(harmony::testing::eventually([&] { return harmony::base::read_file(lock).value_or("").size() > 1; }));
  auto second = p.harmony({"deploy", "sdktest", "web", "--set", p.web(), "--timeout", "1s"});
  CHECK(second.exit_code == harmony::base::exit_status::lock_held);
  CHECK_THAT(second.err, Catch::Contains("another deploy or destroy of sdktest on local is running"));
  CHECK_THAT(second.err, Catch::Contains("holds it"));
  auto patient = p.harmony({"deploy", "sdktest", "web", "--set", p.web(), "--set", "web.delay=3", "-v"});
  CHECK(patient.exit_code == 0);
}

TEST_CASE("Ctrl-C during a deploy stops waiting, exits 130, leaves it consistent, and a rerun converges") {
  Stack p;
  // Ctrl-C once the deploy has started web (its record exists) and waits for it.
  const std::string record = p.box.path("state/harmony/sdktest/local/components/web/processes/web.json");
  harmony::base::ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c",
               "harmony deploy sdktest web --set " + p.web() + " --set web.delay=3 & pid=$!; " +
                   "for i in $(seq 100); do [ -s " + record + " ] && break; sleep 0.05; done; " +
                   "kill -INT $pid; wait $pid; echo exit=$?"};
  spec.env = p.box.environment();
  spec.timeout = 30s;
  auto r = harmony::base::run_process(spec);
  REQUIRE(r);
  CHECK_THAT(r->out, Catch::Contains("exit=130"));
  CHECK_THAT(r->err, Catch::Contains("harmony sdktest: error: interrupted"));
  CHECK_THAT(r->err, Catch::Contains("run the same command again to continue"));
  // The process it started is tracked, not orphaned.
  json status = json_of(p.harmony({"sdktest", "status", "-o", "json", "--check-timeout", "5s"}));
  CHECK(status["components"][0]["resources"][0]["state"] == "running");
  auto rerun = p.harmony({"deploy", "sdktest", "web", "--set", p.web(), "--set", "web.delay=3"});
  CHECK(rerun.exit_code == 0);
  CHECK_THAT(rerun.out, Catch::Contains("unchanged"));
}

TEST_CASE("on a terminal, progress is one live line per component") {
  Stack p;
  auto r = p.box.run({"/usr/bin/script", "-qec", "harmony deploy sdktest web --set " + p.web(), "/dev/null"});
  if (!r.ok() && r.err.find("pseudo-terminal") != std::string::npos) {
    HARMONY_SKIP("this machine cannot allocate a pseudo-terminal: " + r.err);
  }
  REQUIRE(r.ok());
  CHECK_THAT(r.out, Catch::Contains("\033[1A"));         // lines are redrawn in place
  CHECK_THAT(r.out, Catch::Contains("\033[32mready"));   // in color
  CHECK_THAT(r.out, Catch::Contains("deployed 1 component of sdktest on local (1 changed)"));
  auto plain = p.box.run({"/usr/bin/script", "-qec", "NO_COLOR=1 harmony deploy sdktest web --set " + p.web(), "/dev/null"});
  CHECK(plain.out.find("\033[32m") == std::string::npos);
  CHECK_THAT(plain.out, Catch::Contains("\033[1A"));
}

TEST_CASE("a plugin's own commands get their flags, -o json, and return their status") {
  Stack p;
  CHECK(p.harmony({"sdktest", "hello"}).out == "hello, world\n");
  auto shout = p.harmony({"sdktest", "hello", "--name", "ada", "--shout"});
  CHECK(shout.out == "HELLO, ADA\n");
  CHECK(json_of(p.harmony({"-o", "json", "sdktest", "hello", "--name", "ada"}))["greeting"] == "hello, ada");
  CHECK(p.harmony({"sdktest", "hello", "--name", "nobody"}).exit_code == 3);
  CHECK(p.harmony({"sdktest", "hello", "--nmae", "x"}).exit_code == 2);
  CHECK_THAT(p.harmony({"__complete", "sdktest", "hello", "--"}).out, Catch::Contains("--name\twhom to greet"));
  auto help = p.harmony({"sdktest"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Contains("hello"));
  CHECK_THAT(help.out, Catch::Contains("deploy"));
}
