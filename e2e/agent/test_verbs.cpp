// Every verb, through `harmony agent ...` (the real dispatcher, plugin,
// nats-server and fleet-agent), as an operator would use them.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include <harmony/base/time.hpp>

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

TEST_CASE("exec answers when the command exits, even if a detached child keeps its output open, and says the output may be incomplete") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  stack.start_agent();
  // The grandchild sleeps 12 s holding stdout (then ends by itself); the answer
  // must not wait for it.
  const auto started = std::chrono::steady_clock::now();
  auto doc = json_of(stack.agent({"exec", "edge-1", "-o", "json", "--", "/bin/sh", "-c",
                                  "echo before; setsid sleep 12 & exit 4"}));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  CHECK(doc["exit_code"] == 4);
  CHECK(doc["stdout"] == "before\n");
  CHECK(doc["output_incomplete"] == true);
  auto whole = json_of(stack.agent({"exec", "edge-1", "-o", "json", "--", "/bin/echo", "all"}));
  CHECK(whole["output_incomplete"] == false);
  auto text = stack.agent({"exec", "edge-1", "--", "/bin/sh", "-c", "setsid sleep 12 & exit 0"});
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.err, Catch::Contains("still held its output"));
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

TEST_CASE("exec runs commands in / with a fixed PATH and LANG, never the agent's environment") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  AgentSetup setup;
  setup.allow.push_back("/usr/bin/env");
  setup.env.push_back({"FLEET_TEST_SECRET", "hunter2-in-the-agent-environment"});
  stack.start_agent(setup);

  auto env = stack.agent({"exec", "edge-1", "--", "/usr/bin/env"});
  INFO(env.out << env.err);
  CHECK(env.exit_code == 0);
  CHECK(env.out.find("hunter2") == std::string::npos);
  CHECK(env.out.find("FLEET_TEST_SECRET") == std::string::npos);
  auto vars = lines(env.out);
  std::sort(vars.begin(), vars.end());
  CHECK(vars == std::vector<std::string>{"LANG=C.UTF-8", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"});

  auto pwd = stack.agent({"exec", "edge-1", "--", "/bin/sh", "-c", "pwd -P"});
  CHECK(pwd.exit_code == 0);
  CHECK(pwd.out == "/\n");
}

TEST_CASE("exec.allow_args lets a program run only with the argument vectors it lists, exec.env adds variables") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  AgentSetup setup;
  setup.allow = {"/bin/sh"};
  setup.allow_args = {{"/bin/echo", {{"hello", "fleet"}, {"count", "*"}, {"--unit=*.service"}}}};
  setup.exec_env = {{"TZ", "UTC"}, {"LANG", "fr_FR.UTF-8"}};
  stack.start_agent(setup);
  // exec.env adds variables, and may replace LANG.
  CHECK(stack.agent({"exec", "edge-1", "--", "/bin/sh", "-c", "echo $TZ $LANG"}).out == "UTC fr_FR.UTF-8\n");

  auto exact = stack.agent({"exec", "edge-1", "--", "/bin/echo", "hello", "fleet"});
  CHECK(exact.exit_code == 0);
  CHECK(exact.out == "hello fleet\n");
  CHECK(stack.agent({"exec", "edge-1", "--", "/bin/echo", "count", "3"}).out == "count 3\n");
  CHECK(stack.agent({"exec", "edge-1", "--", "/bin/echo", "--unit=nginx.service"}).exit_code == 0);

  for (const std::vector<std::string>& refused :
       {std::vector<std::string>{"/bin/echo"}, {"/bin/echo", "hello"}, {"/bin/echo", "hello", "fleet", "again"},
        {"/bin/echo", "count", "3", "4"}, {"/bin/echo", "--unit=nginx.socket"}}) {
    std::vector<std::string> args{"exec", "edge-1", "--"};
    args.insert(args.end(), refused.begin(), refused.end());
    auto r = stack.agent(args);
    INFO(r.err);
    CHECK(r.exit_code == harmony::base::exit_status::remote_error);
    CHECK_THAT(r.err, Catch::Contains("not_allowed") && Catch::Contains("not with these arguments"));
  }
  // A bare path still allows any arguments.
  CHECK(stack.agent({"exec", "edge-1", "--", "/bin/sh", "-c", "exit 4"}).exit_code == 4);

  auto doc = json_of(stack.agent({"status", "edge-1", "-o", "json"}));
  CHECK(doc["exec"]["allowed"] == nlohmann::json{"/bin/sh", "/bin/echo"});
  CHECK(doc["exec"]["allowed_args"]["/bin/echo"] ==
        nlohmann::json{{"hello", "fleet"}, {"count", "*"}, nlohmann::json::array({"--unit=*.service"})});
  auto text = stack.agent({"status", "edge-1"});
  CHECK_THAT(text.out, Catch::Contains("/bin/sh, /bin/echo (hello fleet | count * | --unit=*.service)"));
}

