// The daemon's life: NATS going away and coming back, wrong credentials,
// SIGTERM, bad configuration, and what its binary links.

#include <catch2/catch.hpp>

#include <csignal>
#include <future>
#include <thread>

#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/time.hpp>

#include "agent_stack.hpp"
#include "eventually.hpp"

using namespace harmony::e2e;
using namespace std::chrono_literals;
namespace exit_status = harmony::base::exit_status;

using harmony::testing::eventually;

TEST_CASE("after nats-server restarts the agent reconnects and its heartbeats resume") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  REQUIRE(stack.client().ensure_status_bucket());
  auto& agent = stack.start_agent();

  stack.nats.kill();
  // During the outage: an error at once, not a hang.
  auto during = stack.agent({"ping", "edge-1", "--timeout", "2s"});
  CHECK(during.exit_code == exit_status::unreachable);
  CHECK_THAT(during.err, Catch::Contains("cannot reach NATS"));  // at once: not "did not answer within"
  REQUIRE(eventually([&] { return agent.log().find("disconnected from NATS") != std::string::npos; }, 10s));
  CHECK(agent.running());

  const auto restarted = std::chrono::system_clock::now();
  stack.nats.start();
  REQUIRE(stack.wait_for_ping("edge-1", 20s));

  auto status = json_of(stack.agent({"status", "edge-1", "-o", "json"}));
  CHECK(status["nats"]["reconnects"].get<int>() >= 1);
  // A heartbeat newer than the restart lands in the KV bucket.
  CHECK(eventually(
      [&] {
        auto beats = stack.client().heartbeats(0ms);
        if (!beats || beats->empty()) return false;
        auto seen = harmony::base::parse_rfc3339(beats->front().time);
        return seen && *seen >= std::chrono::time_point_cast<std::chrono::seconds>(restarted);
      },
      5s));
  CHECK_THAT(agent.log(), Catch::Contains("disconnected from NATS") && Catch::Contains("reconnected to NATS"));
}

TEST_CASE("a request in flight when nats-server dies fails fast") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  stack.start_agent();
  auto exec = std::async(std::launch::async, [&] { return stack.agent({"exec", "edge-1", "--", "/bin/sleep", "5"}); });
  // Let the request reach the agent.
  REQUIRE(stack.wait_for_execs("edge-1", 1));
  stack.nats.kill();
  auto r = exec.get();
  CHECK(r.exit_code == exit_status::unreachable);  // fast: the lost connection, not a timeout
  CHECK_THAT(r.err, Catch::Contains("cannot ask agent edge-1"));
}

TEST_CASE("an agent started before nats-server connects once it is up") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  stack.nats.kill();
  auto& agent = stack.start_agent({}, false);
  const std::string retrying =
      "cannot connect to NATS at " + stack.nats.url() + " (No server available for connection); attempt 1, retrying";
  CHECK(eventually([&] { return agent.log().find(retrying) != std::string::npos; }, 20s));
  REQUIRE(agent.running());
  stack.nats.start();
  CHECK(stack.wait_for_ping("edge-1", 20s));
}

TEST_CASE("with a wrong password the agent keeps retrying until the server accepts it, and the plugin says the user was refused") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  AgentSetup setup;
  setup.password_file = stack.box.write("agents", "wrong.password", "not-the-password\n", fs::perms(0600));
  auto& agent = stack.start_agent(setup, false);
  CHECK(eventually([&] { return agent.log().find("Authorization Violation") != std::string::npos; }, 5s));
  CHECK(agent.running());
  CHECK(agent.log().find("not-the-password") == std::string::npos);

  auto r = stack.harmony({"agent", "ping", "edge-1", "--server", stack.nats.url(), "--user", "operator", "--password-file",
                          setup.password_file});
  CHECK(r.exit_code == exit_status::failure);
  CHECK_THAT(r.err, Catch::Contains("refused the user 'operator'"));
  CHECK(r.err.find("not-the-password") == std::string::npos);

  // The server learns the agent's password: the agent gets in without a restart.
  auto options = stack.nats.options();
  options.users[1].password = "not-the-password";
  stack.nats.reconfigure(options);
  stack.nats.kill();
  stack.nats.start();
  CHECK(stack.wait_for_ping("edge-1", 20s));
  CHECK(agent.running());
}

