// Every error kind of docs/agent-protocol.md, sent as raw NATS requests the
// way any other client could, and how the plugin reports them. Nothing a peer
// sends may crash the agent.

#include <catch2/catch.hpp>

#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include "agent_stack.hpp"
#include "eventually.hpp"

using namespace harmony::e2e;
using nlohmann::json;
using harmony::base::exit_status::remote_error;

namespace {

// The error kind of a reply, or "" when the reply is not an error.
std::string kind_of(const std::optional<std::string>& reply) {
  REQUIRE(reply);
  auto doc = json::parse(*reply, nullptr, false);
  REQUIRE(doc.is_object());
  if (!doc.contains("error")) return "";
  CHECK(doc["error"]["message"].is_string());
  CHECK_FALSE(doc["error"]["message"].get<std::string>().empty());
  return doc["error"]["kind"].get<std::string>();
}

}  // namespace

TEST_CASE("malformed requests, unknown verbs and oversized payloads get typed errors") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  stack.start_agent();
  const std::string exec = "device-commands.edge-1.exec";

  CHECK(kind_of(stack.raw_request(exec, "{not json")) == "malformed_request");
  CHECK(kind_of(stack.raw_request(exec, "[\"/bin/echo\"]")) == "malformed_request");
  CHECK(kind_of(stack.raw_request(exec, R"({"argv": "/bin/echo hi"})")) == "malformed_request");
  CHECK(kind_of(stack.raw_request(exec, R"({"argv": []})")) == "malformed_request");
  CHECK(kind_of(stack.raw_request(exec, R"({"argv": ["/bin/echo"], "timeout_ms": -5})")) == "malformed_request");
  CHECK(kind_of(stack.raw_request("device-commands.edge-1.ping", "\xff\xfe")) == "malformed_request");
  // Which copy of a repeated key wins differs between JSON readers: refused.
  CHECK(kind_of(stack.raw_request(exec, R"({"argv": ["/bin/echo", "one"], "argv": ["/bin/echo", "two"]})")) ==
        "malformed_request");

  CHECK(kind_of(stack.raw_request("device-commands.edge-1.reboot", "")) == "unknown_verb");
  CHECK(kind_of(stack.raw_request("device-commands.edge-1.ping.extra", "")) == "unknown_verb");

  CHECK(kind_of(stack.raw_request("device-commands.edge-1.ping", std::string(70 * 1024, ' '))) == "payload_too_large");

  // An empty body is a ping; so is whitespace and an empty object.
  CHECK(kind_of(stack.raw_request("device-commands.edge-1.ping", "")).empty());
  CHECK(kind_of(stack.raw_request("device-commands.edge-1.ping", "{}")).empty());
}

TEST_CASE("exec refuses programs off the allowlist, with no PATH lookup") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  stack.start_agent();
  const std::string exec = "device-commands.edge-1.exec";
  CHECK(kind_of(stack.raw_request(exec, R"({"argv": ["/bin/rm", "-rf", "/tmp/x"]})")) == "not_allowed");
  CHECK(kind_of(stack.raw_request(exec, R"({"argv": ["echo", "hi"]})")) == "not_allowed");
  CHECK(kind_of(stack.raw_request(exec, R"({"argv": ["/bin/../bin/echo", "hi"]})")) == "not_allowed");

  auto r = stack.agent({"exec", "edge-1", "--", "/bin/rm", "-rf", "/"});
  CHECK(r.exit_code == remote_error);
  CHECK_THAT(r.err, Catch::Contains("agent edge-1 refused the request") && Catch::Contains("not_allowed") &&
                        Catch::Contains("/bin/rm"));
}

TEST_CASE("exec past its deadline is killed and reported as timed_out") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  stack.start_agent();
  const auto sent = std::chrono::steady_clock::now();
  auto reply = stack.raw_request("device-commands.edge-1.exec", R"({"argv": ["/bin/sleep", "30"], "timeout_ms": 300})");
  CHECK(kind_of(reply) == "timed_out");
  CHECK(std::chrono::steady_clock::now() - sent < std::chrono::seconds(5));

  // The agent's own limit caps what a request may ask for.
  AgentSetup tight;
  tight.id = "edge-2";
  tight.exec_timeout = "400ms";
  stack.start_agent(tight);
  CHECK(kind_of(stack.raw_request("device-commands.edge-2.exec", R"({"argv": ["/bin/sleep", "30"], "timeout_ms": 60000})")) ==
        "timed_out");
  auto r = stack.agent({"exec", "edge-2", "--", "/bin/sleep", "30"});
  CHECK(r.exit_code == remote_error);
  CHECK_THAT(r.err, Catch::Contains("timed_out"));
}

