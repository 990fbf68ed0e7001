// Desired state reaching the agents of a real local fleet: what the fleet
// operator writes into the desired-state bucket (here the test writes it,
// as the operator runtime's NATS user), the agent runs, supervises, reports
// into device-state, adopts after its own restart, and stops. And the
// bucket's permissions: an agent sees only its own keys.

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>

#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include <harmony/base/files.hpp>
#include <harmony/base/process.hpp>
#include <harmony/fleet/contract.hpp>

#include "eventually.hpp"
#include "fleet_stack.hpp"
#include "nats.hpp"

using namespace harmony::e2e;
using namespace std::chrono_literals;
namespace contract = harmony::fleet::contract;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A KV bucket through the real libnats, as some user.
class Bucket {
 public:
  Bucket(const FleetStack& stack, const std::string& user, const std::string& password_file, std::string_view bucket) {
    natsOptions* options = nullptr;
    natsOptions_Create(&options);
    const std::string url = "nats://127.0.0.1:" + std::to_string(stack.client_port);
    natsOptions_SetURL(options, url.c_str());
    natsOptions_SetUserInfo(options, user.c_str(), stack.secret(password_file).c_str());
    natsOptions_SetCustomInboxPrefix(options, "_INBOX_fleet-operator");
    natsOptions_SetAllowReconnect(options, false);
    REQUIRE(natsConnection_Connect(&nc_, options) == NATS_OK);
    natsOptions_Destroy(options);
    REQUIRE(natsConnection_JetStream(&js_, nc_, nullptr) == NATS_OK);
    REQUIRE(js_KeyValue(&kv_, js_, std::string(bucket).c_str()) == NATS_OK);
  }
  ~Bucket() {
    if (kv_) kvStore_Destroy(kv_);
    if (js_) jsCtx_Destroy(js_);
    if (nc_) natsConnection_Destroy(nc_);
  }
  Bucket(const Bucket&) = delete;
  Bucket& operator=(const Bucket&) = delete;

  void put(const std::string& key, const std::string& value) {
    std::uint64_t revision = 0;
    REQUIRE(kvStore_PutString(&revision, kv_, key.c_str(), value.c_str()) == NATS_OK);
  }
  void remove(const std::string& key) { REQUIRE(kvStore_Delete(kv_, key.c_str()) == NATS_OK); }
  // The value, or nullopt when the key is absent or deleted.
  std::optional<std::string> get(const std::string& key) {
    kvEntry* entry = nullptr;
    if (kvStore_Get(&entry, kv_, key.c_str()) != NATS_OK) return std::nullopt;
    std::string value(static_cast<const char*>(kvEntry_Value(entry)), static_cast<std::size_t>(kvEntry_ValueLen(entry)));
    kvEntry_Destroy(entry);
    return value;
  }

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  kvStore* kv_ = nullptr;
};

Bucket desired_bucket(const FleetStack& stack) {
  return Bucket(stack, "fleet-operator", "fleet-operator.password", contract::desired_bucket);
}
Bucket reported_bucket(const FleetStack& stack) {
  return Bucket(stack, "fleet-operator", "fleet-operator.password", contract::reported_bucket);
}

contract::DesiredState sleeper(const std::string& name, const std::vector<std::string>& args,
                               contract::RestartPolicy policy = contract::RestartPolicy::always,
                               const std::string& program = "/bin/sleep") {
  contract::DesiredState d;
  d.namespace_ = "shop";
  d.name = name;
  d.generation = 1;
  d.workload.process = contract::ProcessSpec{program, args, {{"FLEET_TEST", "1"}}};
  d.workload.restart_policy = policy;
  d.revision = contract::revision_of(d.workload);
  return d;
}

std::optional<contract::ReportedState> reported(Bucket& bucket, const std::string& key) {
  auto text = bucket.get(key);
  if (!text) return std::nullopt;
  auto state = contract::decode_reported_state(*text);
  REQUIRE(state);
  return *state;
}