TEST_CASE("SIGTERM drains: an exec in flight is answered, then the agent exits 0") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  auto& agent = stack.start_agent();
  auto exec = std::async(std::launch::async, [&] {
    return stack.raw_request("device-commands.edge-1.exec", R"({"argv": ["/bin/sleep", "1"]})", 10s);
  });
  REQUIRE(stack.wait_for_execs("edge-1", 1));
  agent.signal(SIGTERM);
  auto reply = exec.get();
  REQUIRE(reply);
  CHECK(nlohmann::json::parse(*reply)["exit_code"] == 0);
  CHECK(agent.exit_status(10s) == 0);
  CHECK_THAT(agent.log(), Catch::Contains("SIGTERM: draining") && Catch::Contains("stopped"));
  CHECK(stack.agent({"ping", "edge-1"}).exit_code == exit_status::unreachable);  // it left NATS
}

namespace {

// The error kind and message of a reply, or nothing when there was no reply
// or it is not an error.
std::optional<std::pair<std::string, std::string>> error_of(const std::optional<std::string>& reply) {
  if (!reply) return std::nullopt;
  auto doc = nlohmann::json::parse(*reply, nullptr, false);
  if (!doc.is_object() || !doc.contains("error")) return std::nullopt;
  return std::pair{doc["error"].value("kind", ""), doc["error"].value("message", "")};
}

}  // namespace

TEST_CASE("SIGTERM drains: execs in flight answer (result or timed_out), requests meanwhile are busy, then exit 0") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  auto& agent = stack.start_agent();
  // One exec the test lets finish, one that runs into its deadline.
  const std::string gate = stack.box.path("gate");
  const std::string held = R"({"argv": ["/bin/sh", "-c", "while [ ! -e ')" + gate + R"(' ]; do sleep 0.05; done; echo released"]})";
  auto released = std::async(std::launch::async, [&] { return stack.raw_request("device-commands.edge-1.exec", held, 30s); });
  auto late = std::async(std::launch::async, [&] {
    return stack.raw_request("device-commands.edge-1.exec", R"({"argv": ["/bin/sleep", "30"], "timeout_ms": 1500})", 30s);
  });
  REQUIRE(stack.wait_for_execs("edge-1", 2));
  agent.signal(SIGTERM);

  // While it drains, it still answers: busy, because it is stopping.
  std::optional<std::pair<std::string, std::string>> during;
  CHECK(eventually(
      [&] {
        during = error_of(stack.raw_request("device-commands.edge-1.ping", "", 1s));
        return during && during->first == "busy";
      },
      5s));
  REQUIRE(during);
  CHECK_THAT(during->second, Catch::Contains("stopping"));
  auto exec_during = error_of(stack.raw_request("device-commands.edge-1.exec", R"({"argv": ["/bin/echo"]})"));
  REQUIRE(exec_during);
  CHECK(exec_during->first == "busy");
  CHECK(agent.running());

  auto timed_out = error_of(late.get());
  REQUIRE(timed_out);
  CHECK(timed_out->first == "timed_out");
  REQUIRE(harmony::base::write_file_atomically(gate, "", 0600));
  auto reply = released.get();
  REQUIRE(reply);
  auto doc = nlohmann::json::parse(*reply);
  CHECK(doc["exit_code"] == 0);
  CHECK(doc["stdout"] == "released\n");
  CHECK(agent.exit_status(10s) == 0);
}

TEST_CASE("status and exec answer promptly while JetStream does not answer the heartbeat's requests") {
  HARMONY_REQUIRE_NATS();
  NatsServer::Options options;
  options.jetstream = false;
  AgentStack stack(options);
  // Takes the agent's JetStream requests and never answers, as a server does
  // for a user without JetStream permissions: each request runs to its wait.
  natsConnection* nc = nats_connect(stack.nats.url(), "operator", "operator-secret-1");
  REQUIRE(nc != nullptr);
  natsSubscription* mute = nullptr;
  REQUIRE(natsConnection_SubscribeSync(&mute, nc, "$JS.API.>") == NATS_OK);
  REQUIRE(natsConnection_Flush(nc) == NATS_OK);
  AgentSetup setup;
  setup.heartbeat = "200ms";
  stack.start_agent(setup);
  REQUIRE(eventually(
      [&] {
        natsMsg* msg = nullptr;
        if (natsSubscription_NextMsg(&msg, mute, 100) != NATS_OK) return false;
        natsMsg_Destroy(msg);
        return true;
      },
      10s));

  // Over several heartbeats and JetStream attempts, nothing waits for them:
  // every answer comes well within the 2.5 s we allow (a stall is 2 s or more
  // per attempt, 5 s with libnats's default).
  const auto until = std::chrono::steady_clock::now() + 5s;
  int answered = 0;
  while (std::chrono::steady_clock::now() < until) {
    auto status = stack.raw_request("device-commands.edge-1.status", "", 2500ms);
    REQUIRE(status);
    CHECK(nlohmann::json::parse(*status)["heartbeat"]["mode"] == "subject");
    auto exec = stack.raw_request("device-commands.edge-1.exec", R"({"argv": ["/bin/echo", "hi"]})", 2500ms);
    REQUIRE(exec);
    CHECK(nlohmann::json::parse(*exec)["stdout"] == "hi\n");
    ++answered;
  }
  CHECK(answered > 2);
  natsSubscription_Destroy(mute);
  natsConnection_Destroy(nc);
}

