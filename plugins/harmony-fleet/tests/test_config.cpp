// What the fleet generates: settings checks, device ids, NATS's
// configuration and accounts, the agents' configurations.

#include <catch2/catch.hpp>

#include <set>

#include <yaml-cpp/yaml.h>

#include <harmony/fleet/config.hpp>

using namespace harmony::fleet;
using harmony::settings::Problem;

namespace {

std::string keys(const std::vector<Problem>& problems) {
  std::string out;
  for (const auto& p : problems) out += p.key + ": " + p.message + "\n";
  return out;
}

}  // namespace

TEST_CASE("device ids are derived from count and prefix, or listed") {
  AgentSettings s;
  CHECK(s.device_ids() == std::vector<std::string>{"edge-1"});
  s.count = 3;
  s.id_prefix = "lyon";
  CHECK(s.device_ids() == std::vector<std::string>{"lyon-1", "lyon-2", "lyon-3"});
  s.ids = {"pump", "valve"};
  s.count = 1;
  CHECK(s.device_ids() == std::vector<std::string>{"pump", "valve"});
  CHECK(s.check().empty());
}

TEST_CASE("agent settings that cannot work are refused, naming the key") {
  AgentSettings s;
  s.ids = {"Pump_1", "ok", "ok"};
  s.count = 2;
  s.exec_allow = {"uptime"};
  s.heartbeat.value = std::chrono::milliseconds(10);
  const std::string text = keys(s.check());
  INFO(text);
  CHECK_THAT(text, Catch::Contains("ids: 'Pump_1' is not a valid device id"));
  CHECK_THAT(text, Catch::Contains("ids: 'ok' is listed twice"));
  CHECK_THAT(text, Catch::Contains("count: is 2 but ids lists 3 devices"));
  CHECK_THAT(text, Catch::Contains("exec_allow: 'uptime' is not an absolute path"));
  CHECK_THAT(text, Catch::Contains("heartbeat: must be at least 100ms"));

  AgentSettings long_prefix;
  long_prefix.id_prefix = std::string(60, 'a');
  long_prefix.count = 100;
  CHECK_THAT(keys(long_prefix.check()), Catch::Contains("id_prefix"));
}

TEST_CASE("NATS settings: ports must differ, the listen address is an address") {
  NatsSettings s;
  CHECK(s.check().empty());
  s.auth = NatsAuth::callout;
  CHECK(s.check().empty());
  s.monitor_port = s.client_port;
  s.node_port.value = 8080;
  s.listen = "somewhere";
  const std::string text = keys(s.check());
  CHECK_THAT(text, Catch::Contains("monitor_port: must differ from client_port"));
  CHECK_THAT(text, Catch::Contains("node_port: 8080 is outside"));
  CHECK_THAT(text, Catch::Contains("listen: 'somewhere' is not an IP address"));
}

TEST_CASE("clients reach NATS on loopback unless it listens on one address") {
  NatsSettings s;
  CHECK(client_url(s) == "nats://127.0.0.1:4222");
  s.listen = "0.0.0.0";
  CHECK(client_url(s) == "nats://127.0.0.1:4222");
  s.listen = "10.1.2.3";
  s.client_port.value = 14222;
  CHECK(client_url(s) == "nats://10.1.2.3:14222");
  CHECK(is_loopback("127.0.0.1"));
  CHECK(is_loopback("::1"));
  CHECK_FALSE(is_loopback("0.0.0.0"));
}

TEST_CASE("accounts give each agent its own subjects only") {
  const std::string text = render_accounts({{"operator", "op-pw", ""}, {"agent-edge-1", "e1-pw", "edge-1"}});
  CHECK_THAT(text, Catch::Contains(R"({ user: "operator", password: "op-pw" })"));
  CHECK_THAT(text, Catch::Contains(R"(user: "agent-edge-1", password: "e1-pw")"));
  CHECK_THAT(text, Catch::Contains(R"(subscribe: { allow: ["device-commands.edge-1.>", "_INBOX.edge-1.>"] })"));
  CHECK_THAT(text, Catch::Contains(R"("heartbeat.edge-1", "$KV.agent-status.edge-1")"));
  CHECK_THAT(text, Catch::Contains("allow_responses: true"));
  CHECK(text.find("device-commands.>") == std::string::npos);
  CHECK(text.find("\"_INBOX.>\"") == std::string::npos);
}

TEST_CASE("agent password files map back to their device") {
  CHECK(agent_password_file("edge-1") == "agent-edge-1.password");
  CHECK(device_of_password_file("agent-edge-1.password") == "edge-1");
  CHECK_FALSE(device_of_password_file("operator.password"));
  CHECK_FALSE(device_of_password_file("agent-Bad_1.password"));
}

