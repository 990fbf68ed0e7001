// `harmony deploy fleet --topology local` and the life of the stack, through
// the real binaries. The cases share one stack, but each stands alone: it
// takes the stack through FleetStack::ready(), which deploys it again with
// the stack's settings (nothing changes when it is healthy), so a case that
// fails half-way, with the stack broken, does not fail the cases after it.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <csignal>
#include <filesystem>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>

#include "eventually.hpp"
#include "fleet_stack.hpp"
#include "nats.hpp"

using namespace harmony::e2e;
using namespace std::chrono_literals;
namespace exit_status = harmony::base::exit_status;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void wait_dead(int pid) { REQUIRE(harmony::testing::eventually([&] { return !alive(pid); })); }

std::string everything(const harmony::base::ProcessResult& r) { return r.out + r.err; }

// Every password the fleet holds.
std::vector<std::string> passwords(const FleetStack& stack) {
  return {stack.secret("operator.password"), stack.secret("agent-edge-1.password"), stack.secret("agent-edge-2.password")};
}

// A NATS connection as some user, or nullptr when the server refuses it.
natsConnection* connect_as(const FleetStack& stack, const std::string& user, const std::string& password) {
  return nats_connect("nats://127.0.0.1:" + std::to_string(stack.client_port), user, password);
}

}  // namespace

TEST_CASE("deploy brings NATS and the agents up, says the operator needs Kubernetes, and leaves out identity, deployed only when named") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  const auto& r = stack.first_deploy;
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("nats: ready") && Catch::Contains("nats-server on nats://127.0.0.1:" + std::to_string(stack.client_port)));
  CHECK_THAT(r.out, Catch::Contains("agent: ready") && Catch::Contains("2 agents (edge-1, edge-2)"));
  for (const char* left_out : {"zitadel", "callout"}) CHECK_THAT(r.out, !Catch::Contains(left_out));
  // The operator is part of the fleet, on Kubernetes: here it is skipped, saying why.
  CHECK_THAT(r.out, Catch::Contains("operator: skipped") && Catch::Contains("'local' does not have"));
  CHECK_THAT(r.out, Catch::Contains("deployed 2 components of fleet on local (2 changed, 1 skipped)"));
  CHECK_THAT(r.out, Catch::Contains("harmony agent ping edge-1") && Catch::Contains("harmony fleet connect-info"));

  const auto connection = stack.state("connection.json");
  REQUIRE(fs::exists(connection));
  CHECK((fs::status(connection).permissions() & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none);
  for (const auto& name : {"operator.password", "agent-edge-1.password", "agent-edge-2.password", "accounts.conf"})
    CHECK((fs::status(stack.state(std::string("credentials/nats/") + name)).permissions() & fs::perms(0077)) == fs::perms::none);
}

TEST_CASE("with no flags, harmony agent reaches the agents the fleet deployed") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  for (const char* id : {"edge-1", "edge-2"}) {
    auto ping = stack.harmony({"agent", "ping", id});
    INFO(ping.err);
    CHECK(ping.exit_code == 0);
    CHECK_THAT(ping.out, Catch::StartsWith(std::string("agent ") + id + " answered"));
  }
  auto echo = stack.harmony({"agent", "exec", "edge-2", "--", "/bin/echo", "from", "the", "fleet"});
  CHECK(echo.exit_code == 0);
  CHECK(echo.out == "from the fleet\n");
  CHECK(stack.harmony({"agent", "exec", "edge-1", "--", "/bin/sh", "-c", "exit 3"}).exit_code == 3);
  CHECK(stack.harmony({"agent", "exec", "edge-1", "--", "/usr/bin/id"}).exit_code == exit_status::remote_error);

  // The fleet created the KV bucket: the list is read at once.
  auto list = stack.harmony({"agent", "list", "-o", "json"});
  auto doc = json_of(list);
  REQUIRE(doc.size() == 2);
  CHECK(doc[0]["id"] == "edge-1");
  CHECK(doc[1]["id"] == "edge-2");
  CHECK(doc[0]["last_seen"].is_string());
  auto status = json_of(stack.harmony({"agent", "status", "edge-1", "-o", "json"}));
  CHECK(status["heartbeat"]["mode"] == "kv");
}

TEST_CASE("status reports both components up, with their smoke tests") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  auto r = stack.harmony({"fleet", "status", "-o", "json"});
  CHECK(r.exit_code == 0);
  auto doc = json_of(r);
  REQUIRE(doc["components"].size() == 2);
  for (const auto& c : doc["components"]) {
    INFO(c.dump());
    CHECK(c["state"] == "up");
    CHECK(c["health"]["ok"] == true);
  }
  auto text = stack.harmony({"fleet", "status"});
  CHECK_THAT(text.out, Catch::Contains("process nats-server: running") && Catch::Contains("process edge-2: running") &&
                           Catch::Contains("smoke test: passed"));
}