TEST_CASE("SIGINT also stops the agent cleanly, SIGHUP does not") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  auto& agent = stack.start_agent();
  agent.signal(SIGHUP);
  CHECK(eventually([&] { return agent.log().find("SIGHUP") != std::string::npos; }, 5s));
  CHECK(stack.agent({"ping", "edge-1"}).exit_code == 0);
  agent.signal(SIGINT);
  CHECK(agent.exit_status(10s) == 0);
}

TEST_CASE("environment variables override the configuration file") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  AgentSetup setup;
  setup.env = {{"FLEET_AGENT_DEVICE_ID", "edge-env"}, {"FLEET_AGENT_LABELS", "site=elsewhere"}};
  auto& agent = stack.start_agent(setup, false);
  REQUIRE(stack.wait_for_ping("edge-env"));
  auto doc = json_of(stack.agent({"ping", "edge-env", "-o", "json"}));
  CHECK(doc["labels"]["site"] == "elsewhere");
  CHECK(agent.running());
}

TEST_CASE("a bad configuration stops the daemon at once, naming the key") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  auto run = [&](const std::string& yaml) {
    auto path = stack.box.write("conf", "agent.yaml", yaml, fs::perms(0600));
    return stack.box.run({fleet_agent_binary(), "--config", path});
  };
  auto bad_id = run("device_id: Edge_1\n");
  CHECK(bad_id.exit_code == exit_status::invalid_settings);
  CHECK_THAT(bad_id.err, Catch::Contains("device_id") && Catch::Contains("RFC 1123"));

  auto typo = run("device_id: edge-1\nexec:\n  alow: [/bin/true]\n");
  CHECK(typo.exit_code == exit_status::invalid_settings);
  CHECK_THAT(typo.err, Catch::Contains("exec.alow") && Catch::Contains("did you mean 'exec.allow'"));

  auto open_password = stack.box.write("conf", "password", "agent-secret-1\n", fs::perms(0604));
  auto readable = run("device_id: edge-1\nnats:\n  user: agent\n  password_file: " + open_password + "\n");
  CHECK(readable.exit_code == exit_status::invalid_settings);
  CHECK_THAT(readable.err, Catch::Contains("nats.password_file") && Catch::Contains("any user can read it"));
  CHECK(readable.err.find("agent-secret-1") == std::string::npos);

  auto missing = stack.box.run({fleet_agent_binary(), "--config", stack.box.path("conf/none.yaml")});
  CHECK(missing.exit_code == exit_status::invalid_settings);

  auto usage = stack.box.run({fleet_agent_binary(), "--frobnicate"});
  CHECK(usage.exit_code == exit_status::usage);
  CHECK_THAT(usage.err, Catch::Contains("--frobnicate"));

  auto version = stack.box.run({fleet_agent_binary(), "--version"});
  CHECK(version.exit_code == 0);
  CHECK_THAT(version.out, Catch::StartsWith("fleet-agent ") && Catch::Contains("agent protocol 1"));
}

TEST_CASE("the daemon links only the base, the wire contracts, libnats and the JSON, YAML and log libraries") {
  const auto needed = needed_libraries(fleet_agent_binary());
  CHECK_FALSE(needed.empty());
  const std::vector<std::string> allowed{"libnats.so", "libyaml-cpp.so", "libspdlog.so", "libfmt.so", "libstdc++.so",
                                         "libm.so",    "libgcc_s.so",    "libc.so",      "ld-linux"};
  for (const auto& lib : needed) {
    INFO("fleet-agent needs " << lib);
    CHECK(std::any_of(allowed.begin(), allowed.end(), [&](const std::string& a) { return lib.starts_with(a); }));
  }

  Sandbox box;
  box.path_dirs = {"/usr/bin", "/bin"};
  auto symbols = box.run({"nm", "--defined-only", "--demangle", fleet_agent_binary()});
  REQUIRE(symbols.ok());
  CHECK(symbols.out.find("harmony::agent::daemon::Agent::serve(") != std::string::npos);  // nm can see symbols at all
  CHECK(symbols.out.find("CLI::") == std::string::npos);
  CHECK(symbols.out.find("curl_") == std::string::npos);
  for (const auto& line : lines(symbols.out)) {
    auto at = line.find("harmony::");
    if (at == std::string::npos) continue;
    INFO(line);
    // The fleet's contract (desired state) is as lean as the agent's own;
    // nothing else of harmony-fleet, and never the CRDs' schema generation.
    CHECK((line.compare(at, 16, "harmony::agent::") == 0 || line.compare(at, 15, "harmony::base::") == 0 ||
           line.compare(at, 16, "harmony::version") == 0 || line.compare(at, 26, "harmony::fleet::contract::") == 0));
    CHECK(line.find("fleet_deployment_crd") == std::string::npos);
  }
}