// The pid of the workload's program, from the record its agent keeps.
int workload_pid(const FleetStack& stack, const std::string& device, const std::string& key) {
  auto text = harmony::base::read_file(stack.state("components/agent/work/" + device + "/" + key + ".json"));
  if (!text) return 0;
  auto record = json::parse(*text, nullptr, false);
  return record.is_object() ? record.value("pid", 0) : 0;
}

natsConnection* connect_as(const FleetStack& stack, const std::string& user, const std::string& inbox) {
  return nats_connect("nats://127.0.0.1:" + std::to_string(stack.client_port), user, stack.secret(user + ".password"), inbox);
}

// The reply to a request, or "" when none came (a permissions violation
// drops the request; the requester only times out).
std::string answer(natsConnection* nc, const std::string& subject, const std::string& body) {
  natsMsg* reply = nullptr;
  const natsStatus s = natsConnection_RequestString(&reply, nc, subject.c_str(), body.c_str(), 500);
  std::string text = s == NATS_OK ? std::string(natsMsg_GetData(reply), static_cast<std::size_t>(natsMsg_GetDataLength(reply))) : "";
  if (reply) natsMsg_Destroy(reply);
  return text;
}

}  // namespace

TEST_CASE("an agent runs what its desired state names, reports it, replaces it on a new revision, and stops it when removed") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  auto desired = desired_bucket(stack);
  auto reports = reported_bucket(stack);
  const std::string key = "edge-1.shop.web";

  auto first = sleeper("web", {"300"});
  desired.put(key, contract::encode(first));
  REQUIRE(harmony::testing::eventually([&] {
    auto r = reported(reports, key);
    return r && r->phase == contract::WorkloadPhase::running && r->revision == first.revision;
  }));
  const int pid = workload_pid(stack, "edge-1", "shop.web");
  CHECK(alive(pid));
  // Only edge-1 was asked.
  CHECK_FALSE(reports.get("edge-2.shop.web"));
  // harmony agent status says what the agent runs.
  auto said = stack.harmony({"agent", "status", "edge-1"});
  CHECK_THAT(said.out, Catch::Contains("workloads:") && Catch::Contains("shop/web Running (revision " + first.revision));

  auto second = sleeper("web", {"301"});
  desired.put(key, contract::encode(second));
  REQUIRE(harmony::testing::eventually([&] {
    auto r = reported(reports, key);
    return r && r->phase == contract::WorkloadPhase::running && r->revision == second.revision;
  }));
  CHECK_FALSE(alive(pid));
  const int replaced = workload_pid(stack, "edge-1", "shop.web");
  CHECK(alive(replaced));
  CHECK(replaced != pid);

  desired.remove(key);
  REQUIRE(harmony::testing::eventually([&] { return !reports.get(key).has_value(); }));
  CHECK(harmony::testing::eventually([&] { return !alive(replaced); }));
}

TEST_CASE("restart policies: Never reports a failure with the program's last words, OnFailure a completion") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  auto desired = desired_bucket(stack);
  auto reports = reported_bucket(stack);

  desired.put("edge-2.shop.fails", contract::encode(sleeper("fails", {"-c", "echo disk full >&2; exit 3"},
                                                            contract::RestartPolicy::never, "/bin/sh")));
  desired.put("edge-2.shop.done", contract::encode(sleeper("done", {"0"}, contract::RestartPolicy::on_failure)));
  REQUIRE(harmony::testing::eventually([&] {
    auto failed = reported(reports, "edge-2.shop.fails");
    auto done = reported(reports, "edge-2.shop.done");
    return failed && failed->phase == contract::WorkloadPhase::failed && done &&
           done->phase == contract::WorkloadPhase::completed;
  }));
  auto failed = reported(reports, "edge-2.shop.fails");
  CHECK_THAT(failed->message, Catch::Contains("exited with status 3") && Catch::Contains("disk full"));
  CHECK(failed->restarts == 0);

  // Always restarts what ends, and counts it.
  desired.put("edge-2.shop.flaky", contract::encode(sleeper("flaky", {"0.2"})));
  REQUIRE(harmony::testing::eventually([&] {
    auto r = reported(reports, "edge-2.shop.flaky");
    return r && r->restarts >= 2;
  }, 15s));

  for (const char* k : {"edge-2.shop.fails", "edge-2.shop.done", "edge-2.shop.flaky"}) desired.remove(k);
  REQUIRE(harmony::testing::eventually([&] {
    return !reports.get("edge-2.shop.fails") && !reports.get("edge-2.shop.done") && !reports.get("edge-2.shop.flaky");
  }));
}

