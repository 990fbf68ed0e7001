// harmony-fleet: deploys the fleet stack (docs/fleet.md).
//
//   harmony deploy fleet [nats|agent|operator|callout|zitadel|server|all] --topology local
//   harmony fleet status | logs <component> | components | connect-info
//   harmony plan fleet, harmony destroy fleet

#include <cstdio>

#include <nlohmann/json.hpp>

#include <harmony/agent/connection.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/text.hpp>
#include <harmony/fleet/scores.hpp>
#include <harmony/plugin.hpp>
#include <harmony/topologies/local.hpp>
#include <harmony/version.hpp>

namespace harmony::fleet {
namespace {

// Where the user's own NATS clients connect, and with which credentials file;
// never the secret itself.
int connect_info(const CommandContext& ctx) {
  const auto path = agent::default_connection_file();
  auto text = path ? base::read_file(*path, 1 << 20) : base::expected<std::string>(base::fail(base::make_error("no home")));
  if (!text) {
    base::Error e = base::make_error("the fleet is not deployed on local",
                                     "there is no connection file" + (path ? " at " + *path : std::string()),
                                     "deploy it: harmony deploy fleet --topology local");
    e.status = base::exit_status::failure;
    throw e;
  }
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    throw base::make_error("the connection file " + *path + " cannot be read", "it is not JSON",
                           "deploy the fleet again: harmony deploy fleet --topology local");
  const auto servers = doc.value("servers", std::vector<std::string>{});
  const std::string user = doc.value("user", std::string());
  const std::string password_file = doc.value("password_file", std::string());
  if (ctx.json) {
    ctx.print(nlohmann::json{{"servers", servers}, {"user", user}, {"password_file", password_file}, {"connection_file", *path}}
                  .dump(2) +
              "\n");
    return 0;
  }
  const std::string url = servers.empty() ? std::string() : servers.front();
  std::string out;
  out += "servers:          " + base::join(servers, ", ") + "\n";
  out += "user:             " + user + "\n";
  out += "password file:    " + password_file + "  (mode 0600; the password is its only line)\n";
  out += "connection file:  " + *path + "  (harmony agent uses it)\n";
  out += "\nfrom your own NATS clients, for example:\n";
  out += "  nats --server " + url + " --user " + user + " --password \"$(cat " + password_file + ")\" sub 'heartbeat.>'\n";
  out += "  nats --server " + url + " --user " + user + " --password \"$(cat " + password_file + ")\" kv ls agent-status\n";
  out += "or set HARMONY_NATS_URL=" + url + " HARMONY_NATS_USER=" + user + " HARMONY_NATS_PASSWORD_FILE=" + password_file + "\n";
  ctx.print(out);
  return 0;
}

}  // namespace
}  // namespace harmony::fleet

int main(int argc, char** argv) {
  using namespace harmony::fleet;
  harmony::Plugin<harmony::topologies::Local> plugin(
      {"fleet", harmony::version, "Deploys the fleet: NATS, device agents, operator, identity and auth callout",
       "fleet-system"});
  plugin.component<FleetNatsScore>("nats", "NATS with JetStream, the fleet's accounts and the agent-status bucket");
  plugin.component<FleetAgentScore>("agent", "the device agents (fleet-agent), a NATS user each", {}, {"nats"});
  plugin.component<FleetOperatorScore>("operator", "the fleet operator: its CRDs and chart (Kubernetes)", {}, {"nats"});
  plugin.component<ZitadelScore>("zitadel", "Zitadel, the identity provider (Kubernetes)");
  plugin.component<FleetCalloutScore>("callout", "the NATS auth callout service (Kubernetes)", {}, {"nats", "zitadel"});
  plugin.group("server", "the control plane: nats, operator, zitadel, callout (FleetServerScore)",
               {"nats", "operator", "zitadel", "callout"});
  plugin.command("connect-info", "where your own NATS clients connect, and the credentials file (never the secret)")
      .action(connect_info);
  return plugin.run(argc, argv);
}