TEST_CASE("an agent follows its desired state through NATS restarts: runs, reports, replaces and stops its workloads") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  REQUIRE(stack.client().ensure_bucket("desired-state", "test"));
  REQUIRE(stack.client().ensure_bucket("device-state", "test"));
  AgentSetup setup;
  setup.env = {{"FLEET_AGENT_WORKLOADS_DIR", stack.box.path("workloads")}};
  auto& agent = stack.start_agent(setup);

  natsConnection* nc = nats_connect(stack.nats.url(), "operator", "operator-secret-1");
  REQUIRE(nc != nullptr);
  jsCtx* js = nullptr;
  REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
  kvStore* desired = nullptr;
  kvStore* reported = nullptr;
  REQUIRE(js_KeyValue(&desired, js, "desired-state") == NATS_OK);
  REQUIRE(js_KeyValue(&reported, js, "device-state") == NATS_OK);
  auto put = [&](const std::string& args, const std::string& revision) {
    const std::string value = R"({"namespace":"shop","name":"web","revision":")" + revision +
                              R"(","workload":{"process":{"command":"/bin/sleep","args":[")" + args +
                              R"("]}},"min_ready_seconds":0})";
    std::uint64_t rev = 0;
    REQUIRE(kvStore_PutString(&rev, desired, "edge-1.shop.web", value.c_str()) == NATS_OK);
  };
  auto report = [&]() -> std::string {
    kvEntry* e = nullptr;
    if (kvStore_Get(&e, reported, "edge-1.shop.web") != NATS_OK) return {};
    std::string v(static_cast<const char*>(kvEntry_Value(e)), static_cast<std::size_t>(kvEntry_ValueLen(e)));
    kvEntry_Destroy(e);
    return v;
  };
  put("300", "r1");
  REQUIRE(harmony::testing::eventually([&] { return report().find(R"("revision":"r1")") != std::string::npos &&
                                                    report().find(R"("phase":"Running")") != std::string::npos; }));
  put("301", "r2");
  REQUIRE(harmony::testing::eventually([&] { return report().find(R"("revision":"r2")") != std::string::npos; }));
  CHECK_THAT(agent.log(), Catch::Contains("revision r2 replaces r1"));

  // NATS goes and comes back (its store kept): the agent watches again and
  // the workload goes on, neither stopped nor doubled.
  stack.nats.kill();
  stack.nats.start();
  REQUIRE(harmony::testing::eventually([&] { return agent.log().find("reconnected") != std::string::npos ||
                                                    agent.log().find("connected to NATS") != std::string::npos; }, 15s));
  kvStore_Destroy(desired);
  kvStore_Destroy(reported);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  nc = nats_connect(stack.nats.url(), "operator", "operator-secret-1");
  REQUIRE(nc != nullptr);
  REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
  REQUIRE(js_KeyValue(&desired, js, "desired-state") == NATS_OK);
  REQUIRE(js_KeyValue(&reported, js, "device-state") == NATS_OK);
  REQUIRE(kvStore_Delete(desired, "edge-1.shop.web") == NATS_OK);
  REQUIRE(harmony::testing::eventually([&] { return report().empty(); }, 15s));
  CHECK_THAT(agent.log(), Catch::Contains("no longer desired: stopped"));
  // Started twice (r1, then r2), never again because of the outage.
  const std::string log = agent.log();
  std::size_t starts = 0;
  for (auto at = log.find("workload shop/web started"); at != std::string::npos; at = log.find("workload shop/web started", at + 1))
    ++starts;
  CHECK(starts == 2);
  kvStore_Destroy(desired);
  kvStore_Destroy(reported);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
}