TEST_CASE("a redeploy with nothing changed says so, restarts nothing, and still smoke-tests") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  const int nats = stack.pid_of("nats", "nats-server");
  const int agent = stack.pid_of("agent", "edge-1");
  auto r = stack.deploy({"-o", "json"});
  REQUIRE(r.exit_code == 0);
  int checked = 0;
  std::string summary;
  for (const auto& e : harmony::testing::parse_json_lines(r.out)) {
    if (e["event"] == "phase" && e["phase"] == "checking") ++checked;
    if (e["event"] == "summary") summary = e["message"];
  }
  CHECK(checked == 2);
  CHECK_THAT(summary, Catch::StartsWith("no change: 2 components of fleet on local are up to date"));
  CHECK(stack.pid_of("nats", "nats-server") == nats);
  CHECK(stack.pid_of("agent", "edge-1") == agent);
}

TEST_CASE("plan shows what a change would do, and no secret") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  std::vector<std::string> args{"plan", "fleet"};
  for (const auto& s : stack.settings()) args.push_back(s);
  args.insert(args.end(), {"--set", "agent.count=3"});
  auto r = stack.harmony(args);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("agent.count") && Catch::Contains("2") && Catch::Contains("3"));
  for (const auto& p : passwords(stack)) CHECK(everything(r).find(p) == std::string::npos);
}

TEST_CASE("connect-info names the credentials file, never the secret") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  auto text = stack.harmony({"fleet", "connect-info"});
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("nats://127.0.0.1:" + std::to_string(stack.client_port)) &&
                           Catch::Contains(stack.state("credentials/nats/operator.password")));
  auto doc = json_of(stack.harmony({"fleet", "connect-info", "-o", "json"}));
  CHECK(doc["user"] == "operator");
  CHECK(doc["password_file"] == stack.state("credentials/nats/operator.password"));
  for (const auto& p : passwords(stack)) {
    CHECK(text.out.find(p) == std::string::npos);
    CHECK(doc.dump().find(p) == std::string::npos);
  }
}

TEST_CASE("logs shows a component's log") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  auto agent = stack.harmony({"fleet", "logs", "agent"});
  CHECK(agent.exit_code == 0);
  CHECK_THAT(agent.out, Catch::Contains("serving device-commands.edge-1.>") && Catch::Contains("serving device-commands.edge-2.>"));
  auto nats = stack.harmony({"fleet", "logs", "nats"});
  CHECK_THAT(nats.out, Catch::Contains("Server is ready"));
  for (const auto& p : passwords(stack)) CHECK((agent.out + nats.out).find(p) == std::string::npos);
}

TEST_CASE("an agent's credentials cannot command another agent, nor read others' replies") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  natsConnection* edge1 = connect_as(stack, "agent-edge-1", stack.secret("agent-edge-1.password"));
  REQUIRE(edge1 != nullptr);
  CHECK(connect_as(stack, "agent-edge-1", "guess") == nullptr);

  natsMsg* reply = nullptr;
  CHECK(natsConnection_RequestString(&reply, edge1, "device-commands.edge-2.ping", "", 700) != NATS_OK);
  CHECK(natsConnection_RequestString(&reply, edge1, "device-commands.edge-2.exec", R"({"argv":["/bin/echo"]})", 700) !=
        NATS_OK);

  // Eavesdropping on edge-2's commands, or on everyone's inboxes, gets nothing.
  natsSubscription* commands = nullptr;
  natsSubscription* inboxes = nullptr;
  natsConnection_SubscribeSync(&commands, edge1, "device-commands.edge-2.>");
  natsConnection_SubscribeSync(&inboxes, edge1, "_INBOX.>");
  natsConnection_Flush(edge1);
  auto ping = stack.harmony({"agent", "ping", "edge-2"});
  CHECK(ping.exit_code == 0);  // the operator still can
  natsMsg* seen = nullptr;
  CHECK(natsSubscription_NextMsg(&seen, commands, 300) != NATS_OK);
  CHECK(natsSubscription_NextMsg(&seen, inboxes, 100) != NATS_OK);
  natsSubscription_Destroy(commands);
  natsSubscription_Destroy(inboxes);
  natsConnection_Destroy(edge1);
}