TEST_CASE("exec of an allowlisted program that cannot start is exec_failed") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  stack.start_agent();
  CHECK(kind_of(stack.raw_request("device-commands.edge-1.exec", R"({"argv": ["/nonexistent/program"]})")) == "exec_failed");
}

TEST_CASE("exec beyond the agent's concurrency limit is busy") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  AgentSetup setup;
  setup.max_concurrent = 1;
  stack.start_agent(setup);
  auto slow = std::async(std::launch::async, [&] {
    return stack.raw_request("device-commands.edge-1.exec", R"({"argv": ["/bin/sleep", "1"]})", std::chrono::seconds(10));
  });
  REQUIRE(stack.wait_for_execs("edge-1", 1));  // the first one runs
  CHECK(kind_of(stack.raw_request("device-commands.edge-1.exec", R"({"argv": ["/bin/echo"]})")) == "busy");
  CHECK(kind_of(slow.get()).empty());  // the first one finished normally
  CHECK(kind_of(stack.raw_request("device-commands.edge-1.exec", R"({"argv": ["/bin/echo"]})")).empty());
}

TEST_CASE("hostile traffic does not crash the agent") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  auto& agent = stack.start_agent();
  std::mt19937 random(20261126);
  const std::vector<std::string> verbs{"ping", "status", "exec", "logs", "x", "exec.exec", ">"};
  for (int i = 0; i < 300; ++i) {
    std::string payload(std::uniform_int_distribution<std::size_t>(0, 300)(random), '\0');
    for (auto& c : payload) c = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(random));
    if (i % 3 == 0) payload = "{\"argv\": [\"" + payload.substr(0, 20) + "\"], \"lines\": " + std::to_string(i - 150) + "}";
    const std::string& verb = verbs[static_cast<std::size_t>(i) % verbs.size()];
    if (verb == ">") continue;  // not a subject one can publish to
    auto reply = stack.raw_request("device-commands.edge-1." + verb, payload);
    REQUIRE(reply);  // every request is answered
    REQUIRE(json::parse(*reply, nullptr, false).is_object());
  }
  // Requests without a reply subject (plain publishes) are dropped quietly.
  CHECK(stack.agent({"ping", "edge-1"}).exit_code == 0);
  CHECK(agent.running());
}

TEST_CASE("a request without a reply subject is ignored: a published exec never runs") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  stack.start_agent();
  const std::string marker = stack.box.path("published-exec-ran");
  natsConnection* nc = nats_connect(stack.nats.url(), "operator", "operator-secret-1");
  REQUIRE(nc != nullptr);
  const std::string body = R"({"argv": ["/bin/sh", "-c", "echo ran > ')" + marker + R"('"]})";
  REQUIRE(natsConnection_PublishString(nc, "device-commands.edge-1.exec", body.c_str()) == NATS_OK);
  // A request on the same connection reaches the agent after the publish;
  // once nothing runs any more, whatever the publish started has finished.
  natsMsg* reply = nullptr;
  REQUIRE(natsConnection_RequestString(&reply, nc, "device-commands.edge-1.status", "", 3000) == NATS_OK);
  natsMsg_Destroy(reply);
  REQUIRE(stack.wait_for_execs("edge-1", 0));
  CHECK_FALSE(std::filesystem::exists(marker));
  natsConnection_Destroy(nc);
}

TEST_CASE("an agent that is not there is offline, and one that does not answer times out") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  auto offline = stack.agent({"ping", "edge-9"});
  CHECK(offline.exit_code == harmony::base::exit_status::unreachable);
  CHECK_THAT(offline.err, Catch::Contains("agent edge-9 is offline") && Catch::Contains("harmony agent list"));

  // Something subscribed that never answers: the request times out.
  auto client = stack.client();
  natsConnection* nc = nats_connect(stack.nats.url(), "operator", "operator-secret-1");
  REQUIRE(nc != nullptr);
  natsSubscription* sub = nullptr;
  REQUIRE(natsConnection_SubscribeSync(&sub, nc, "device-commands.mute.>") == NATS_OK);
  REQUIRE(natsConnection_Flush(nc) == NATS_OK);
  auto mute = stack.agent({"ping", "mute", "--timeout", "700ms"});
  CHECK(mute.exit_code == harmony::base::exit_status::timed_out);
  CHECK_THAT(mute.err, Catch::Contains("agent mute did not answer within 700ms") && Catch::Contains("--timeout"));
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(nc);
}

TEST_CASE("a device id that is not an RFC 1123 label is a usage error") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  for (const char* id : {"Edge_1", "edge.1", "edge*", "edge>"}) {
    auto r = stack.agent({"ping", id});
    CHECK(r.exit_code == harmony::base::exit_status::usage);
    CHECK_THAT(r.err, Catch::Contains("device id"));
  }
}
