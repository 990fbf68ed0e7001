// The SDK through its test plugin and the real dispatcher, on the `local`
// topology: real processes, real ports, real files.

#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

#include <harmony/base/files.hpp>
#include <harmony/base/process.hpp>
#include <harmony/checks.hpp>

#include "eventually.hpp"
#include "sandbox.hpp"
#include "stack.hpp"

using namespace harmony::e2e;
using harmony::base::exit_status::degraded;
using nlohmann::json;
using namespace std::chrono_literals;
using harmony::testing::eventually;

namespace {

// Stack with the status queries these tests use.
struct LocalStack : Stack {
  json status() const { return json_of(harmony({"sdktest", "status", "-o", "json"})); }
  json component(const json& status_doc, const std::string& name) const {
    for (const auto& c : status_doc["components"])
      if (c["name"] == name) return c;
    FAIL("no component " << name << " in " << status_doc.dump());
    return {};
  }
  int pid(const std::string& name) const {
    return std::stoi(component(status(), name)["resources"][0]["details"]["pid"].get<std::string>());
  }
  std::string get(std::uint16_t port, const std::string& path) const {
    return box.run({"/usr/bin/curl", "-s", "--noproxy", "*", "http://127.0.0.1:" + std::to_string(port) + path}).out;
  }
};

}  // namespace