TEST_CASE("a Kubernetes-only component on local is the capability error") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  for (const char* component : {"operator", "zitadel"}) {
    auto r = stack.harmony({"deploy", "fleet", component});
    CHECK(r.exit_code == exit_status::unsupported);
    CHECK_THAT(r.err, Catch::Contains(std::string("component '") + component + "' cannot run on topology 'local'") &&
                          Catch::Contains("ManagesKubernetes"));
  }
  // `server` is the control plane: what local can run of it, and the rest
  // said. The callout has nothing to do while NATS uses passwords.
  auto server = stack.deploy({"server"});
  CHECK(server.exit_code == 0);
  CHECK_THAT(server.out, Catch::Contains("operator: skipped") && Catch::Contains("nats: ready") &&
                             Catch::Contains("callout: ready") && Catch::Contains("--set nats.auth=callout"));
}

TEST_CASE("the callout auth mode on a nats-server without auth callout (Debian's 2.9) is refused, and nothing changes") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  const int nats = stack.pid_of("nats", "nats-server");
  auto r = stack.deploy({"nats", "--set", "nats.auth=callout"});
  if (r.exit_code == 0) HARMONY_SKIP("the nats-server on PATH has auth callout: e2e callout covers nats.auth=callout");
  CHECK(r.exit_code == exit_status::invalid_settings);
  CHECK_THAT(r.err, Catch::Contains("nats.auth=callout needs nats-server 2.10 or later") && Catch::Contains("nats.program"));
  CHECK(stack.pid_of("nats", "nats-server") == nats);
  CHECK(alive(nats));
}

TEST_CASE("an agent killed shows as down, and a redeploy heals it") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  const int pid = stack.pid_of("agent", "edge-2");
  REQUIRE(::kill(pid, SIGKILL) == 0);
  wait_dead(pid);
  auto status = stack.harmony({"fleet", "status", "-o", "json"});
  CHECK(status.exit_code == exit_status::degraded);
  for (const auto& c : json_of(status)["components"])
    if (c["name"] == "agent") CHECK(c["state"] == "down");
  CHECK(stack.harmony({"agent", "ping", "edge-2"}).exit_code == exit_status::unreachable);

  auto heal = stack.deploy();
  INFO(heal.out << heal.err);
  CHECK(heal.exit_code == 0);
  CHECK(stack.pid_of("agent", "edge-2") != pid);
  CHECK(stack.harmony({"agent", "ping", "edge-2"}).exit_code == 0);
  CHECK(stack.harmony({"fleet", "status"}).exit_code == 0);
}

TEST_CASE("nats-server killed: status says so, and a redeploy heals it and the agents come back") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  const int pid = stack.pid_of("nats", "nats-server");
  REQUIRE(::kill(pid, SIGKILL) == 0);
  wait_dead(pid);
  CHECK(stack.harmony({"fleet", "status"}).exit_code == exit_status::degraded);
  auto ping = stack.harmony({"agent", "ping", "edge-1", "--timeout", "1s"});
  CHECK(ping.exit_code == exit_status::unreachable);

  auto heal = stack.deploy();
  INFO(heal.out << heal.err);
  CHECK(heal.exit_code == 0);
  CHECK(stack.harmony({"agent", "ping", "edge-1"}).exit_code == 0);
  CHECK(stack.harmony({"agent", "ping", "edge-2"}).exit_code == 0);
}

TEST_CASE("nothing harmony prints shows a secret") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  std::string printed = everything(stack.first_deploy);
  printed += everything(stack.deploy({"-v"}));
  printed += everything(stack.deploy({"-o", "json", "-v"}));
  printed += everything(stack.harmony({"fleet", "status", "-v"}));
  printed += everything(stack.harmony({"fleet", "components"}));
  printed += everything(stack.harmony({"agent", "logs", "edge-1"}));
  for (const auto& p : passwords(stack)) CHECK(printed.find(p) == std::string::npos);
}

TEST_CASE("destroy leaves nothing running and keeps the credentials, and a deploy brings the same fleet back") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  const auto before = passwords(stack);
  const std::vector<int> pids{stack.pid_of("nats", "nats-server"), stack.pid_of("agent", "edge-1"), stack.pid_of("agent", "edge-2")};
  auto r = stack.harmony({"destroy", "fleet", "--yes"});
  CHECK(r.exit_code == 0);
  for (int pid : pids) wait_dead(pid);
  CHECK_FALSE(fs::exists(stack.state("connection.json")));
  CHECK_FALSE(fs::exists(stack.state("components/nats")));
  CHECK(stack.harmony({"fleet", "status"}).out == "nothing of fleet is deployed on local\n");

  auto again = stack.deploy();
  INFO(again.out << again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(passwords(stack) == before);
  CHECK(stack.harmony({"agent", "ping", "edge-1"}).exit_code == 0);
}

