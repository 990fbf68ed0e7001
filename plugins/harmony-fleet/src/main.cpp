// harmony-fleet: deploys the fleet stack (docs/fleet.md).
//
//   harmony deploy fleet [nats|agent|operator|callout|zitadel|server|all] [--topology local|kubeconfig|k3d]
//   harmony fleet status | logs <component> | components | connect-info
//   harmony plan fleet, harmony destroy fleet

#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include <harmony/agent/connection.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/text.hpp>
#include <harmony/fleet/kubernetes.hpp>
#include <harmony/fleet/scores.hpp>
#include <harmony/fleet/stack.hpp>
#include <harmony/plugin.hpp>
#include <harmony/topologies/kubernetes.hpp>
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

// On a Kubernetes topology: asks the cluster (the deploy's record, the
// NodePort, the operator's password into a local 0600 copy).
template <class T>
int connect_info_on(const CommandContext& c) {
  T topology(c.environment);
  RunContext ctx;
  ctx.plugin = c.plugin;
  ctx.topology = c.topology;
  ctx.component = std::string(nats_component);
  ctx.operation = "status";
  ctx.deadline = Clock::now() + std::chrono::seconds(30);
  auto record = topology.recorded(nats_component);
  const std::string where = "--topology " + c.topology + (c.environment.namespace_.empty() ? "" : " -n " + c.environment.namespace_);
  if (!record) {
    base::Error e = base::make_error("the fleet is not deployed there", "no deploy of nats is recorded (" + where + ")",
                                     "deploy it: harmony deploy fleet " + where);
    e.status = base::exit_status::failure;
    throw e;
  }
  auto nats = deployed_nats(record);
  if (!nats) throw nats.error();
  auto info = connect_info_on_kubernetes(*nats, topology.kubernetes(), ctx);
  if (!info) throw info.error();
  if (c.json) {
    c.print(nlohmann::json{{"in_cluster_url", info->in_cluster_url},
                           {"servers", {info->host_url}},
                           {"user", info->user},
                           {"password_file", info->password_file},
                           {"connection_file", info->connection_file},
                           {"ca_file", info->ca_file},
                           {"secret", {{"namespace", info->namespace_}, {"name", info->secret}, {"key", info->secret_key}}}}
                .dump(2) +
            "\n");
    return 0;
  }
  std::string out;
  out += "in the cluster:   " + info->in_cluster_url + "\n";
  out += "from this host:   " + info->host_url + "  (the NodePort)\n";
  out += "user:             " + info->user + "\n";
  out += "password file:    " + info->password_file + "  (mode 0600; a copy of the cluster's)\n";
  if (!info->ca_file.empty())
    out += "TLS CA:           " + info->ca_file + "  (the fleet's own CA: verify the server with it)\n";
  out += "kept in:          Secret " + info->namespace_ + "/" + info->secret + ", key " + info->secret_key + "\n";
  out += "connection file:  " + info->connection_file + "  (harmony agent --connection " + info->connection_file + ")\n";
  out += "\nfrom your own NATS clients, for example:\n";
  out += "  nats --server " + info->host_url + (info->ca_file.empty() ? "" : " --tlsca " + info->ca_file) + " --user " +
         info->user + " --password \"$(cat " + info->password_file + ")\" sub 'heartbeat.>'\n";
  c.print(out);
  return 0;
}

int connect_info_any(const CommandContext& c) {
  if (c.topology == topologies::Kubeconfig::name) return connect_info_on<topologies::Kubeconfig>(c);
  if (c.topology == topologies::K3d::name) return connect_info_on<topologies::K3d>(c);
  return connect_info(c);
}

}  // namespace
}  // namespace harmony::fleet

int main(int argc, char** argv) {
  using namespace harmony::fleet;
  harmony::Plugin<harmony::topologies::Local, harmony::topologies::Kubeconfig, harmony::topologies::K3d> plugin(
      {"fleet", harmony::version, "Deploys the fleet: NATS, device agents, operator, identity and auth callout",
       "fleet-system"});
  plugin.component<FleetNatsScore>("nats", "NATS with JetStream, the fleet's accounts and the agent-status bucket");
  plugin.component<FleetAgentScore>("agent", "the device agents (fleet-agent), a NATS user each", {}, {"nats"});
  plugin.component<FleetOperatorScore>("operator", "the fleet operator: its CRDs and chart (Kubernetes)", {}, {"nats"});
  plugin.component<ZitadelScore>("zitadel", "Zitadel, the identity provider (Kubernetes)");
  plugin.component<FleetCalloutScore>("callout", "the NATS auth callout service (Kubernetes)", {}, {"nats", "zitadel"});
  plugin.only_when_named("operator").only_when_named("zitadel").only_when_named("callout");
  plugin.group("server", "the control plane: nats, operator, zitadel, callout (FleetServerScore)",
               {"nats", "operator", "zitadel", "callout"});
  plugin.command("connect-info", "where your own NATS clients connect, and the credentials file (never the secret)")
      .action(connect_info_any);
  return plugin.run(argc, argv);
}