TEST_CASE("passwords are long, random and quotable") {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    auto p = generate_password();
    CHECK(p.size() == 32);
    CHECK(p.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == std::string::npos);
    seen.insert(p);
  }
  CHECK(seen.size() == 50);
}

TEST_CASE("nats-server's configuration quotes what it embeds") {
  NatsSettings s;
  const std::string text = render_nats_config(s, "/state/with \"quote\"/js", "../../credentials/nats/accounts.conf");
  CHECK_THAT(text, Catch::Contains(R"(listen: "127.0.0.1:4222")"));
  CHECK_THAT(text, Catch::Contains(R"(http: "127.0.0.1:8222")"));
  CHECK_THAT(text, Catch::Contains(R"(store_dir: "/state/with \"quote\"/js")"));
  CHECK_THAT(text, Catch::Contains(R"(include "../../credentials/nats/accounts.conf")"));
}

TEST_CASE("an agent's configuration is YAML fleet-agent reads back") {
  AgentSettings s;
  s.labels = {{"site", "lyon: north"}, {"rack", "3"}};
  auto doc = YAML::Load(render_agent_config(s, "edge-7", "nats://127.0.0.1:4222", {"/creds/agent-edge-7.password", {}}));
  CHECK(doc["device_id"].as<std::string>() == "edge-7");
  CHECK(doc["nats"]["user"].as<std::string>() == "agent-edge-7");
  CHECK(doc["nats"]["urls"][0].as<std::string>() == "nats://127.0.0.1:4222");
  CHECK(doc["nats"]["password_file"].as<std::string>() == "/creds/agent-edge-7.password");
  CHECK(doc["labels"]["site"].as<std::string>() == "lyon: north");
  CHECK(doc["exec"]["allow"].size() == 3);
  CHECK(doc["exec"]["timeout"].as<std::string>() == "25000ms");
  CHECK(doc["heartbeat"]["interval"].as<std::string>() == "5000ms");
}

TEST_CASE("under the callout, NATS asks it about every login but harmony's own, and JetStream stays in the global account") {
  NatsSettings s;
  const CalloutServer callout{"AISSUERKEY", "XCURVEKEY"};
  const std::string text = render_nats_config(s, "/js", "accounts.conf", &callout);
  CHECK_THAT(text, Catch::Contains("auth_callout {\n    issuer: \"AISSUERKEY\"\n"));
  CHECK_THAT(text, Catch::Contains("auth_users: [\"callout\", \"operator\", \"fleet-operator\"]"));
  CHECK_THAT(text, Catch::Contains("xkey: \"XCURVEKEY\""));
  // No other account: one would take JetStream from the global account.
  CHECK(text.find("accounts {") == std::string::npos);
  CHECK(render_nats_config(s, "/js", "accounts.conf").find("auth_callout") == std::string::npos);
  // In a pod, the system user is harmony's too.
  const std::string pod = render_nats_pod_config(s, "sys-pw", &callout);
  CHECK_THAT(pod, Catch::Contains("\"fleet-operator\", \"system\"]") && Catch::Contains("system_account: SYS"));

  const std::string accounts = render_accounts({{"operator", "op-pw", ""}, {"callout", "co-pw", "", false, true}});
  CHECK_THAT(accounts, Catch::Contains("subscribe: { allow: [\"$SYS.REQ.USER.AUTH\"] }") && Catch::Contains("allow_responses: true"));
}

TEST_CASE("callout settings: an https issuer (http on loopback), with an audience") {
  CalloutSettings s;
  CHECK(s.check().empty());
  s.issuer_url = "http://idp.example.com";
  CHECK_THAT(keys(s.check()), Catch::Contains("issuer_url: 'http://idp.example.com' is not an https URL") &&
                                  Catch::Contains("audience: must be set with issuer_url"));
  s.issuer_url = "http://127.0.0.1:8080";
  s.audience = "fleet";
  CHECK(s.check().empty());
  s.issuer_url = "https://idp.example.com";
  CHECK(s.check().empty());
}

TEST_CASE("an agent under the callout names its token file and no user or password") {
  AgentSettings s;
  auto doc = YAML::Load(render_agent_config(s, "edge-7", "nats://127.0.0.1:4222", {{}, "/tokens/edge-7.token"}));
  CHECK(doc["nats"]["token_file"].as<std::string>() == "/tokens/edge-7.token");
  CHECK_FALSE(doc["nats"]["user"]);
  CHECK_FALSE(doc["nats"]["password_file"]);
}
