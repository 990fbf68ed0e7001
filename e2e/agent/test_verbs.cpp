// Every verb, through `harmony agent ...` (the real dispatcher, plugin,
// nats-server and fleet-agent), as an operator would use them.

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <thread>

#include "agent_stack.hpp"
#include "eventually.hpp"

using namespace harmony::e2e;
using harmony::base::exit_status::signal_base;

TEST_CASE("ping answers with the agent's id, version, uptime and labels") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  stack.start_agent();

  auto text = stack.agent({"ping", "edge-1"});
  INFO(text.err);
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::StartsWith("agent edge-1 answered in ") && Catch::Contains("role=test,site=lab"));

  auto r = stack.agent({"ping", "edge-1", "-o", "json"});
  auto doc = json_of(r);
  CHECK(doc["id"] == "edge-1");
  CHECK(doc["labels"] == nlohmann::json{{"site", "lab"}, {"role", "test"}});
  CHECK(doc["protocol"] == 1);
  CHECK(doc["uptime_ms"].get<long>() >= 0);
  CHECK(doc["rtt_ms"].get<double>() > 0);
  CHECK(doc["time"].get<std::string>().ends_with("Z"));
}

TEST_CASE("status reports the connection, heartbeats and exec allowlist") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  stack.start_agent();

  auto doc = json_of(stack.agent({"status", "edge-1", "-o", "json"}));
  CHECK(doc["id"] == "edge-1");
  CHECK(doc["nats"]["server"] == stack.nats.url());
  CHECK(doc["heartbeat"]["interval_ms"] == 300);
  CHECK(doc["heartbeat"]["mode"] == "subject");  // no agent-status bucket yet
  CHECK_FALSE(doc["heartbeat"]["last"].get<std::string>().empty());
  CHECK(doc["exec"]["allowed"].size() == 4);
  CHECK(doc["exec"]["running"] == 0);

  auto text = stack.agent({"status", "edge-1"});
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("heartbeat:") && Catch::Contains("/bin/echo"));
}

TEST_CASE("exec passes the remote output and exit code through") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  stack.start_agent();

  auto hello = stack.agent({"exec", "edge-1", "--", "/bin/echo", "hello", "fleet"});
  CHECK(hello.exit_code == 0);
  CHECK(hello.out == "hello fleet\n");

  auto seven = stack.agent({"exec", "edge-1", "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 7"});
  CHECK(seven.exit_code == 7);
  CHECK(seven.out == "out\n");
  CHECK_THAT(seven.err, Catch::Contains("err"));

  auto json = json_of(stack.agent({"exec", "edge-1", "-o", "json", "--", "/bin/sh", "-c", "exit 3"}));
  CHECK(json["exit_code"] == 3);
  CHECK(json["signal"].is_null());
}

TEST_CASE("exec of a program killed by a signal exits 128+N and names the signal") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  stack.start_agent();
  auto r = stack.agent({"exec", "edge-1", "--", "/bin/sh", "-c", "kill -SEGV $$"});
  CHECK(r.exit_code == signal_base + 11);
  CHECK_THAT(r.err, Catch::Contains("SIGSEGV") && Catch::Contains("edge-1"));
  auto doc = json_of(stack.agent({"exec", "edge-1", "-o", "json", "--", "/bin/sh", "-c", "kill -TERM $$"}));
  CHECK(doc["exit_code"].is_null());
  CHECK(doc["signal"] == 15);
  CHECK(doc["signal_name"] == "SIGTERM");
}

TEST_CASE("exec output beyond the agent's limit is cut and flagged") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  AgentSetup setup;
  setup.output_limit = 1024;
  stack.start_agent(setup);
  auto doc = json_of(stack.agent(
      {"exec", "edge-1", "-o", "json", "--", "/bin/sh", "-c", "i=0; while [ $i -lt 500 ]; do echo 0123456789; i=$((i+1)); done"}));
  CHECK(doc["exit_code"] == 0);
  CHECK(doc["stdout"].get<std::string>().size() == 1024);
  CHECK(doc["stdout_truncated"] == true);
  CHECK(doc["stderr_truncated"] == false);
  auto text = stack.agent({"exec", "edge-1", "--", "/bin/sh", "-c", "i=0; while [ $i -lt 500 ]; do echo 0123456789; i=$((i+1)); done"});
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.err, Catch::Contains("cut the output"));
}

TEST_CASE("logs returns the agent's recent lines, clamped to what was asked") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  stack.start_agent();
  (void)stack.agent({"exec", "edge-1", "--", "/bin/echo", "marker"});

  auto all = stack.agent({"logs", "edge-1"});
  CHECK(all.exit_code == 0);
  CHECK_THAT(all.out, Catch::Contains("serving device-commands.edge-1.>") && Catch::Contains("exec /bin/echo"));

  auto doc = json_of(stack.agent({"logs", "edge-1", "--lines", "2", "-o", "json"}));
  CHECK(doc["lines"].size() == 2);
  CHECK(doc["truncated"] == true);
  CHECK(doc["lines"][1].get<std::string>().find("exec /bin/echo") != std::string::npos);  // the newest last

  CHECK(stack.agent({"logs", "edge-1", "--lines", "-3"}).exit_code == harmony::base::exit_status::usage);
}

