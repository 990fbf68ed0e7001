// harmony-fleet: deploys the fleet stack (docs/fleet.md).
//
//   harmony deploy fleet [nats|agent|operator|callout|zitadel|server|all] [--topology local|kubeconfig|k3d]
//   harmony fleet status | logs <component> | components | connect-info | port-forward | images build|push
//   harmony plan fleet, harmony destroy fleet

#include <chrono>
#include <atomic>
#include <cstdio>
#include <functional>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <harmony/agent/connection.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/text.hpp>
#include <harmony/fleet/chart.hpp>
#include <harmony/fleet/crds.hpp>
#include <harmony/fleet/view.hpp>
#include <harmony/fleet/kubernetes.hpp>
#include <harmony/fleet/scores.hpp>
#include <harmony/fleet/stack.hpp>
#include <harmony/fleet/token.hpp>

#include "images.hpp"

#include <harmony/agent/tunnel.hpp>
#include <harmony/errors.hpp>
#include <harmony/fleet/zitadel.hpp>
#include <harmony/base/interrupt.hpp>
#include <harmony/base/secrets.hpp>
#include <harmony/base/time.hpp>
#include <harmony/kube/client.hpp>
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
// A command's run as the nats component, and the settings NATS was
// deployed with there (an error when it was not).
RunContext nats_run(const CommandContext& c) {
  RunContext ctx;
  ctx.plugin = c.plugin;
  ctx.topology = c.topology;
  ctx.component = std::string(nats_component);
  ctx.operation = "status";
  ctx.deadline = Clock::now() + std::chrono::seconds(30);
  return ctx;
}

template <class T>
NatsSettings deployed_there(T& topology, const CommandContext& c) {
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
  return *nats;
}

template <class T>
int connect_info_on(const CommandContext& c) {
  T topology(c.environment);
  RunContext ctx = nats_run(c);
  auto nats = deployed_there(topology, c);
  auto info = connect_info_on_kubernetes(nats, topology.kubernetes(), ctx);
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
  if (info->through_port_forward)
    out += "from this host:   through a port-forward (nats.reach=port_forward): harmony fleet port-forward --topology " +
           c.topology + " -n " + info->namespace_ + "; harmony agent opens one itself\n";
  else
    out += "from this host:   " + info->host_url + "  (the NodePort)\n";
  out += "user:             " + info->user + "\n";
  out += "password file:    " + info->password_file + "  (mode 0600; a copy of the cluster's)\n";
  if (!info->ca_file.empty())
    out += "TLS CA:           " + info->ca_file + "  (the fleet's own CA: verify the server with it)\n";
  out += "kept in:          Secret " + info->namespace_ + "/" + info->secret + ", key " + info->secret_key + "\n";
  out += "connection file:  " + info->connection_file + "  (harmony agent --connection " + info->connection_file + ")\n";
  out += "\nfrom your own NATS clients, for example:\n";
  const std::string url = info->through_port_forward ? "nats://127.0.0.1:PORT" : info->host_url;
  out += "  nats --server " + url + (info->ca_file.empty() ? "" : " --tlsca " + info->ca_file) + " --user " + info->user +
         " --password \"$(cat " + info->password_file + ")\" sub 'heartbeat.>'\n";
  c.print(out);
  return 0;
}

// harmony fleet port-forward: NATS's client port on 127.0.0.1, through the
// API server, until Ctrl-C.
// Zitadel's HTTP port, on its external port by default: `harmony fleet
// token --issuer` then names the issuer Zitadel's tokens carry (with
// zitadel.external_domain localhost), since the assertion's audience must
// be exactly that.
template <class T>
int forward_zitadel(const CommandContext& c, T& topology, RunContext& ctx, kube::Client& api, std::uint16_t local_port,
                    const std::function<void(const std::string&)>& on_error) {
  auto issuer = deployed_zitadel(topology.recorded(zitadel_component), topology.kubernetes(), ctx, false);
  if (!issuer) throw issuer.error();
  if (!*issuer)
    throw harmony::error_with(base::exit_status::failure, "Zitadel is not deployed there", "no deploy of zitadel is recorded",
                              "deploy it: harmony deploy fleet zitadel");
  const ZitadelSettings& z = (*issuer)->settings;
  auto pod = zitadel_pod(topology.kubernetes(), ctx);
  if (!pod) throw pod.error();
  const std::string ns = topology.kubernetes().namespace_name();
  if (local_port == 0 && !z.external_secure) local_port = z.external_port.value;
  auto tunnel = agent::Tunnel::open(api.config(), {ns, *pod, zitadel_http_port}, local_port, on_error);
  if (!tunnel) throw tunnel.error();
  const std::string url = "http://127.0.0.1:" + std::to_string((*tunnel)->local_port());
  if (c.json) {
    c.print(nlohmann::json{{"url", url}, {"pod", ns + "/" + *pod}, {"port", zitadel_http_port}, {"issuer", (*issuer)->issuer_url},
                           {"project_id", (*issuer)->project_id}}
                .dump() +
            "\n");
  } else {
    c.print("forwarding " + url + " -> pod " + ns + "/" + *pod + ":" + std::to_string(zitadel_http_port) +
            " through the API server; Ctrl-C stops\nZitadel answers for " + z.external_domain + " (its issuer: " +
            (*issuer)->issuer_url + ", project " + (*issuer)->project_id + ")\n");
  }
  while (!base::interrupt_requested()) base::sleep_unless_interrupted(std::chrono::seconds(1));
  return 0;
}