TEST_CASE("deploy brings the components up, blocks on their smoke tests, and says what to do next") {
  LocalStack s;
  auto r = s.deploy({"--set", "web.greeting=bonjour"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("web: ready"));
  CHECK_THAT(r.out, Catch::Contains("worker: ready"));
  CHECK_THAT(r.out, Catch::Contains("cloud: skipped: needs WritesManifests, which 'local' does not have"));
  CHECK_THAT(r.out, Catch::Contains("shop: skipped: needs ManagesKubernetes, which 'local' does not have"));
  CHECK_THAT(r.out, Catch::Contains("deployed 2 components of sdktest on local (2 changed, 5 skipped)"));
  CHECK_THAT(r.out, Catch::Contains("harmony sdktest status"));
  // The smoke test passed, so the server answers now, with its setting.
  CHECK(s.get(s.web_port, "/") == "bonjour");

  json status = s.status();
  CHECK(status["topology"] == "local");
  CHECK(s.component(status, "web")["state"] == "up");
  CHECK(s.component(status, "web")["health"]["ok"] == true);
  CHECK(s.component(status, "worker")["state"] == "up");
  CHECK(alive(s.pid("web")));
  CHECK(s.harmony({"sdktest", "status"}).exit_code == 0);
}

TEST_CASE("a redeploy with nothing changed reports no change and still runs the smoke tests") {
  LocalStack s;
  REQUIRE(s.deploy().exit_code == 0);
  const int web = s.pid("web"), worker = s.pid("worker");
  auto again = s.deploy({"-o", "json"});
  REQUIRE(again.exit_code == 0);
  auto events = harmony::testing::parse_json_lines(again.out);
  std::vector<std::string> web_phases;
  for (const auto& e : events)
    if (e["event"] == "phase" && e["component"] == "web") web_phases.push_back(e["phase"]);
  CHECK(web_phases == std::vector<std::string>{"running", "checking", "ready"});
  CHECK(events.back()["event"] == "summary");
  CHECK(events.back()["ok"] == true);
  CHECK(events.back()["message"] == "no change: 2 components of sdktest on local are up to date and passed their smoke tests (5 skipped)");
  for (const auto& c : events.back()["components"])
    if (c["component"] == "web") CHECK(c["message"] == "unchanged");
  CHECK(s.pid("web") == web);
  CHECK(s.pid("worker") == worker);
}

TEST_CASE("a changed setting restarts only the component it belongs to") {
  LocalStack s;
  REQUIRE(s.deploy().exit_code == 0);
  const int web = s.pid("web"), worker = s.pid("worker");
  auto plan = s.harmony({"plan", "sdktest", "--set", "web.port=" + std::to_string(s.web_port), "--set",
                         "worker.port=" + std::to_string(s.worker_port), "--set", "web.greeting=hola", "--set",
                         "web.token=hunter2"});
  REQUIRE(plan.exit_code == 0);
  CHECK_THAT(plan.out, Catch::Contains("~ web: will change"));
  CHECK_THAT(plan.out, Catch::Contains("web.greeting: hello -> hola"));
  CHECK_THAT(plan.out, Catch::Contains("web.token: (unset) -> (secret, changed)"));
  CHECK_THAT(plan.out, Catch::Contains("= worker: no setting changes"));
  CHECK(plan.out.find("hunter2") == std::string::npos);

  auto r = s.deploy({"--set", "web.greeting=hola", "--set", "web.token=hunter2"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("hunter2") == std::string::npos);
  CHECK_THAT(r.out, Catch::Contains("restarted: its configuration changed"));
  CHECK(s.pid("web") != web);
  CHECK_FALSE(alive(web));
  CHECK(s.pid("worker") == worker);
  CHECK(s.get(s.web_port, "/") == "hola");
  // The credential is a 0600 file, never in the record in clear text for others.
  auto status = s.harmony({"sdktest", "status", "-o", "json"});
  CHECK(status.out.find("hunter2") == std::string::npos);
}

TEST_CASE("a killed process shows as down, and a redeploy heals it") {
  LocalStack s;
  REQUIRE(s.deploy().exit_code == 0);
  const int web = s.pid("web");
  REQUIRE(::kill(web, SIGKILL) == 0);
  REQUIRE(eventually([&] { return s.harmony({"sdktest", "status"}).exit_code == degraded; }));
  auto text = s.harmony({"sdktest", "status"});
  CHECK_THAT(text.out, Catch::Contains("web: down"));
  CHECK_THAT(text.out, Catch::Contains("worker: up"));
  CHECK(s.component(s.status(), "web")["state"] == "down");

  auto healed = s.deploy();
  REQUIRE(healed.exit_code == 0);
  CHECK_THAT(healed.out, Catch::Contains("web restarted: it was"));
  CHECK(s.pid("web") != web);
  CHECK(s.harmony({"sdktest", "status"}).exit_code == 0);
}

TEST_CASE("a reused pid shows as down and is never signalled") {
  LocalStack s;
  REQUIRE(s.deploy({"web"}).exit_code == 0);
  const int web = s.pid("web");
  // Pretend the recorded process is another one (as after a reboot or pid
  // reuse): same pid, another start time.
  const std::string record = s.box.path("state/harmony/sdktest/local/components/web/processes/web.json");
  json doc = json::parse(*harmony::base::read_file(record));
  doc["start_ticks"] = doc["start_ticks"].get<std::uint64_t>() + 12345;
  REQUIRE(harmony::base::write_file_atomically(record, doc.dump(), 0600));

  auto status = s.status();
  CHECK(s.component(status, "web")["state"] == "down");
  CHECK(s.component(status, "web")["resources"][0]["state"] == "gone (pid reused)");
  REQUIRE(s.harmony({"destroy", "sdktest", "--yes"}).exit_code == 0);
  CHECK(alive(web));  // not ours any more: destroy forgot it without a signal
  ::kill(web, SIGKILL);
}

TEST_CASE("destroy stops everything and keeps credentials unless --purge") {
  LocalStack s;
  REQUIRE(s.deploy({"--set", "web.token=hunter2"}).exit_code == 0);
  const int web = s.pid("web"), worker = s.pid("worker");
  const std::string credential = s.box.path("state/harmony/sdktest/local/credentials/web/token");
  REQUIRE(fs::exists(credential));
  CHECK((fs::status(credential).permissions() & fs::perms::all) == fs::perms(0600));

  auto no_tty = s.harmony({"destroy", "sdktest"});
  CHECK(no_tty.exit_code == 2);
  CHECK_THAT(no_tty.err, Catch::Contains("destroy needs --yes when it cannot ask"));
  CHECK(alive(web));

  auto r = s.harmony({"destroy", "sdktest", "--yes"});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("kept its credentials and data (--purge removes them)"));
  CHECK(eventually([&] { return !alive(web) && !alive(worker); }));
  CHECK_FALSE(fs::exists(s.box.path("state/harmony/sdktest/local/components/web")));
  CHECK(fs::exists(credential));
  CHECK(s.status()["components"].empty());
  CHECK(s.harmony({"sdktest", "status"}).out == "nothing of sdktest is deployed on local\n");

  // A new deploy reuses the kept credential.
  REQUIRE(s.deploy({"web"}).exit_code == 0);
  REQUIRE(s.harmony({"destroy", "sdktest", "--yes", "--purge"}).exit_code == 0);
  CHECK_FALSE(fs::exists(credential));
  // Purge leaves nothing of the deployment: no empty directories, no lock.
  CHECK_FALSE(fs::exists(s.box.path("state/harmony/sdktest")));
  // And a deploy after it starts from nothing, with the lock made again.
  REQUIRE(s.deploy({"web"}).exit_code == 0);
  CHECK(fs::exists(s.box.path("state/harmony/sdktest/local/lock")));
  REQUIRE(s.harmony({"destroy", "sdktest", "--yes", "--purge"}).exit_code == 0);
}

TEST_CASE("destroy asks on a terminal") {
  LocalStack s;
  REQUIRE(s.deploy({"web"}).exit_code == 0);
  const int web = s.pid("web");
  auto no = s.box.run({"/usr/bin/script", "-qec", "harmony destroy sdktest", "/dev/null"}, "n\n");
  CHECK_THAT(no.out, Catch::Contains("Destroy web of sdktest on local? [y/N]"));
  CHECK(alive(web));
  auto yes = s.box.run({"/usr/bin/script", "-qec", "harmony destroy sdktest", "/dev/null"}, "y\n");
  CHECK(yes.exit_code == 0);
  CHECK(eventually([&] { return !alive(web); }));
}

TEST_CASE("a failing smoke test is a diagnostic with the component's log, and its own exit status") {
  LocalStack s;
  SECTION("the process exits at once: fails fast, with the end of its log") {
    auto r = s.deploy({"web", "--set", "web.exit_at_start=true"});
    CHECK(r.exit_code == harmony::base::exit_status::smoke_test_failed);
    CHECK_THAT(r.err, Catch::StartsWith("harmony sdktest: error: 'web' "));
    CHECK_THAT(r.err, Catch::Contains("exiting at start, as asked"));
    CHECK_THAT(r.err, Catch::Contains("harmony sdktest logs web"));
    CHECK_THAT(r.out, Catch::Contains("web: failed"));
  }
  SECTION("the health check keeps failing: not ready in time") {
    auto r = s.deploy({"web", "--set", "web.health_fail=true", "--timeout", "2s"});
    CHECK(r.exit_code == harmony::base::exit_status::not_ready);
    CHECK_THAT(r.err, Catch::Contains("'web' did not become ready within"));
    CHECK_THAT(r.err, Catch::Contains("answered 500"));
    CHECK_THAT(r.err, Catch::Contains("hint: look at its log: harmony sdktest logs web"));
    // Tracked, not orphaned: status shows it, destroy stops it.
    CHECK(s.component(s.status(), "web")["resources"][0]["state"] == "running");
  }
}

TEST_CASE("a taken port is a clear error") {
  LocalStack s;
  Sandbox other;
  auto holder_port = Sandbox::free_port();
  // Something else listens on the port web wants.
  REQUIRE(harmony::base::spawn_detached(
      {{fixture_file("sdktest-server"), "--port", std::to_string(holder_port)}},
      [](const harmony::base::ProcessIdentity&) -> harmony::base::expected<void> { return {}; }));
  REQUIRE(eventually([&] { return harmony::checks::tcp_connect({"127.0.0.1", holder_port}, 100ms).has_value(); }));
  auto r = s.harmony({"deploy", "sdktest", "web", "--set", "web.port=" + std::to_string(holder_port)});
  CHECK(r.exit_code == harmony::base::exit_status::port_in_use);
  CHECK_THAT(r.err, Catch::Contains("port " + std::to_string(holder_port) + " (http port of web) is already in use"));
  CHECK_THAT(r.err, Catch::Contains("choose another port with --set"));
  auto pid = s.get(holder_port, "/pid");
  ::kill(std::stoi(pid), SIGKILL);
}

TEST_CASE("components a topology cannot run: skipped by default, an error when named") {
  LocalStack s;
  auto named = s.harmony({"deploy", "sdktest", "cloud"});
  CHECK(named.exit_code == harmony::base::exit_status::unsupported);
  CHECK(named.err ==
        "harmony sdktest: error: component 'cloud' cannot run on topology 'local'\n"
        "  reason: it needs WritesManifests, which 'local' does not have\n"
        "  hint: topologies of harmony-sdktest that can run it: directory (--topology directory)\n");
  auto other = s.harmony({"deploy", "sdktest", "cloud", "--topology", "directory"});
  CHECK(other.exit_code == 0);
  CHECK(s.harmony({"destroy", "sdktest", "--topology", "directory", "--yes"}).exit_code == 0);

  SECTION("HARMONY_TOPOLOGY is the fallback for --topology, for every verb") {
    s.box.vars = {{"HARMONY_TOPOLOGY", "directory"}};
    CHECK(s.harmony({"deploy", "sdktest", "cloud"}).exit_code == 0);
    CHECK(json_of(s.harmony({"sdktest", "status", "-o", "json"}))["topology"] == "directory");
    CHECK(s.harmony({"deploy", "sdktest", "web"}).exit_code == harmony::base::exit_status::unsupported);
    CHECK(s.harmony({"destroy", "sdktest", "--yes"}).exit_code == 0);
  }
  SECTION("an unknown topology lists the available ones") {
    auto r = s.harmony({"deploy", "sdktest", "--topology", "k3s"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("unknown topology 'k3s'"));
    CHECK_THAT(r.err, Catch::Contains("built with the topologies: local, directory, kubeconfig, k3d"));
    CHECK_THAT(r.err, Catch::Contains("did you mean 'k3d'?"));
  }
}

TEST_CASE("settings errors name the key, like helm's") {
  LocalStack s;
  auto bad = s.harmony({"deploy", "sdktest", "--set", "web.port=abc", "--set", "web.prot=1", "--set", "wbe.port=2"});
  CHECK(bad.exit_code == harmony::base::exit_status::invalid_settings);
  CHECK_THAT(bad.err, Catch::Contains("3 invalid settings"));
  CHECK_THAT(bad.err, Catch::Contains("web.port: 'abc' is not a port number (1-65535)"));
  CHECK_THAT(bad.err, Catch::Contains("web.prot: unknown setting; did you mean 'port'?"));
  CHECK_THAT(bad.err, Catch::Contains("wbe: not a component of harmony-sdktest; did you mean 'web'?"));
  CHECK(s.harmony({"deploy", "sdktest", "--set", "web.delay=-1"}).exit_code == harmony::base::exit_status::invalid_settings);
  CHECK(s.harmony({"deploy", "sdktest", "--set", "noequals"}).exit_code == harmony::base::exit_status::invalid_settings);

  SECTION("values files, then --set; YAML errors give the line") {
    s.box.write("", "values.yaml",
                "web:\n  port: " + std::to_string(s.web_port) + "\n  greeting: from-file\n  labels:\n    site: lab\n"
                "worker:\n  port: " + std::to_string(s.worker_port) + "\n");
    auto r = s.harmony({"deploy", "sdktest", "-f", "values.yaml", "--set", "web.greeting=from-set"});
    REQUIRE(r.exit_code == 0);
    CHECK(s.get(s.web_port, "/") == "from-set");
    s.box.write("", "broken.yaml", "web:\n  port: [\n");
    auto broken = s.harmony({"plan", "sdktest", "-f", "broken.yaml"});
    CHECK(broken.exit_code != 0);
    CHECK_THAT(broken.err, Catch::Contains("cannot read 'broken.yaml'"));
    CHECK_THAT(broken.err, Catch::Contains("line 3"));
    CHECK(s.harmony({"plan", "sdktest", "-f", "missing.yaml"}).exit_code == harmony::base::exit_status::invalid_settings);
  }
}

TEST_CASE("logs prints a component's log, and follows it") {
  LocalStack s;
  REQUIRE(s.deploy({"web"}).exit_code == 0);
  auto r = s.harmony({"sdktest", "logs", "web"});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("--- harmony: starting web at "));
  CHECK_THAT(r.out, Catch::Contains("listening on 127.0.0.1:" + std::to_string(s.web_port)));
  CHECK(harmony::e2e::lines(s.harmony({"sdktest", "logs", "web", "--tail", "1"}).out).size() == 1);
  auto missing = s.harmony({"sdktest", "logs", "worker"});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains("no logs for 'worker' on local"));

  // Follow: what the server logs later shows up, until Ctrl-C.
  harmony::base::ProcessSpec spec;
  // Waits on what the follower printed (bounded), not on the clock: first the
  // log so far, then the new line.
  const std::string followed = s.box.path("followed.out");
  const auto wait_for = [&](const std::string& text) {
    return "for i in $(seq 400); do grep -q '" + text + "' " + followed + " && break; sleep 0.05; done; ";
  };
  spec.argv = {"/bin/sh", "-c",
               "harmony sdktest logs web -f > " + followed + " & pid=$!; " + wait_for("listening on") +
                   "curl -s --noproxy '*' http://127.0.0.1:" + std::to_string(s.web_port) + "/followed >/dev/null; " +
                   wait_for("GET /followed") + "kill -INT $pid; wait $pid; echo exit=$?; cat " + followed};
  spec.env = s.box.environment();
  spec.timeout = 20s;
  auto follow = harmony::base::run_process(spec);
  REQUIRE(follow);
  CHECK_THAT(follow->out, Catch::Contains("GET /followed"));
  CHECK_THAT(follow->out, Catch::Contains("exit=0"));
}

TEST_CASE("an upgraded program restarts what runs it, and only that") {
  LocalStack s;
  REQUIRE(s.deploy().exit_code == 0);
  const int web = s.pid("web"), worker = s.pid("worker");
  // A new build of the server: same path, another file.
  const std::string server = s.box.path("bin/sdktest-server");
  fs::remove(server);
  s.box.install_program(fixture_file("sdktest-server"));
  auto r = s.deploy({"web"});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("restarted: its program changed"));
  CHECK(s.pid("web") != web);
  CHECK(s.pid("worker") == worker);  // not part of this deploy: untouched until deployed
  auto both = s.deploy();
  CHECK_THAT(both.out, Catch::Contains("worker: ready"));
  CHECK(s.pid("worker") != worker);
}
