// harmony-fleet: deploys the fleet stack (docs/fleet.md).
//
//   harmony deploy fleet [nats|agent|operator|callout|zitadel|server|all] [--topology local|kubeconfig|k3d]
//   harmony fleet status | logs <component> | components | connect-info | images build|push
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

#include "images.hpp"
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

struct ImagesArgs {
  std::string verb;
  std::string registry;
  ImageOptions options;
};

// harmony fleet images build|push REGISTRY
int images(const CommandContext& c, const ImagesArgs& a) {
  if (a.verb != "build" && a.verb != "push")
    throw base::usage_error("unknown images command '" + base::printable(a.verb) + "'", "it is build or push",
                            "harmony fleet images build, or harmony fleet images push REGISTRY");
  if (a.verb == "push" && a.registry.empty())
    throw base::usage_error("push needs a registry", "where the nodes pull from: HOST[:PORT][/PATH]",
                            "harmony fleet images push registry.example:5000/harmony");
  if (a.verb == "build" && !a.registry.empty())
    throw base::usage_error("build takes no registry", "'" + base::printable(a.registry) + "' is left over",
                            "to push it as well: harmony fleet images push " + a.registry);
  auto built = build_agent_image(a.options);
  if (!built) throw built.error();
  std::string pushed;
  if (a.verb == "push") {
    auto target = push_agent_image(*built, a.registry);
    if (!target) throw target.error();
    pushed = *target;
  }
  if (c.json) {
    nlohmann::json doc{{"image", built->ref}, {"archive", built->archive}, {"engine", built->engine}, {"in_engine", built->in_engine}};
    if (!pushed.empty()) doc["pushed"] = pushed;
    c.print(doc.dump(2) + "\n");
    return 0;
  }
  std::string out = "built " + built->ref + " with " + built->engine + ": " + built->archive +
                    (built->in_engine ? " (and in " + built->engine + "'s images)" : "") + "\n";
  if (!pushed.empty()) {
    out += "pushed " + pushed + "\n\nnext:\n  harmony deploy fleet --topology kubeconfig --set agent.image=" + pushed +
           "   (a private registry: --set agent.image_pull_secrets={SECRET})\n";
  } else {
    out += "\nnext:\n";
    if (built->engine == "docker") out += "  harmony deploy fleet --topology k3d   (it imports the image from docker)\n";
    out += "  k3d image import " + built->archive + " -c CLUSTER, or ctr -n k8s.io images import " + built->archive +
           " on each node\n  harmony fleet images push REGISTRY, for clusters that pull\n";
  }
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
  static ImagesArgs images_args;
  plugin.command("images", "build the fleet-agent image from the installed fleet-agent, or build and push it")
      .positional("build|push", images_args.verb, "build: an image archive (and into docker or podman); push: to REGISTRY")
      .positional("registry", images_args.registry, "push: where the nodes pull from (HOST[:PORT][/PATH])", false)
      .option("--archive", images_args.options.output, "the image archive to write (default: fleet-agent-<version>.tar here)")
      .option("--builder", images_args.options.builder, "docker, podman, buildah or oci (default: the first that works)")
      .action([](const harmony::CommandContext& c) { return images(c, images_args); });
  return plugin.run(argc, argv);
}