template <class T>
int port_forward_on(const CommandContext& c, std::uint16_t local_port, const std::string& to) {
  // From the start: a Ctrl-C while the tunnel opens is a clean stop too,
  // not a death by SIGINT.
  base::InterruptScope interrupt;
  T topology(c.environment);
  RunContext ctx = nats_run(c);
  auto api = topology.kubernetes().client(ctx);
  if (!api) throw api.error();
  const std::string ns = topology.kubernetes().namespace_name();
  auto on_error = [](const std::string& why) { std::fprintf(stderr, "harmony fleet: warning: %s\n", why.c_str()); };
  if (to == "zitadel") return forward_zitadel(c, topology, ctx, **api, local_port, on_error);
  if (to != "nats")
    throw base::usage_error("--to " + base::printable(to) + " is not nats or zitadel", "port-forward reaches NATS's client port or Zitadel's");
  auto nats = deployed_there(topology, c);
  const std::string pod = std::string(nats_statefulset) + "-0";
  auto tunnel = agent::Tunnel::open((*api)->config(), {ns, pod, nats.client_port.value}, local_port, on_error);
  if (!tunnel) throw tunnel.error();
  const std::string url = std::string(nats.tls ? "tls" : "nats") + "://127.0.0.1:" + std::to_string((*tunnel)->local_port());
  if (c.json) {
    c.print(nlohmann::json{{"url", url}, {"pod", ns + "/" + pod}, {"port", nats.client_port.value}}.dump() + "\n");
  } else {
    std::string out = "forwarding " + url + " -> pod " + ns + "/" + pod + ":" + std::to_string(nats.client_port.value) +
                      " through the API server; Ctrl-C stops\n";
    if (nats.tls)
      out += "TLS: the server's certificate is for nats." + ns + ".svc and 127.0.0.1 (harmony fleet connect-info names the CA)\n";
    c.print(out);
  }
  while (!base::interrupt_requested()) base::sleep_unless_interrupted(std::chrono::seconds(1));
  return 0;
}

struct TokenArgs {
  std::string key_file;
  std::string out;
  TokenSource source;
  bool watch = false;
};