TEST_CASE("list shows the agents seen by heartbeat on the plain subject") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  stack.start_agent();
  AgentSetup second;
  second.id = "edge-2";
  stack.start_agent(second);

  auto doc = json_of(stack.agent({"list", "-o", "json", "--wait", "1s"}));
  REQUIRE(doc.is_array());
  REQUIRE(doc.size() == 2);
  CHECK(doc[0]["id"] == "edge-1");
  CHECK(doc[1]["id"] == "edge-2");
  for (const auto& a : doc) {
    CHECK(a["last_seen"].get<std::string>().ends_with("Z"));
    CHECK(a["status"] == "ok");
    CHECK(a["age_s"].get<long>() <= 2);
  }
  auto text = stack.agent({"list", "--wait", "1s"});
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::StartsWith("ID") && Catch::Contains("edge-2") && Catch::Contains("site=lab"));
}

TEST_CASE("with the agent-status bucket, heartbeats go to KV and list reads them at once") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  // The fleet's deploy creates the bucket; here the operator does.
  REQUIRE(stack.client().ensure_status_bucket());
  REQUIRE(stack.client().ensure_status_bucket());  // again: it is there, nothing changes
  auto& agent = stack.start_agent();

  auto status = json_of(stack.agent({"status", "edge-1", "-o", "json"}));
  CHECK(status["heartbeat"]["mode"] == "kv");

  // Read, not listened for: a 1ms listen would hear no heartbeat (and in kv
  // mode none goes to the plain subject).
  auto list = stack.agent({"list", "-o", "json", "--wait", "1ms"});
  auto doc = json_of(list);
  REQUIRE(doc.size() == 1);
  CHECK(doc[0]["id"] == "edge-1");

  // The agent goes away; its last heartbeat stays, and ages into "stale"
  // after three missed intervals.
  agent.signal(SIGTERM);
  REQUIRE(agent.exit_status(std::chrono::seconds(10)) == 0);
  nlohmann::json later;
  CHECK(harmony::testing::eventually(
      [&] {
        later = json_of(stack.agent({"list", "-o", "json"}));
        return later.size() == 1 && later[0]["status"] == "stale" && later[0]["age_s"].get<long>() >= 2;
      },
      std::chrono::seconds(20)));
  INFO(later.dump());
  REQUIRE(later.size() == 1);
  CHECK(later[0]["status"] == "stale");
}

TEST_CASE("with no flags, the local fleet's connection file is used") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  stack.start_agent();
  REQUIRE(harmony::agent::write_connection_file(stack.box.path("state/harmony/fleet/local/connection.json"),
                                                {stack.nats.url()}, "operator", stack.nats.password_file("operator")));
  auto mode = std::filesystem::status(stack.box.path("state/harmony/fleet/local/connection.json")).permissions();
  CHECK((mode & std::filesystem::perms::others_all) == std::filesystem::perms::none);
  CHECK((mode & std::filesystem::perms::group_all) == std::filesystem::perms::none);

  auto r = stack.harmony({"agent", "ping", "edge-1"});
  INFO(r.err);
  CHECK(r.exit_code == 0);

  // Variables win over the file.
  stack.box.vars = {{"HARMONY_NATS_URL", "nats://127.0.0.1:1"}};
  auto wrong = stack.harmony({"agent", "ping", "edge-1", "--timeout", "1s"});
  CHECK(wrong.exit_code == harmony::base::exit_status::unreachable);
  CHECK_THAT(wrong.err, Catch::Contains("cannot reach NATS at nats://127.0.0.1:1"));
}

TEST_CASE("with no connection at all, the error says how to get one") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  auto r = stack.harmony({"agent", "ping", "edge-1"});
  CHECK(r.exit_code == harmony::base::exit_status::failure);
  CHECK_THAT(r.err, Catch::Contains("no NATS connection configured") &&
                        Catch::Contains("harmony deploy fleet --topology local"));
}

TEST_CASE("a password file others can read is refused, and never printed") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  std::filesystem::permissions(stack.nats.password_file("operator"), std::filesystem::perms(0644));
  auto r = stack.agent({"ping", "edge-1"});
  CHECK(r.exit_code == harmony::base::exit_status::failure);
  CHECK_THAT(r.err, Catch::Contains("any user can read it (mode 0644)") && Catch::Contains("chmod 600"));
  CHECK(r.err.find("operator-secret-1") == std::string::npos);
}