TEST_CASE("a taken port is a clear error") {
  HARMONY_REQUIRE_NATS();
  FleetStack other;
  // Something else listens on the client port.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(other.client_port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  auto r = other.deploy();
  ::close(fd);
  CHECK(r.exit_code == exit_status::port_in_use);
  CHECK_THAT(r.err, Catch::Contains("port " + std::to_string(other.client_port) + " (client port of nats) is already in use") &&
                        Catch::Contains("--set"));
}

TEST_CASE("listening beyond loopback warns that the traffic is unencrypted") {
  HARMONY_REQUIRE_NATS();
  FleetStack other;
  auto r = other.deploy({"nats", "--set", "nats.listen=0.0.0.0"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("warning: nats: NATS listens on 0.0.0.0:" + std::to_string(other.client_port)) &&
                        Catch::Contains("unencrypted"));
}

TEST_CASE("with NATS down, deploying the agents alone fails at once and says why") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  const int pid = stack.pid_of("nats", "nats-server");
  REQUIRE(::kill(pid, SIGKILL) == 0);
  wait_dead(pid);
  auto r = stack.deploy({"agent", "--set", "agent.heartbeat=600ms"});  // a change: the agents restart
  CHECK(r.exit_code == exit_status::smoke_test_failed);
  // At once: it gives up because nats-server is gone, not at the deadline.
  CHECK_THAT(r.err, Catch::Contains("a process of nats is not running"));
  CHECK_THAT(r.err, !Catch::Contains("did not become ready within"));
}

TEST_CASE("with NATS down, status shows the agents running and their smoke test failed because NATS is unreachable") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  const int pid = stack.pid_of("nats", "nats-server");
  REQUIRE(::kill(pid, SIGKILL) == 0);
  wait_dead(pid);

  auto text = stack.harmony({"fleet", "status"});
  INFO(text.out << text.err);
  CHECK(text.exit_code == exit_status::degraded);
  CHECK_THAT(text.out, Catch::Contains("process edge-1: running") && Catch::Contains("process edge-2: running") &&
                           Catch::Contains("smoke test: FAILED: NATS is unreachable"));
  CHECK_THAT(text.out, !Catch::Contains("stopped before it was ready"));

  auto doc = json_of(stack.harmony({"fleet", "status", "-o", "json"}));
  int agents = 0;
  for (const auto& c : doc["components"]) {
    if (c["name"] != "agent") continue;
    ++agents;
    INFO(c.dump());
    REQUIRE(c["resources"].size() == 2);
    for (const auto& r : c["resources"]) CHECK((r["state"] == "running" && r["up"] == true));
    CHECK(c["health"]["ok"] == false);
    CHECK_THAT(c["health"]["error"].get<std::string>(),
               Catch::Contains("NATS is unreachable") && !Catch::Contains("stopped before it was ready"));
  }
  CHECK(agents == 1);
}

TEST_CASE("what a dead run left behind is stopped and removed when the next run starts") {
  HARMONY_REQUIRE_NATS();
  std::string root;
  int nats = 0;
  {
    auto* orphan = new FleetStack();  // never destroyed: as if its test run was killed
    REQUIRE(orphan->deploy({"nats"}).exit_code == 0);
    nats = orphan->pid_of("nats", "nats-server");
    root = orphan->box.root();
    // Its owner is a process that has exited.
    orphan->box.write(".", "owner.json", R"({"pid": 999999, "start_ticks": 1, "boot_id": "gone"})", fs::perms(0644));
  }
  REQUIRE(alive(nats));
  FleetStack::clean_leftovers();
  wait_dead(nats);
  CHECK_FALSE(fs::exists(root));
  CHECK(fs::exists(FleetStack::shared().box.root()));  // a live run is left alone
}

TEST_CASE("destroy --purge removes the credentials and data too") {
  HARMONY_REQUIRE_NATS();
  auto& stack = FleetStack::ready();
  auto r = stack.harmony({"destroy", "fleet", "--yes", "--purge"});
  CHECK(r.exit_code == 0);
  CHECK_FALSE(fs::exists(stack.state("credentials/nats")));
  CHECK_FALSE(fs::exists(stack.state("data/nats")));
  // Nothing of the deployment is left: not even empty directories or the lock.
  for (const char* left : {"credentials", "data", "components", "lock"}) CHECK_FALSE(fs::exists(stack.state(left)));
  CHECK_FALSE(fs::exists(stack.state("")));
}