// harmony fleet token: a device's token file from its machine key, once or
// kept fresh (--watch) for as long as it runs.
int token(const CommandContext& c, const TokenArgs& a) {
  if (a.key_file.empty() || a.out.empty() || a.source.issuer.empty())
    throw base::usage_error("harmony fleet token needs --key, --issuer and --out",
                            "the device's machine key, the identity provider, and the token file its agent reads",
                            "harmony fleet token --key edge-1.json --issuer https://auth.example.com --project ID --out /var/lib/fleet-agent/token");
  const std::string& issuer = a.source.issuer;
  if (!issuer.starts_with("https://") && !kube::is_loopback_http_url(issuer))
    throw base::usage_error("--issuer " + base::printable(issuer) + " is not an https URL",
                            "the key's assertion and the token must not cross a network in clear (plain http only on loopback)",
                            "harmony fleet token --issuer https://auth.example.com ...");
  auto key_text = base::read_secret_file(a.key_file, "the machine key", 16384);
  if (!key_text) throw base::Error(key_text.error());
  auto key = parse_machine_key(*key_text);
  if (!key) throw key.error().with_reason(key.error().reason + " (" + a.key_file + ")");
  const HttpExchange http = https_exchange(a.source.ca_file);
  base::InterruptScope interrupt;
  auto backoff = std::chrono::seconds(5);
  while (true) {
    auto issued = fetch_token(*key, a.source, http, std::chrono::system_clock::now());
    std::chrono::seconds next = backoff;
    if (issued) {
      // Written whole and 0600, so an agent reading it at that moment sees
      // the old token or the new one, and nobody else sees either.
      if (auto written = base::write_file_atomically(a.out, issued->access_token + "\n", 0600); !written)
        throw written.error();
      next = refresh_after(issued->expires_in);
      backoff = std::chrono::seconds(5);
      if (c.json) {
        // One object per token written (a line each under --watch); never the token.
        nlohmann::json doc{{"user", key->user_id}, {"key_id", key->key_id}, {"out", a.out},
                           {"expires_in_seconds", issued->expires_in.count()}};
        if (a.watch) doc["next_in_seconds"] = next.count();
        c.print(doc.dump() + "\n");
      } else {
        c.print("wrote a token for " + key->user_id + " to " + a.out + ", valid " + base::format_duration(issued->expires_in) +
                (a.watch ? "; next in " + base::format_duration(next) : "") + "\n");
      }
    } else if (!a.watch) {
      // The file keeps what it had: an agent may still be using that token.
      throw issued.error();
    } else {
      std::fputs(base::render_error(issued.error(), "harmony fleet token", false).c_str(), stderr);
      std::fprintf(stderr, "harmony fleet token: %s keeps its token; trying again in %s\n", a.out.c_str(),
                   base::format_duration(backoff).c_str());
      backoff = std::min(backoff * 2, std::chrono::seconds(300));
    }
    if (!a.watch || !base::sleep_unless_interrupted(next)) return 0;
  }
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
  std::vector<BuiltImage> built;
  auto agent_image = build_agent_image(a.options);
  if (!agent_image) throw agent_image.error();
  built.push_back(*agent_image);
  for (auto build : {build_operator_image, build_callout_image}) {
    auto image = build(a.options);
    if (!image) throw image.error();
    if (*image) built.push_back(**image);
  }
  std::vector<std::string> pushed;
  if (a.verb == "push")
    for (const auto& image : built) {
      auto target = push_agent_image(image, a.registry);
      if (!target) throw target.error();
      pushed.push_back(*target);
    }
  if (c.json) {
    nlohmann::json images = nlohmann::json::array();
    for (std::size_t i = 0; i < built.size(); ++i) {
      nlohmann::json doc{{"image", built[i].ref}, {"archive", built[i].archive}, {"engine", built[i].engine},
                         {"in_engine", built[i].in_engine}};
      if (i < pushed.size()) doc["pushed"] = pushed[i];
      images.push_back(doc);
    }
    // The agent's image stays at the top level, as before the operator's existed.
    nlohmann::json doc = images.front();
    doc["images"] = images;
    c.print(doc.dump(2) + "\n");
    return 0;
  }
  std::string out;
  for (const auto& image : built)
    out += "built " + image.ref + " with " + image.engine + ": " + image.archive +
           (image.in_engine ? " (and in " + image.engine + "'s images)" : "") + "\n";
  if (built.size() == 1) out += "(fleet-operator is not installed here: its image was not built)\n";
  if (!pushed.empty()) {
    out += "pushed " + base::join(pushed, ", ") + "\n\nnext:\n  harmony deploy fleet --topology kubeconfig --set agent.image=" +
           pushed.front() + (pushed.size() > 1 ? " --set operator.image=" + pushed[1] : "") +
           "   (a private registry: --set agent.image_pull_secrets={SECRET})\n";
  } else {
    out += "\nnext:\n";
    if (built.front().engine == "docker") out += "  harmony deploy fleet --topology k3d   (it imports the images from docker)\n";
    for (const auto& image : built)
      out += "  k3d image import " + image.archive + " -c CLUSTER, or ctr -n k8s.io images import " + image.archive +
             " on each node\n";
    out += "  harmony fleet images push REGISTRY, for clusters that pull\n";
  }
  c.print(out);
  return 0;
}

// What the fleet operator keeps, read through the topology's cluster.
template <class T>
int view_on(const CommandContext& c, const std::function<int(kube::Client&, const std::string&)>& show) {
  T topology(c.environment);
  RunContext ctx = nats_run(c);
  auto api = topology.kubernetes().client(ctx);
  if (!api) throw api.error();
  return show(**api, topology.kubernetes().namespace_name());
}