TEST_CASE("an agent that restarts adopts the workloads it started instead of starting them twice") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  auto desired = desired_bucket(stack);
  auto reports = reported_bucket(stack);
  const std::string key = "edge-1.shop.kept";
  desired.put(key, contract::encode(sleeper("kept", {"300"})));
  REQUIRE(harmony::testing::eventually([&] {
    auto r = reported(reports, key);
    return r && r->phase == contract::WorkloadPhase::running;
  }));
  const int pid = workload_pid(stack, "edge-1", "shop.kept");
  REQUIRE(alive(pid));

  const int agent = stack.pid_of("agent", "edge-1");
  REQUIRE(::kill(agent, SIGKILL) == 0);
  REQUIRE(harmony::testing::eventually([&] { return !alive(agent); }));
  auto redeployed = stack.deploy();
  INFO(redeployed.out << redeployed.err);
  REQUIRE(redeployed.exit_code == 0);
  REQUIRE(stack.pid_of("agent", "edge-1") != agent);

  // The new agent has read its desired state and still runs the same process.
  REQUIRE(harmony::testing::eventually([&] {
    auto log = harmony::base::read_file(stack.state("components/agent/logs/edge-1.log"));
    return log && log->find("adopted workload shop/kept (pid " + std::to_string(pid) + ")") != std::string::npos;
  }));
  CHECK(alive(pid));
  CHECK(workload_pid(stack, "edge-1", "shop.kept") == pid);
  auto r = reported(reports, key);
  REQUIRE(r);
  CHECK(r->restarts == 0);

  desired.remove(key);
  if (!harmony::testing::eventually([&] { return !alive(pid); })) {
    auto log = harmony::base::read_file(stack.state("components/agent/logs/edge-1.log"));
    FAIL("still running; the agent's log:\n" << log.value_or("(none)"));
  }
}