namespace {

// What a hostile device sends: a terminal title, a bell, a screen clear.
const std::string escapes = "\x1b]0;pwned\x07\x1b[2J";

nlohmann::json hostile_reply(std::string_view verb) {
  using nlohmann::json;
  if (verb == "ping")
    return {{"id", "mallory" + escapes}, {"version", escapes}, {"protocol", 1}, {"uptime_ms", 5},
            {"labels", {{escapes, escapes}}}, {"time", escapes}};
  if (verb == "status")
    return {{"id", escapes}, {"version", escapes}, {"protocol", 1}, {"started_at", escapes}, {"uptime_ms", 5},
            {"labels", {{"site", escapes}}}, {"nats", {{"server", escapes}, {"reconnects", 0}}},
            {"heartbeat", {{"mode", escapes}, {"last", escapes}, {"interval_ms", 1000}}},
            {"exec", {{"allowed", {escapes}}, {"allowed_args", {{escapes, {{escapes}}}}}, {"running", 0}}},
            {"time", escapes}};
  return {{"lines", {"a log line " + escapes}}, {"truncated", false}};
}

void no_terminal_control(const harmony::base::ProcessResult& r) {
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find('\x1b') == std::string::npos);
  CHECK(r.out.find('\x07') == std::string::npos);
  CHECK(r.err.find('\x1b') == std::string::npos);
  CHECK_THAT(r.out, Catch::Contains("?]0;pwned??[2J"));
}

}  // namespace

TEST_CASE("text output shows what an agent sends as data, never as terminal control, and JSON keeps it escaped") {
  HARMONY_REQUIRE_NATS();
  AgentStack stack;
  // A fake agent: a raw responder for device mallory, and its heartbeat in the bucket.
  natsConnection* nc = nats_connect(stack.nats.url(), "operator", "operator-secret-1");
  REQUIRE(nc != nullptr);
  natsSubscription* sub = nullptr;
  REQUIRE(natsConnection_Subscribe(
              &sub, nc, "device-commands.mallory.>",
              [](natsConnection* c, natsSubscription*, natsMsg* msg, void*) {
                std::string subject = natsMsg_GetSubject(msg);
                const std::string reply = hostile_reply(subject.substr(subject.rfind('.') + 1)).dump();
                if (natsMsg_GetReply(msg)) natsConnection_PublishString(c, natsMsg_GetReply(msg), reply.c_str());
                natsMsg_Destroy(msg);
              },
              nullptr) == NATS_OK);
  REQUIRE(natsConnection_Flush(nc) == NATS_OK);
  REQUIRE(stack.client().ensure_status_bucket());
  jsCtx* js = nullptr;
  kvStore* kv = nullptr;
  REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
  REQUIRE(js_KeyValue(&kv, js, "agent-status") == NATS_OK);
  const std::string beat = nlohmann::json{{"id", "mallory" + escapes}, {"version", escapes}, {"protocol", 1},
                                          {"labels", {{escapes, escapes}}}, {"status", escapes},
                                          {"time", harmony::base::rfc3339_now()}, {"interval_ms", 60000}}
                               .dump();
  uint64_t revision = 0;
  REQUIRE(kvStore_PutString(&revision, kv, "mallory", beat.c_str()) == NATS_OK);

  no_terminal_control(stack.agent({"list"}));
  no_terminal_control(stack.agent({"ping", "mallory"}));
  no_terminal_control(stack.agent({"status", "mallory"}));
  no_terminal_control(stack.agent({"logs", "mallory"}));

  for (const char* verb : {"list", "ping", "status", "logs"}) {
    INFO(verb);
    auto r = stack.agent(verb == std::string("list") ? std::vector<std::string>{verb, "-o", "json"}
                                                      : std::vector<std::string>{verb, "mallory", "-o", "json"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find('\x1b') == std::string::npos);
    CHECK_THAT(r.out, Catch::Contains("\\u001b]0;pwned\\u0007\\u001b[2J"));
    auto doc = json_of(r);  // the text itself, unchanged
    if (verb == std::string("list")) CHECK(doc[0]["version"] == escapes);
    else if (verb == std::string("logs")) CHECK(doc["lines"][0] == "a log line " + escapes);
    else CHECK(doc["version"] == escapes);
  }

  kvStore_Destroy(kv);
  jsCtx_Destroy(js);
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(nc);
}