int view_any(const CommandContext& c, const std::function<int(kube::Client&, const std::string&)>& show) {
  if (c.topology == topologies::Kubeconfig::name) return view_on<topologies::Kubeconfig>(c, show);
  if (c.topology == topologies::K3d::name) return view_on<topologies::K3d>(c, show);
  throw base::usage_error("FleetDeployments live in Kubernetes",
                          "on '" + (c.topology.empty() ? std::string("local") : c.topology) + "' there is no fleet operator",
                          "name the cluster: --topology kubeconfig (or k3d) [-n NAMESPACE]");
}

struct RolloutArgs {
  std::string verb;
  std::string name;
  std::string timeout = "0s";
  bool no_watch = false;
};

int rollout(const CommandContext& c, const RolloutArgs& a) {
  if (a.verb != "status")
    throw base::usage_error("harmony fleet rollout " + base::printable(a.verb) + ": there is no such action",
                            "rollout has one: status", "harmony fleet rollout status DEPLOYMENT");
  auto timeout = base::parse_duration(a.timeout);
  if (!timeout) throw base::usage_error("--timeout " + base::printable(a.timeout) + " is not a duration", "e.g. 5m or 90s");
  return view_any(c, [&](kube::Client& api, const std::string& ns) {
    base::InterruptScope interrupt;
    std::atomic<bool> stop{false};
    std::jthread poll([&](std::stop_token done) {
      while (!done.stop_requested() && !stop) {
        if (base::interrupt_requested()) stop = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
    auto waited = rollout_status(api, {ns, a.name, *timeout, !a.no_watch}, [&](const std::string& line) { c.print(line + "\n"); },
                                 &stop);
    poll.request_stop();
    if (base::interrupt_requested()) {
      base::Error e = base::make_error("interrupted while waiting for FleetDeployment \"" + a.name + "\"");
      e.status = base::exit_status::interrupted;
      throw e;
    }
    if (!waited) throw waited.error();
    return 0;
  });
}

int port_forward_any(const CommandContext& c, std::uint16_t local_port, const std::string& to) {
  if (c.topology == topologies::Kubeconfig::name) return port_forward_on<topologies::Kubeconfig>(c, local_port, to);
  if (c.topology == topologies::K3d::name) return port_forward_on<topologies::K3d>(c, local_port, to);
  throw base::usage_error("port-forward works on Kubernetes topologies",
                          "on '" + (c.topology.empty() ? std::string("local") : c.topology) + "' NATS listens on this machine",
                          "harmony fleet port-forward --topology kubeconfig (or k3d)");
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
  plugin.component<FleetAgentScore>("agent", "the device agents (fleet-agent), a NATS user each", {}, {"nats", "callout"});
  plugin.component<FleetOperatorScore>("operator", "the fleet operator: its CRDs and chart (Kubernetes)", {}, {"nats", "agent"});
  plugin.component<ZitadelScore>("zitadel", "Zitadel, the identity provider (Kubernetes)");
  plugin.component<FleetCalloutScore>("callout", "the NATS auth callout service: logins with identity provider tokens (nats.auth=callout)",
                                      {}, {"nats", "zitadel"});
  plugin.only_when_named("zitadel").only_when_named("callout");
  // FleetServerScore without Zitadel: the callout trusts another provider.
  plugin.unless_set("zitadel", "callout.issuer_url", "the callout trusts the identity provider it names, so Zitadel is not deployed");
  plugin.group("server", "the control plane: nats, operator, zitadel, callout (FleetServerScore)",
               {"nats", "operator", "zitadel", "callout"});
  plugin.command("connect-info", "where your own NATS clients connect, and the credentials file (never the secret)")
      .action(connect_info_any);
  static int forward_port = 0;
  static std::string forward_to = "nats";
  plugin.command("port-forward", "NATS's client port (or Zitadel's) on 127.0.0.1 through the API server, for your own clients")
      .option("--port", forward_port, "the local port (default: a free one, printed; Zitadel: its external port)")
      .option("--to", forward_to, "nats (default) or zitadel: Zitadel's HTTP port, for harmony fleet token")
      .action([](const harmony::CommandContext& c) {
        if (forward_port < 0 || forward_port > 65535)
          throw harmony::base::usage_error("--port " + std::to_string(forward_port) + " is not a port", "it is 0-65535");
        return port_forward_any(c, static_cast<std::uint16_t>(forward_port), forward_to);
      });
  plugin.command("crds", "print the FleetDeployment and FleetDevice CustomResourceDefinitions (YAML, for kubectl apply)")
      .action([](const harmony::CommandContext& c) {
        c.print(fleet_crds_yaml());
        return 0;
      });
  static bool all_namespaces = false;
  plugin.command("deployments", "the FleetDeployments: how many devices each targets, and how many run it, failed or wait")
      .flag("-A,--all-namespaces", all_namespaces, "every namespace, not only the fleet's")
      .action([](const harmony::CommandContext& c) {
        return view_any(c, [&](harmony::kube::Client& api, const std::string& ns) {
          auto text = deployments_view(api, ns, all_namespaces, c.json);
          if (!text) throw text.error();
          c.print(*text);
          return 0;
        });
      });
  plugin.command("devices", "the FleetDevices: each agent's labels, connectivity, version and what it runs")
      .action([](const harmony::CommandContext& c) {
        return view_any(c, [&](harmony::kube::Client& api, const std::string&) {
          auto text = devices_view(api, c.json);
          if (!text) throw text.error();
          c.print(*text);
          return 0;
        });
      });
  static RolloutArgs rollout_args;
  plugin.command("rollout", "rollout status DEPLOYMENT: wait until a FleetDeployment runs on every device it targets")
      .positional("action", rollout_args.verb, "status")
      .positional("deployment", rollout_args.name, "the FleetDeployment's name (in the fleet's namespace, -n)")
      .option("--timeout", rollout_args.timeout, "give up after this long (0s, the default: wait as long as it takes)")
      .flag("--no-watch", rollout_args.no_watch, "say where the rollout is, once, without waiting")
      .action([](const harmony::CommandContext& c) { return rollout(c, rollout_args); });
  static std::string chart_output;
  auto chart = plugin.command("chart", "write the fleet operator's Helm chart, generated from this build (helm lint, template, install)");
  {
    // Here -o/--output names the directory, as `harmony fleet chart --output
    // DIR` reads; the command prints one line, so a JSON form would say nothing more.
    CLI::App& app = chart.cli();
    app.remove_option(app.get_option("--output"));
    app.add_option("-o,--output", chart_output, "the directory to write the chart into (created)");
  }
  chart.action([](const harmony::CommandContext& c) {
        if (chart_output.empty())
          throw harmony::base::usage_error("harmony fleet chart needs --output DIR", "where to write the chart",
                                           "harmony fleet chart --output ./fleet-operator");
        if (auto written = write_operator_chart(chart_output); !written) throw written.error();
        c.print("wrote the fleet-operator chart " + std::string(harmony::version) + " to " + chart_output +
                "\n\nnext:\n  helm lint " + chart_output + "\n  helm install fleet-operator " + chart_output +
                " -n NAMESPACE --set nats.urls={tls://nats.NAMESPACE.svc:4222} --set nats.password=...\n");
        return 0;
      });
  static TokenArgs token_args;
  plugin.command("token", "a device's NATS token from its identity provider machine key (JWT profile grant), once or kept fresh")
      .option("--key", token_args.key_file, "the device's machine key: the JSON key Zitadel showed (0600)")
      .option("--issuer", token_args.source.issuer, "the identity provider (https; its discovery document names the token endpoint)")
      .option("--project", token_args.source.project, "the Zitadel project whose id is the callout's audience (callout.audience)")
      .option("--ca-file", token_args.source.ca_file, "the CA of the provider's certificate (default: the system's)")
      .option("--out", token_args.out, "the token file to write, 0600 (the agent's nats.token_file)")
      .flag("--watch", token_args.watch, "keep running: fetch again two thirds into each token's life, until SIGTERM or Ctrl-C")
      .action([](const harmony::CommandContext& c) { return token(c, token_args); });
  static ImagesArgs images_args;
  plugin.command("images", "build the fleet-agent and fleet-operator images from the installed programs, or build and push them")
      .positional("build|push", images_args.verb, "build: an image archive (and into docker or podman); push: to REGISTRY")
      .positional("registry", images_args.registry, "push: where the nodes pull from (HOST[:PORT][/PATH])", false)
      .option("--archive", images_args.options.output, "the image archive to write (default: fleet-agent-<version>.tar here)")
      .option("--builder", images_args.options.builder, "docker, podman, buildah or oci (default: the first that works)")
      .action([](const harmony::CommandContext& c) { return images(c, images_args); });
  return plugin.run(argc, argv);
}