TEST_CASE("an agent cannot read or watch another agent's desired state, nor write its reports") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  {
    auto desired = desired_bucket(stack);
    desired.put("edge-1.shop.secret", contract::encode(sleeper("secret", {"300"})));
  }
  natsConnection* spy = connect_as(stack, "agent-edge-2", "_INBOX.edge-2");
  REQUIRE(spy != nullptr);
  auto consumer = [](const std::string& name, const std::string& device) {
    return json{{"stream_name", "KV_desired-state"},
                {"config", {{"name", name}, {"deliver_subject", "_INBOX.edge-2." + name},
                            {"filter_subject", "$KV.desired-state." + device + ".>"}, {"ack_policy", "none"},
                            {"deliver_policy", "last_per_subject"}, {"inactive_threshold", 1'000'000'000}}}}
        .dump();
  };
  const std::string own = "$JS.API.CONSUMER.CREATE.KV_desired-state.mine.$KV.desired-state.edge-2.>";
  // What the agent itself does works (so that what follows is refused, not broken)...
  const auto mine = json::parse(answer(spy, own, consumer("mine", "edge-2")), nullptr, false);
  REQUIRE(mine.is_object());
  CHECK_FALSE(mine.contains("error"));
  CHECK(mine.value("name", "") == "mine");
  // ...its own filter in the subject and another's in the body is refused by JetStream...
  CHECK_THAT(answer(spy, "$JS.API.CONSUMER.CREATE.KV_desired-state.spy.$KV.desired-state.edge-2.>", consumer("spy", "edge-1")),
             Catch::Contains("did not match"));
  // ...and everything else is not even delivered (a permissions violation).
  const std::string filter = "$KV.desired-state.edge-1.>";
  for (const std::string& subject :
       {"$JS.API.CONSUMER.CREATE.KV_desired-state.spy." + filter, std::string("$JS.API.CONSUMER.CREATE.KV_desired-state"),
        std::string("$JS.API.DIRECT.GET.KV_desired-state.$KV.desired-state.edge-1.shop.secret"),
        std::string("$JS.API.STREAM.MSG.GET.KV_desired-state")}) {
    INFO(subject);
    CHECK(answer(spy, subject, consumer("spy", "edge-1")).empty());
  }
  natsSubscription* sub = nullptr;
  REQUIRE(natsConnection_SubscribeSync(&sub, spy, filter.c_str()) == NATS_OK);
  natsConnection_Flush(spy);
  {
    auto desired = desired_bucket(stack);
    desired.put("edge-1.shop.secret", contract::encode(sleeper("secret", {"299"})));
    desired.remove("edge-1.shop.secret");
  }
  natsMsg* leaked = nullptr;
  CHECK(natsSubscription_NextMsg(&leaked, sub, 500) != NATS_OK);
  natsSubscription_Destroy(sub);
  // Nor may it write edge-1's reports.
  CHECK(natsConnection_PublishString(spy, "$KV.device-state.edge-1.shop.secret", "{}") == NATS_OK);
  natsConnection_Flush(spy);
  const char* last = nullptr;
  natsConnection_GetLastError(spy, &last);
  CHECK_THAT(std::string(last ? last : ""), Catch::Contains("Permissions Violation"));
  natsConnection_Destroy(spy);

  // The operator runtime's user reaches the buckets, and no agent.
  natsConnection* controller = connect_as(stack, "fleet-operator", "_INBOX_fleet-operator");
  REQUIRE(controller != nullptr);
  CHECK_THAT(answer(controller, "$JS.API.STREAM.INFO.KV_desired-state", ""), Catch::Contains("KV_desired-state"));
  CHECK(answer(controller, "device-commands.edge-1.ping", "").empty());
  CHECK(answer(controller, "$JS.API.STREAM.DELETE.KV_agent-status", "").empty());
  CHECK(answer(controller, "$JS.API.STREAM.CREATE.stolen", R"({"name":"stolen","subjects":["device-commands.>"]})").empty());
  natsConnection_Destroy(controller);
}

TEST_CASE("fleet-operator is a lean runtime: the Kubernetes client, the contract and libnats, never the SDK or CLI11") {
  const auto needed = needed_libraries(fleet_operator_binary());
  CHECK_FALSE(needed.empty());
  // libcurl is opened when the API server is first asked (ADR 0007), so it is not here.
  const std::vector<std::string> allowed{"libnats.so", "libyaml-cpp.so", "libstdc++.so", "libm.so", "libgcc_s.so",
                                         "libc.so",    "ld-linux",       "libssl.so",    "libcrypto.so"};
  for (const auto& lib : needed) {
    INFO("fleet-operator needs " << lib);
    CHECK(std::any_of(allowed.begin(), allowed.end(), [&](const std::string& a) { return lib.starts_with(a); }));
  }
  Sandbox box;
  box.path_dirs = {"/usr/bin", "/bin"};
  auto symbols = box.run({"nm", "--defined-only", "--demangle", fleet_operator_binary()});
  REQUIRE(symbols.ok());
  CHECK(symbols.out.find("harmony::fleet::op::reconcile(") != std::string::npos);  // nm sees symbols at all
  CHECK(symbols.out.find("CLI::") == std::string::npos);
  for (const auto& line : lines(symbols.out)) {
    auto at = line.find("harmony::");
    if (at == std::string::npos) continue;
    INFO(line);
    // base, the Kubernetes client, the fleet's contract and the agent's
    // heartbeat codec; nothing of the SDK (harmony::Plugin, scores, topologies).
    CHECK((line.compare(at, 15, "harmony::base::") == 0 || line.compare(at, 15, "harmony::kube::") == 0 ||
           line.compare(at, 26, "harmony::fleet::contract::") == 0 || line.compare(at, 20, "harmony::fleet::op::") == 0 ||
           line.compare(at, 16, "harmony::agent::") == 0 || line.compare(at, 16, "harmony::version") == 0));
  }
}
