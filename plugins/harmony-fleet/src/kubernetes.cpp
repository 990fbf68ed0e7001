#include <harmony/fleet/kubernetes.hpp>

#include <algorithm>
#include <thread>

#include <nlohmann/json.hpp>

#include <harmony/agent/client.hpp>
#include <harmony/agent/protocol.hpp>
#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/paths.hpp>
#include <harmony/base/secrets.hpp>
#include <harmony/base/text.hpp>
#include <harmony/checks.hpp>
#include <harmony/fleet/config.hpp>

#include "internal.hpp"
#include "tls.hpp"
#include <harmony/fleet/stack.hpp>
#include <harmony/fleet/zitadel.hpp>
#include <harmony/kube/client.hpp>
#include <harmony/kube/kinds.hpp>

namespace harmony::fleet {

namespace {

using namespace std::chrono_literals;

const kube::Labels nats_labels{{"app.kubernetes.io/name", "nats"}, {"app.kubernetes.io/part-of", "harmony-fleet"}};

using detail::failed;

using detail::ensure_buckets;
using detail::for_component;

}  // namespace

std::vector<kube::Object> nats_objects(const NatsSettings& s, const std::string& system_password, const NatsTls& tls,
                                       const CalloutServer* callout) {
  const std::int32_t client = s.client_port.value;
  const std::int32_t monitor = s.monitor_port.value;
  const std::string config_text = render_nats_pod_config(s, system_password, callout);

  kube::Secret config{.metadata = {.name = nats_config_secret, .labels = nats_labels}, .data = {{"nats.conf", config_text}}};

  kube::Container nats{
      .name = "nats",
      .image = s.image,
      .command = {"/nats-server", "--config", "/etc/nats/nats.conf"},
      .ports = {{.name = "client", .port = client}, {.name = "monitor", .port = monitor}},
      .volume_mounts = {{.name = "config", .path = "/etc/nats", .read_only = true},
                        {.name = "accounts", .path = "/etc/nats-accounts", .read_only = true},
                        {.name = "data", .path = "/data"}},
      .readiness = kube::Probe{.http_path = "/healthz", .port = "monitor", .period_seconds = 2},
      .resources = {.cpu_request = "50m", .memory_request = "64Mi", .memory_limit = "512Mi"},
      .run_as_user = 65534};
  // Readable by nats-server (nobody) only: the configuration and the
  // accounts hold passwords.
  auto secret_volume = [](const char* name, const char* secret) {
    return kube::Volume{.name = name, .source = kube::Volume::Source::secret, .reference = secret, .default_mode = 0440};
  };
  kube::StatefulSet set{.metadata = {.name = nats_statefulset, .labels = nats_labels},
                        .replicas = 1,
                        .selector = nats_labels,
                        .service_name = nats_headless_service,
                        // A changed configuration restarts the server; changed
                        // accounts do not (they are reloaded).
                        .template_ = {.annotations = {{"harmony.io/config", base::fingerprint(config_text + tls.cert)}},
                                      .containers = {nats},
                                      .volumes = {secret_volume("config", nats_config_secret),
                                                  secret_volume("accounts", nats_accounts_secret)},
                                      .fs_group = 65534,
                                      .run_as_user = 65534,
                                      .run_as_group = 65534,
                                      .termination_grace_period_seconds = 30}};
  std::vector<kube::Object> extra;
  if (s.tls) {
    set.template_.containers.front().volume_mounts.push_back({.name = "tls", .path = "/etc/nats-tls", .read_only = true});
    set.template_.volumes.push_back(secret_volume("tls", nats_tls_secret));
    extra.push_back(kube::to_object(kube::Secret{.metadata = {.name = nats_tls_secret, .labels = nats_labels},
                                                 .type = "kubernetes.io/tls",
                                                 .data = {{"tls.crt", tls.cert}, {"tls.key", tls.key}}}));
    extra.push_back(kube::to_object(
        kube::ConfigMap{.metadata = {.name = nats_ca_config_map, .labels = nats_labels}, .data = {{"ca.crt", tls.ca_cert}}}));
  }
  if (s.storage == NatsStorage::pvc)
    set.volume_claims.push_back({.name = "data", .storage_class = s.storage_class, .size = s.storage_size});
  else
    set.template_.volumes.push_back({.name = "data", .source = kube::Volume::Source::empty_dir});

  kube::Service headless{.metadata = {.name = nats_headless_service, .labels = nats_labels},
                         .headless = true,
                         .selector = nats_labels,
                         .ports = {{.name = "client", .port = client, .target_port = "client"}},
                         .publish_not_ready_addresses = true};
  kube::Service inside{.metadata = {.name = nats_service, .labels = nats_labels},
                       .selector = nats_labels,
                       .ports = {{.name = "client", .port = client, .target_port = "client"}}};
  kube::ServicePort external{.name = "client", .port = client, .target_port = "client"};
  if (s.node_port.value != 0) external.node_port = s.node_port.value;
  kube::Service outside{
      .metadata = {.name = nats_external_service, .labels = nats_labels}, .type = "NodePort", .selector = nats_labels, .ports = {external}};
  std::vector<kube::Object> out{kube::to_object(config)};
  out.insert(out.end(), extra.begin(), extra.end());
  for (auto o : {kube::to_object(headless), kube::to_object(inside), kube::to_object(set), kube::to_object(outside)})
    out.push_back(std::move(o));
  return out;
}

std::string nats_chart_values(const NatsSettings& s) {
  using nlohmann::json;
  json pvc = {{"enabled", s.storage == NatsStorage::pvc}, {"size", s.storage_size}};
  if (!s.storage_class.empty()) pvc["storageClassName"] = s.storage_class;
  json nats_port = {{"enabled", true}};
  if (s.node_port.value != 0) nats_port["nodePort"] = s.node_port.value;
  auto secret_volume = [](const char* name, const char* secret) {
    return json{{"op", "add"},
                {"path", "/spec/volumes/-"},
                {"value", {{"name", name}, {"secret", {{"secretName", secret}, {"defaultMode", 0440}}}}}};
  };
  auto mount = [](const char* name, const char* path) {
    return json{{"op", "add"}, {"path", "/volumeMounts/-"}, {"value", {{"name", name}, {"mountPath", path}, {"readOnly", true}}}};
  };
  json values = {
      {"fullnameOverride", nats_statefulset},
      {"config",
       {{"nats", {{"port", s.client_port.value}, {"tls", {{"enabled", s.tls}, {"secretName", nats_tls_secret}}}}},
        {"monitor", {{"port", s.monitor_port.value}}},
        {"jetstream", {{"enabled", true}, {"fileStore", {{"enabled", true}, {"dir", "/data"}, {"pvc", pvc}}}}},
        // The chart turns keys ending in $include into include directives,
        // relative to its config directory.
        {"merge",
         {{"00$include", "../nats-system/system.conf"}, {"authorization", {{"$include", "../nats-accounts/accounts.conf"}}}}}}},
      {"container",
       {{"image", {{"fullImageName", s.image}}},
        {"patch", json::array({mount("accounts", "/etc/nats-accounts"), mount("system", "/etc/nats-system")})}}},
      {"podTemplate",
       {{"patch", json::array({secret_volume("accounts", nats_accounts_secret), secret_volume("system", nats_system_secret)})}}},
      {"reloader", {{"enabled", false}}},
      {"natsBox", {{"enabled", false}}},
      {"service", {{"merge", {{"spec", {{"type", "NodePort"}}}}}, {"ports", {{"nats", nats_port}}}}}};
  return values.dump(2);
}

std::vector<kube::Object> nats_chart_companions(const NatsSettings& s, const std::string& system_password, const NatsTls& tls) {
  const std::string system = "accounts {\n  SYS {\n    users = [ { user: \"" + std::string(system_user) + "\", password: \"" +
                             system_password + "\" } ]\n  }\n}\nsystem_account: SYS\n";
  std::vector<kube::Object> out{kube::to_object(
      kube::Secret{.metadata = {.name = nats_system_secret, .labels = nats_labels}, .data = {{"system.conf", system}}})};
  if (s.tls) {
    out.push_back(kube::to_object(kube::Secret{.metadata = {.name = nats_tls_secret, .labels = nats_labels},
                                               .type = "kubernetes.io/tls",
                                               .data = {{"tls.crt", tls.cert}, {"tls.key", tls.key}}}));
    out.push_back(kube::to_object(
        kube::ConfigMap{.metadata = {.name = nats_ca_config_map, .labels = nats_labels}, .data = {{"ca.crt", tls.ca_cert}}}));
  }
  return out;
}

kube::Object nats_accounts_object(const std::string& accounts) {
  // Both components apply it (nats, and agent when the agents change): it
  // names its component itself so that both apply the same object.
  kube::Labels labels = nats_labels;
  labels["harmony.dev/component"] = std::string(nats_component);
  return kube::to_object(
      kube::Secret{.metadata = {.name = nats_accounts_secret, .labels = labels}, .data = {{"accounts.conf", accounts}}});
}

std::vector<kube::Object> agent_objects(const AgentSettings& s, const std::string& id, const std::string& password,
                                        const std::string& nats_url, const std::string& ca_cert, const std::string& token) {
  const std::string name = agent_name_prefix + id;
  kube::Labels labels{{"app.kubernetes.io/name", "fleet-agent"},
                      {"app.kubernetes.io/part-of", "harmony-fleet"},
                      {"harmony.io/device-id", id}};
  const AgentLogin login = token.empty() ? AgentLogin{agent_pod_password, {}} : AgentLogin{{}, agent_pod_token};
  const std::string config_text =
      render_agent_config(s, id, nats_url, login, ca_cert.empty() ? "" : agent_pod_ca, "/var/lib/fleet-agent/workloads");
  kube::Secret secret{.metadata = {.name = name, .labels = labels},
                      .data = {token.empty() ? std::pair<std::string, std::string>{"password", password}
                                             : std::pair<std::string, std::string>{"token", token}}};
  kube::ConfigMap config{.metadata = {.name = name, .labels = labels}, .data = {{"agent.yaml", config_text}}};
  kube::Labels pod_labels = s.labels_of(id);
  pod_labels.insert(labels.begin(), labels.end());
  kube::Container agent{
      .name = "fleet-agent",
      .image = s.image,
      .args = {"--config", agent_pod_config},
      .volume_mounts = {{.name = "config", .path = "/etc/fleet-agent", .read_only = true},
                        {.name = "password", .path = "/run/secrets/fleet-agent", .read_only = true},
                        {.name = "tmp", .path = "/tmp"},
                        // The workloads' records and logs: they last as long as the pod.
                        {.name = "workloads", .path = "/var/lib/fleet-agent"}},
      .resources = {.cpu_request = "10m", .memory_request = "16Mi", .memory_limit = s.memory_limit},
      .run_as_user = 65534};
  kube::Deployment deployment{
      .metadata = {.name = name, .labels = labels},
      .replicas = 1,
      .selector = labels,
      // A new password or configuration replaces the pod: the kubelet would
      // update the mounted files only later, and fleet-agent reads them once.
      .template_ = {.labels = pod_labels,
                    .annotations = {{"harmony.io/config", base::fingerprint(config_text + (token.empty() ? password : "") + ca_cert)}},
                    .containers = {agent},
                    .volumes = {{.name = "config", .source = kube::Volume::Source::config_map, .reference = name},
                                {.name = "password",
                                 .source = kube::Volume::Source::secret,
                                 .reference = name,
                                 .default_mode = 0440},
                                {.name = "tmp", .source = kube::Volume::Source::empty_dir, .size_limit = "16Mi"},
                                {.name = "workloads", .source = kube::Volume::Source::empty_dir, .size_limit = "64Mi"}},
                    .fs_group = 65534,
                    .run_as_user = 65534,
                    .run_as_group = 65534,
                    .image_pull_secrets = s.image_pull_secrets,
                    .termination_grace_period_seconds = 10},
      .strategy = "Recreate"};
  if (!ca_cert.empty()) {
    deployment.template_.containers.front().volume_mounts.push_back({.name = "ca", .path = "/etc/fleet-agent/ca", .read_only = true});
    deployment.template_.volumes.push_back({.name = "ca", .source = kube::Volume::Source::config_map, .reference = nats_ca_config_map});
  }
  return {kube::to_object(secret), kube::to_object(config), kube::to_object(deployment)};
}

std::vector<kube::Object> callout_objects(const CalloutSettings& s, const NatsSettings& nats, const std::string& nats_url,
                                          const CalloutSecrets& secrets) {
  const kube::Labels labels{{"app.kubernetes.io/name", callout_name}, {"app.kubernetes.io/part-of", "harmony-fleet"}};
  const std::string dir = "/run/secrets/fleet-callout";
  kube::Secret secret{.metadata = {.name = callout_name, .labels = labels},
                      .data = {{"nats.password", secrets.password},
                               {"issuer.seed", secrets.issuer_seed},
                               {"xkey.seed", secrets.xkey_seed}}};
  if (!secrets.oidc_ca.empty()) secret.data.emplace("oidc-ca.crt", secrets.oidc_ca);
  // The callout reads agent-<id>.password files only, at each login.
  if (s.admit_passwords)
    for (const auto& [id, password] : secrets.agent_passwords) secret.data.emplace(agent_password_file(id), password);
  const std::vector<std::string> args = callout_arguments(
      s, nats_url,
      {dir + "/nats.password", dir + "/issuer.seed", dir + "/xkey.seed", secrets.oidc_ca.empty() ? "" : dir + "/oidc-ca.crt", dir});
  kube::Container callout{.name = "fleet-callout",
                          .image = s.image,
                          .args = args,
                          .volume_mounts = {{.name = "secrets", .path = dir, .read_only = true}},
                          .resources = {.cpu_request = "10m", .memory_request = "16Mi", .memory_limit = "64Mi"},
                          .run_as_user = 65534};
  kube::Deployment deployment{
      .metadata = {.name = callout_name, .labels = labels},
      .replicas = 1,
      .selector = labels,
      // New keys or settings restart it: it reads its keys once.
      .template_ = {.labels = labels,
                    .annotations = {{"harmony.io/config", base::fingerprint(base::join(args, "\n") + secrets.password +
                                                                                secrets.issuer_seed + secrets.xkey_seed + secrets.oidc_ca)}},
                    .containers = {callout},
                    .volumes = {{.name = "secrets", .source = kube::Volume::Source::secret, .reference = callout_name, .default_mode = 0440}},
                    .fs_group = 65534,
                    .run_as_user = 65534,
                    .run_as_group = 65534,
                    .termination_grace_period_seconds = 10}};
  if (nats.tls) {
    deployment.template_.containers.front().args.insert(deployment.template_.containers.front().args.end(),
                                                        {"--nats-ca-file", "/etc/fleet-callout/nats-ca/ca.crt"});
    deployment.template_.containers.front().volume_mounts.push_back({.name = "nats-ca", .path = "/etc/fleet-callout/nats-ca", .read_only = true});
    deployment.template_.volumes.push_back({.name = "nats-ca", .source = kube::Volume::Source::config_map, .reference = nats_ca_config_map});
  }
  return {kube::to_object(secret), kube::to_object(deployment)};
}

std::vector<std::string> deployed_agent_ids(const std::optional<ComponentRecord>& record) {
  if (!record) return {};
  auto node = settings::Node::from_json(record->settings_json);
  AgentSettings s;
  if (!node || !settings::load(*node, agent_component, s).empty()) return {};
  return s.device_ids();
}

namespace {

// The NodePort NATS is reached on: the setting, or the one Kubernetes chose.
base::expected<std::uint16_t> node_port_of(const NatsSettings& s, KubernetesCluster& cluster, RunContext& ctx) {
  if (s.node_port.value != 0) return s.node_port.value;
  auto c = cluster.client(ctx);
  if (!c) return base::fail(c.error());
  // The chart has one Service, of type NodePort; the manifests two.
  const char* name = s.deploy_with == NatsDeployWith::chart ? nats_service : nats_external_service;
  auto service = (*c)->get({"v1", "Service", cluster.namespace_name(), name});
  if (!service) return base::fail(service.error());
  for (const auto& port : service->items_at("/spec/ports"))
    if (auto n = port.int_at("/nodePort")) return static_cast<std::uint16_t>(*n);
  return base::fail(failed(base::exit_status::not_ready, "Service " + std::string(name) + " has no node port",
                           "Kubernetes has not assigned one",
                           "look at: kubectl get service " + std::string(name) + " -n " + cluster.namespace_name()));
}

// The names NATS's certificate is for: its Service, as agents in the
// cluster name it, and loopback (a port-forward). harmony itself connects to
// a node's address and verifies the certificate against the CA alone.
std::vector<std::string> certificate_names(KubernetesCluster& cluster) {
  const std::string svc = std::string(nats_service);
  const std::string ns = cluster.namespace_name();
  return {svc + "." + ns + ".svc", svc, svc + "." + ns, svc + "." + ns + ".svc.cluster.local", "localhost", "127.0.0.1"};
}

// The fleet's CA (made once) and the server certificate it signed for
// today's names, both kept with NATS's credentials. `ctx` is the NATS
// component's.
base::expected<NatsTls> nats_tls(const NatsSettings& s, KubernetesCluster& cluster, RunContext& ctx) {
  if (!s.tls) return NatsTls{};
  auto ca_text = cluster.ensure_secret(ctx, "tls-ca.json", [] {
    auto ca = make_ca("harmony fleet NATS CA");
    if (!ca) throw ca.error();
    return ca->to_json();
  });
  if (!ca_text) return base::fail(ca_text.error());
  auto ca = KeyPair::from_json(*ca_text);
  if (!ca) return base::fail(ca.error());
  const auto names = certificate_names(cluster);
  auto server_text = cluster.ensure_secret(ctx, "tls-server-" + base::fingerprint(base::join(names, ",")) + ".json", [&] {
    auto server = issue_server_certificate(*ca, names);
    if (!server) throw server.error();
    return server->to_json();
  });
  if (!server_text) return base::fail(server_text.error());
  auto server = KeyPair::from_json(*server_text);
  if (!server) return base::fail(server.error());
  return NatsTls{ca->cert, server->cert, server->key};
}

base::expected<agent::Connection> connection_as(const NatsSettings& s, KubernetesCluster& cluster, RunContext& ctx,
                                               std::string user, std::string password) {
  auto tls = nats_tls(s, cluster, ctx);
  if (!tls) return base::fail(tls.error());
  agent::Connection c{{}, std::move(user), std::move(password), "the fleet's NATS on " + ctx.topology};
  if (s.reach == NatsReach::port_forward) {
    // Through the API server, authenticated as harmony is, to NATS's pod.
    auto api = cluster.client(ctx);
    if (!api) return base::fail(api.error());
    const auto& config = (*api)->config();
    c.tunnel = agent::Connection::Tunnel{base::join(config.files, ":"), config.context, cluster.namespace_name(),
                                         std::string(nats_statefulset) + "-0", s.client_port.value};
  } else {
    auto port = node_port_of(s, cluster, ctx);
    if (!port) return base::fail(port.error());
    auto endpoint = cluster.node_endpoint(ctx, *port);
    if (!endpoint) return base::fail(endpoint.error());
    c.servers = {(s.tls ? "tls://" : "nats://") + endpoint->str()};
  }
  c.ca_pem = tls->ca_cert;
  // Reached through a node's address; the certificate is for the Service.
  if (s.tls) c.server_name = certificate_names(cluster).front();
  return c;
}

std::string where(const agent::Connection& c) {
  if (c.tunnel) return "pod " + c.tunnel->namespace_ + "/" + c.tunnel->pod + " (a port-forward)";
  return c.servers.empty() ? std::string("?") : c.servers.front();
}

// One login per run of the plugin for each set of credentials: the NATS
// component, its smoke test and the agents' smoke test all log in as the
// operator, and a TLS login costs more than the rest of a redeploy that
// changes nothing. A login that is no longer connected is made again.
std::string login_key(const agent::Connection& c) {
  std::string key = base::join(c.servers, ",") + '\n' + c.user + '\n' + c.password + '\n' + c.ca_pem + '\n' + c.server_name;
  if (c.tunnel) key += '\n' + c.tunnel->kubeconfig + '\n' + c.tunnel->context + '\n' + c.tunnel->namespace_ + '\n' + c.tunnel->pod;
  return key;
}

base::expected<std::shared_ptr<agent::Client>> connect_when_up(RunContext& ctx, const agent::Connection& connection,
                                                               std::string_view who) {
  // Never destroyed: closing connections (and their port-forward threads)
  // while the process exits, in whatever order static destructors run, buys
  // nothing; exit closes the sockets.
  static auto& logins = *new std::map<std::string, std::shared_ptr<agent::Client>>;
  const std::string key = login_key(connection);
  if (auto known = logins.find(key); known != logins.end()) {
    if (known->second->connected()) return known->second;
    logins.erase(known);
  }
  base::expected<agent::Client> client = base::fail(base::make_error("not connected"));
  if (auto up = checks::wait_until(ctx, std::string(who) + " login to NATS at " + where(connection),
                                   [&]() -> base::expected<void> {
                                     client = agent::Client::connect(connection, 2s);
                                     if (!client) return base::fail(client.error());
                                     return {};
                                   });
      !up)
    return base::fail(up.error());
  auto shared = std::make_shared<agent::Client>(std::move(*client));
  logins[key] = shared;
  return shared;
}

struct Users {
  std::vector<NatsUser> users;
  std::string operator_password;
  // nats.auth=callout: the agents' passwords, which are not NATS users then.
  std::vector<std::pair<std::string, std::string>> agent_passwords;
};

// The operator and one user per agent id, passwords made once and kept in
// the NATS component's credentials (as the local topology keeps them).
base::expected<Users> fleet_users(KubernetesCluster& cluster, RunContext& nats_ctx, const std::vector<std::string>& ids,
                                  NatsAuth auth) {
  Users out;
  if (auth == NatsAuth::callout) {
    // The agents come through the callout; the callout itself is NATS's.
    auto callout = cluster.ensure_secret(nats_ctx, callout_password_file, generate_password);
    if (!callout) return base::fail(callout.error());
    out.users.push_back({std::string(callout_user), *callout, "", false, true});
  }
  auto op = cluster.ensure_secret(nats_ctx, operator_password_file, generate_password);
  if (!op) return base::fail(op.error());
  out.operator_password = *op;
  out.users.push_back({std::string(operator_user), *op, ""});
  auto controller = cluster.ensure_secret(nats_ctx, controller_password_file, generate_password);
  if (!controller) return base::fail(controller.error());
  out.users.push_back({std::string(controller_user), *controller, "", true});
  for (const auto& id : ids) {
    // Made under the callout too: the callout admits them while a fleet
    // migrates, and going back to passwords finds them.
    auto password = cluster.ensure_secret(nats_ctx, agent_password_file(id), generate_password);
    if (!password) return base::fail(password.error());
    if (auth == NatsAuth::callout) {
      out.agent_passwords.emplace_back(id, *password);
      continue;
    }
    out.users.push_back({agent_user(id), *password, id});
  }
  return out;
}

// What the accounts Secret holds now, or "" when it does not exist.
base::expected<std::string> live_accounts(KubernetesCluster& cluster, RunContext& ctx) {
  auto c = cluster.client(ctx);
  if (!c) return base::fail(c.error());
  auto found = (*c)->find({"v1", "Secret", cluster.namespace_name(), nats_accounts_secret});
  if (!found) return base::fail(found.error());
  if (!*found) return std::string();
  return base::base64_decode((*found)->string_at("/data/accounts.conf").value_or("")).value_or("");
}

// Makes the running server take new accounts without a restart. The kubelet
// refreshes a mounted Secret only at its next sync of the pod (a minute or
// more); a change to the pod's annotations is such a sync. Then the system
// user asks the server to reload, until the users that were added can log
// in and those removed cannot.
base::expected<void> reload_accounts(const NatsSettings& s, KubernetesCluster& cluster, RunContext& ctx,
                                     const std::string& accounts, const std::vector<NatsUser>& added,
                                     const std::vector<NatsUser>& removed) {
  auto c = cluster.client(ctx);
  if (!c) return base::fail(c.error());
  kube::Client& api = **c;
  kube::ListOptions by;
  by.label_selector = "app.kubernetes.io/name=nats";  // the manifests' pods and the chart's
  auto pods = api.list("v1", "Pod", cluster.namespace_name(), by);
  if (!pods) return base::fail(pods.error());
  for (const auto& pod : pods->items) {
    nlohmann::json touch = {{"apiVersion", "v1"},
                            {"kind", "Pod"},
                            {"metadata",
                             {{"name", pod.name()},
                              {"namespace", pod.namespace_()},
                              {"annotations", {{"harmony.io/accounts", base::fingerprint(accounts)}}}}}};
    auto object = kube::Object::parse(touch.dump());
    if (!object) return base::fail(object.error());
    // A pod that went away meanwhile reads the new accounts when it starts.
    if (auto applied = api.apply(*object, {.field_manager = "harmony-fleet-reload", .force_conflicts = true});
        !applied && applied.error().status != base::exit_status::object_not_found)
      return base::fail(applied.error());
  }
  auto sys_password = cluster.ensure_secret(ctx, system_password_file, generate_password);
  if (!sys_password) return base::fail(sys_password.error());
  auto system = connection_as(s, cluster, ctx, std::string(system_user), *sys_password);
  if (!system) return base::fail(system.error());
  auto client = connect_when_up(ctx, *system, "a system user");
  if (!client) return base::fail(client.error());
  // 1: logged in, 0: refused as a user, -1: neither (NATS not reached).
  auto login = [&](const NatsUser& u) {
    agent::Connection as = *system;
    as.user = u.name;
    as.password = u.password;
    auto tried = agent::Client::connect(as, 2s);
    if (tried) return 1;
    return tried.error().status == base::exit_status::failure ? 0 : -1;
  };
  return checks::wait_until(
      ctx, "NATS to take the new accounts (the kubelet updates the mounted Secret, then the server reloads)",
      [&]() -> base::expected<void> {
        auto ping = (*client)->request_subject("$SYS.REQ.SERVER.PING", "", 2s);
        if (!ping) return base::fail(ping.error());
        const auto reply = nlohmann::json::parse(*ping, nullptr, false);
        const std::string id = reply.is_object() && reply.contains("server") && reply["server"].is_object()
                                   ? reply["server"].value("id", "")
                                   : "";
        if (id.empty()) return base::fail(base::make_error("the server did not say its id"));
        auto reloaded = (*client)->request_subject("$SYS.REQ.SERVER." + id + ".RELOAD", "", 5s);
        if (!reloaded) return base::fail(reloaded.error());
        for (const auto& u : added)
          if (login(u) != 1) return base::fail(base::make_error("user " + u.name + " cannot log in yet"));
        for (const auto& u : removed)
          if (login(u) != 0) return base::fail(base::make_error("user " + u.name + " is not refused yet"));
        return {};
      },
      {250ms, {}});
}

// Applies the accounts Secret as the deploying component's (nats or agent:
// both record it, so it stays while either is deployed) and, when it changed
// under a running server, has the server reload it. `nats_ctx` holds the
// credentials.
Outcome apply_accounts(const NatsSettings& s, KubernetesCluster& cluster, RunContext& ctx, RunContext& nats_ctx,
                       const Users& users, const std::vector<std::string>& previous_ids) {
  const std::string accounts = render_accounts(users.users);
  auto before = live_accounts(cluster, nats_ctx);
  if (!before) return Outcome::failure(before.error());
  Outcome applied = cluster.apply(ctx, {nats_accounts_object(accounts)});
  if (applied.failed() || nats_ctx.dry_run() || before->empty() || *before == accounts) return applied;
  std::vector<NatsUser> added, removed;
  for (const auto& u : users.users)
    if (!u.device_id.empty() && std::find(previous_ids.begin(), previous_ids.end(), u.device_id) == previous_ids.end())
      added.push_back(u);
  for (const auto& id : previous_ids)
    if (std::none_of(users.users.begin(), users.users.end(), [&](const NatsUser& u) { return u.device_id == id; })) {
      auto password = cluster.ensure_secret(nats_ctx, agent_password_file(id), generate_password);
      if (!password) return Outcome::failure(password.error());
      removed.push_back({agent_user(id), *password, id});
    }
  // No server running (not deployed yet, or scaled away): it reads them at start.
  auto c = cluster.client(nats_ctx);
  if (!c) return Outcome::failure(c.error());
  auto set = (*c)->find({"apps/v1", "StatefulSet", cluster.namespace_name(), nats_statefulset});
  if (!set) return Outcome::failure(set.error());
  if (!*set) return applied;
  if (auto reloaded = reload_accounts(s, cluster, nats_ctx, accounts, added, removed); !reloaded)
    return Outcome::failure(reloaded.error());
  return Outcome::success("NATS reloaded its accounts (" + std::to_string(added.size()) + " added, " +
                          std::to_string(removed.size()) + " removed)");
}

// The connection file `harmony agent` reads by default, and one for this
// topology, namespace and cluster: the NodePort address, the operator, and
// a 0600 copy of its password next to it.
base::expected<std::string> write_connection(const agent::Connection& operator_login, std::uint16_t client_port,
                                             KubernetesCluster& cluster, RunContext& ctx, bool also_default) {
  auto state = base::xdg_home(base::XdgDir::state);
  auto default_file = agent::default_connection_file();
  if (!state || !default_file) return std::string();  // no home: nothing to write, nothing lost
  auto c = cluster.client(ctx);
  if (!c) return base::fail(c.error());
  const std::string dir = *state + "/harmony/fleet/" + ctx.topology + "/" +
                          base::fingerprint((*c)->config().cluster.server).substr(0, 8) + "-" + cluster.namespace_name();
  if (auto made = base::make_directories(dir, 0700); !made) return base::fail(made.error());
  const std::string password_file = dir + "/" + std::string(operator_password_file);
  if (auto written = base::write_file_atomically(password_file, operator_login.password + "\n", 0600); !written)
    return base::fail(written.error());
  std::string ca_file;
  if (!operator_login.ca_pem.empty()) {
    ca_file = dir + "/ca.crt";
    if (auto written = base::write_file_atomically(ca_file, operator_login.ca_pem, 0644); !written) return base::fail(written.error());
  }
  // Always the way through the API server too: from a machine that cannot
  // reach the NodePort, harmony agent falls back to it.
  auto tunnel = operator_login.tunnel;
  if (!tunnel && !(*c)->config().files.empty())
    tunnel = agent::Connection::Tunnel{base::join((*c)->config().files, ":"), (*c)->config().context, cluster.namespace_name(),
                                       std::string(nats_statefulset) + "-0", client_port};
  std::vector<std::string> files{dir + "/" + std::string(connection_file)};
  if (also_default) files.push_back(*default_file);
  for (const auto& file : files)
    if (auto written = agent::write_connection_file(file, operator_login.servers, operator_login.user, password_file, ca_file,
                                                    operator_login.server_name, tunnel);
        !written)
      return base::fail(written.error());
  return dir + "/" + std::string(connection_file);
}

}  // namespace

base::expected<agent::Connection> operator_connection_on_kubernetes(const NatsSettings& s, KubernetesCluster& cluster,
                                                                   RunContext& ctx) {
  auto password = cluster.ensure_secret(ctx, operator_password_file, generate_password);
  if (!password) return base::fail(password.error());
  return connection_as(s, cluster, ctx, std::string(operator_user), *password);
}

Outcome deploy_nats_on_kubernetes(const NatsSettings& s, const std::vector<std::string>& agent_ids, KubernetesCluster& cluster,
                                  RunContext& ctx, HelmReleaser* helm) {
  std::optional<CalloutServer> callout;
  if (s.auth == NatsAuth::callout) {
    if (s.deploy_with == NatsDeployWith::chart)
      return Outcome::failure(failed(base::exit_status::unsupported, "nats.auth=callout with nats.deploy_with=chart is not supported",
                                     "harmony writes NATS's auth_callout block into its own manifests only",
                                     "use nats.deploy_with=manifests (the default)"));
    auto keys = detail::callout_keys(
        [&](std::string_view name, const std::function<std::string()>& make) { return cluster.ensure_secret(ctx, name, make); });
    if (!keys) return Outcome::failure(keys.error());
    callout = CalloutServer{keys->issuer, keys->xkey};
  }
  auto users = fleet_users(cluster, ctx, agent_ids, s.auth);
  if (!users) return Outcome::failure(users.error());
  auto system_password = cluster.ensure_secret(ctx, system_password_file, generate_password);
  if (!system_password) return Outcome::failure(system_password.error());
  // The accounts first: the server reads them when it starts.
  Outcome accounts = apply_accounts(s, cluster, ctx, ctx, *users, callout ? std::vector<std::string>{} : agent_ids);
  if (accounts.failed()) return accounts;
  auto tls = nats_tls(s, cluster, ctx);
  if (!tls) return Outcome::failure(tls.error());
  Outcome applied = Outcome::no_change("");
  if (s.deploy_with == NatsDeployWith::chart) {
    if (helm == nullptr)
      return Outcome::failure(failed(base::exit_status::unsupported, "nats.deploy_with=chart needs Helm",
                                     "topology '" + ctx.topology + "' installs no Helm charts", "use nats.deploy_with=manifests"));
    Outcome companions = cluster.apply(ctx, nats_chart_companions(s, *system_password, *tls));
    if (companions.failed()) return companions;
    applied = helm->install_chart(ctx, detail::chart_release(nats_statefulset, s.chart, s.chart_repository, s.chart_version,
                                                             nats_chart_values(s)));
    if (!applied.failed() && companions.changed() && !applied.changed()) applied = companions;
  } else {
    applied = cluster.apply(ctx, nats_objects(s, *system_password, *tls, callout ? &*callout : nullptr));
  }
  if (applied.failed() && applied.error && applied.error->reason.find("already allocated") != std::string::npos)
    applied.error->hint += ": --set nats.node_port=<another>, or 0";
  if (applied.failed() || ctx.dry_run()) return applied;

  // The KV bucket needs the server: through the NodePort, once kube-proxy
  // has it.
  auto connection = connection_as(s, cluster, ctx, std::string(operator_user), users->operator_password);
  if (!connection) return Outcome::failure(connection.error());
  auto client = connect_when_up(ctx, *connection, "an operator");
  if (!client) return Outcome::failure(client.error());
  auto created = ensure_buckets(**client);
  if (!created) return Outcome::failure(created.error());
  auto file = write_connection(*connection, s.client_port.value, cluster, ctx, true);
  if (!file) return Outcome::failure(file.error());

  std::vector<std::string> parts;
  for (const Outcome* o : {&accounts, &applied})
    if (o->changed()) parts.push_back(o->message);
  if (!created->empty()) parts.push_back("created the KV buckets " + base::join(*created, ", "));
  Outcome out = parts.empty() ? Outcome::no_change(applied.message) : Outcome::success(base::join(parts, "; "));
  out.detail("summary", "NATS in namespace " + cluster.namespace_name() + ", reached at " + where(*connection) +
                            (file->empty() ? "" : "; connection file: " + *file + " (harmony agent uses it)"));
  return out;
}

Outcome deploy_callout_on_kubernetes(const CalloutSettings& given, const std::optional<ComponentRecord>& nats_record,
                                     const std::optional<ComponentRecord>& agents,
                                     const std::optional<ComponentRecord>& zitadel_record, KubernetesCluster& cluster,
                                     RunContext& ctx) {
  auto nats = deployed_nats(nats_record);
  if (!nats) return Outcome::failure(nats.error());
  // No issuer named: Zitadel's, if harmony deployed it here.
  CalloutSettings s = given;
  if (s.issuer_url.empty() && nats->auth == NatsAuth::callout) {
    auto zitadel = deployed_zitadel(zitadel_record, cluster, ctx, s.audience.empty());
    if (!zitadel) return Outcome::failure(zitadel.error());
    if (*zitadel) {
      s.issuer_url = (*zitadel)->issuer_url;
      if (s.audience.empty()) s.audience = (*zitadel)->project_id;
      if (s.issuer_fetch_url.empty()) s.issuer_fetch_url = (*zitadel)->fetch_url;
    }
    if (*zitadel)
      if (auto problems = s.check(); !problems.empty())
        return Outcome::failure(failed(base::exit_status::invalid_settings, "the callout cannot trust the Zitadel deployed here",
                                       "callout." + problems.front().key + ": " + problems.front().message,
                                       "deploy Zitadel again (harmony deploy fleet zitadel), or name an issuer: callout.issuer_url"));
  }
  if (auto stop = detail::callout_not_deployed(s, *nats)) return *stop;
  if (ctx.dry_run()) {
    // What it would apply, with placeholders for the keys nats keeps.
    return cluster.apply(ctx, callout_objects(s, *nats, "", {}));
  }
  RunContext nats_ctx = for_component(ctx, nats_component);
  auto ensure = [&](std::string_view name, const std::function<std::string()>& make) { return cluster.ensure_secret(nats_ctx, name, make); };
  CalloutSecrets secrets;
  for (auto [name, into] : {std::pair{callout_password_file, &secrets.password}, std::pair{callout_issuer_seed_file, &secrets.issuer_seed},
                            std::pair{callout_xkey_seed_file, &secrets.xkey_seed}}) {
    auto value = ensure(name, [] { return std::string(); });
    if (!value || value->empty())
      return Outcome::failure(failed(base::exit_status::deploy_failed, "the auth callout's keys are missing",
                                     "NATS's credentials lack " + std::string(name) + "; the deploy of nats makes them",
                                     "deploy it again: harmony deploy fleet nats callout"));
    *into = *value;
  }
  if (!s.ca_file.empty()) {
    auto ca = base::read_file(s.ca_file, 1 << 20);
    if (!ca)
      return Outcome::failure(failed(base::exit_status::invalid_settings, "cannot read callout.ca_file", ca.error().message,
                                     "name the PEM file of the identity provider's CA"));
    secrets.oidc_ca = *ca;
  }
  if (s.admit_passwords)
    for (const auto& id : deployed_agent_ids(agents)) {
      auto password = ensure(agent_password_file(id), generate_password);
      if (!password) return Outcome::failure(password.error());
      secrets.agent_passwords.emplace_back(id, *password);
    }
  const std::string url = (nats->tls ? "tls://" : "nats://") + std::string(nats_service) + "." + cluster.namespace_name() +
                          ".svc:" + std::to_string(nats->client_port.value);
  Outcome applied = cluster.apply(ctx, callout_objects(s, *nats, url, secrets));
  if (applied.failed()) return applied;
  detail::describe_callout(applied, s);
  return applied;
}

base::expected<void> check_callout_on_kubernetes(const CalloutSettings&, const std::optional<ComponentRecord>& nats_record,
                                                 KubernetesCluster& cluster, RunContext& ctx) {
  auto nats = deployed_nats(nats_record);
  if (!nats) return base::fail(nats.error());
  if (nats->auth != NatsAuth::callout) return {};
  auto c = cluster.client(ctx);
  if (!c) return base::fail(c.error());
  kube::Client& api = **c;
  RunContext nats_ctx = for_component(ctx, nats_component);
  auto made_up = operator_connection_on_kubernetes(*nats, cluster, nats_ctx);
  if (!made_up) return base::fail(made_up.error());
  made_up->user.clear();
  made_up->password.clear();
  made_up->token = "not-a-token";
  made_up->client_name = "harmony smoke test " + generate_password().substr(0, 12);
  const std::string refused = "refused '" + made_up->client_name + "'";
  // The callout's log, from its pods that are not going away.
  auto logged = [&]() -> base::expected<bool> {
    kube::ListOptions by;
    by.label_selector = std::string("app.kubernetes.io/name=") + callout_name;
    auto pods = api.list("v1", "Pod", cluster.namespace_name(), by);
    if (!pods) return base::fail(pods.error());
    bool seen = false;
    for (const auto& pod : pods->items) {
      if (pod.has("/metadata/deletionTimestamp")) continue;
      kube::PodLogOptions options;
      options.namespace_ = cluster.namespace_name();
      options.pod = pod.name();
      options.tail_lines = 200;
      options.timeout = std::chrono::seconds(5);
      (void)api.pod_log(options, [&](std::string_view line) {
                          if (line.find(refused) != std::string_view::npos) seen = true;
                          return !seen;
                        });
    }
    return seen;
  };
  return checks::wait_until(
      ctx, "the callout answers NATS's question about a login",
      [&]() -> base::expected<void> {
        if (agent::Client::connect(*made_up, 2s))
          return base::fail(failed(base::exit_status::smoke_test_failed, "NATS admitted a made-up token",
                                   "its auth_callout block is not in force", "deploy nats again: harmony deploy fleet nats"));
        auto seen = logged();
        if (!seen) return base::fail(seen.error());
        if (!*seen)
          return base::fail(failed(base::exit_status::smoke_test_failed, "the callout did not answer",
                                   "NATS refused the login, but the callout's log does not show the question",
                                   "harmony fleet logs callout"));
        return {};
      },
      {250ms, {}});
}

base::expected<KubeConnectInfo> connect_info_on_kubernetes(const NatsSettings& s, KubernetesCluster& cluster,
                                                           RunContext& ctx) {
  auto connection = operator_connection_on_kubernetes(s, cluster, ctx);
  if (!connection) return base::fail(connection.error());
  auto file = write_connection(*connection, s.client_port.value, cluster, ctx, false);
  if (!file) return base::fail(file.error());
  KubeConnectInfo info;
  info.in_cluster_url = (s.tls ? "tls://" : "nats://") + std::string(nats_service) + "." + cluster.namespace_name() + ".svc:" +
                        std::to_string(s.client_port.value);
  info.host_url = connection->servers.empty() ? std::string() : connection->servers.front();
  info.through_port_forward = connection->tunnel.has_value();
  info.user = connection->user;
  info.connection_file = *file;
  info.password_file = base::parent_dir(*file) + "/" + std::string(operator_password_file);
  if (s.tls) info.ca_file = base::parent_dir(*file) + "/ca.crt";
  info.secret = "harmony.fleet." + std::string(nats_component) + ".credentials";
  info.secret_key = std::string(operator_password_file);
  info.namespace_ = cluster.namespace_name();
  return info;
}

base::expected<void> check_nats_on_kubernetes(const NatsSettings& s, KubernetesCluster& cluster, RunContext& ctx) {
  auto connection = operator_connection_on_kubernetes(s, cluster, ctx);
  if (!connection) return base::fail(connection.error());
  auto client = connect_when_up(ctx, *connection, "an operator");
  if (!client) return base::fail(client.error());
  return {};
}

Outcome deploy_agents_on_kubernetes(const AgentSettings& s, const std::optional<ComponentRecord>& nats_record,
                                    const std::optional<ComponentRecord>& previous,
                                    const std::optional<ComponentRecord>& callout_record, KubernetesCluster& cluster,
                                    RunContext& ctx) {
  auto nats = deployed_nats(nats_record);
  if (!nats) return Outcome::failure(nats.error());
  const bool callout = nats->auth == NatsAuth::callout;
  std::string token_dir;
  if (callout) {
    auto dir = detail::agent_token_dir(s, callout_record);
    if (!dir) return Outcome::failure(dir.error());
    token_dir = *dir;
  }
  const std::vector<std::string> ids = s.device_ids();
  RunContext nats_ctx = for_component(ctx, nats_component);
  auto users = fleet_users(cluster, nats_ctx, ids, nats->auth);
  if (!users) return Outcome::failure(users.error());
  Outcome accounts =
      apply_accounts(*nats, cluster, ctx, nats_ctx, *users, callout ? std::vector<std::string>{} : deployed_agent_ids(previous));
  if (accounts.failed()) return accounts;

  // In the cluster, agents reach NATS through its ClusterIP Service.
  auto tls = nats_tls(*nats, cluster, nats_ctx);
  if (!tls) return Outcome::failure(tls.error());
  const std::string url = (nats->tls ? "tls://" : "nats://") + std::string(nats_service) + "." + cluster.namespace_name() +
                          ".svc:" + std::to_string(nats->client_port.value);
  std::vector<kube::Object> objects;
  for (const auto& u : users->users) {
    if (u.device_id.empty()) continue;  // the operator, the operator runtime, the callout
    for (auto& o : agent_objects(s, u.device_id, u.password, url, tls->ca_cert)) objects.push_back(std::move(o));
  }
  for (const auto& [id, password] : users->agent_passwords) {
    std::string token;
    if (!token_dir.empty()) {
      // Checked by agent_token_dir; read here for the agent's Secret.
      auto read = base::read_secret_file(base::join_path(token_dir, id + ".token"), "agent " + id + "'s token file");
      if (!read) return Outcome::failure(read.error());
      token = *read;
    }
    for (auto& o : agent_objects(s, id, password, url, tls->ca_cert, token)) objects.push_back(std::move(o));
  }
  Outcome applied = cluster.apply(ctx, objects);
  if (applied.failed() || ctx.dry_run()) return applied;
  const std::string n = std::to_string(ids.size()) + (ids.size() == 1 ? " agent" : " agents");
  Outcome out = applied;
  if (accounts.changed()) out = Outcome::success(applied.changed() ? applied.message + "; " + accounts.message : accounts.message);
  out.detail("summary", n + " (" + base::join(ids, ", ") + ") in namespace " + cluster.namespace_name() + ", on " + url);
  out.detail("next", "harmony agent list");
  out.detail("next", "harmony agent ping " + ids.front());
  if (!s.exec_allow.empty()) out.detail("next", "harmony agent exec " + ids.front() + " -- " + s.exec_allow.front());
  return out;
}

base::expected<void> check_agents_on_kubernetes(const AgentSettings& s, const std::optional<ComponentRecord>& nats_record,
                                                KubernetesCluster& cluster, RunContext& ctx) {
  auto nats = deployed_nats(nats_record);
  if (!nats) return base::fail(nats.error());
  RunContext nats_ctx = for_component(ctx, nats_component);
  auto connection = operator_connection_on_kubernetes(*nats, cluster, nats_ctx);
  if (!connection) return base::fail(connection.error());
  auto client = connect_when_up(ctx, *connection, "an operator");
  if (!client) return base::fail(client.error());
  for (const auto& id : s.device_ids()) {
    auto answered = checks::wait_until(ctx, "agent " + id + " answers a ping", [&]() -> base::expected<void> {
      auto pong = (*client)->ping(id, 1s);
      if (!pong) return base::fail(pong.error());
      return {};
    });
    if (!answered) return answered;
  }
  return {};
}

}  // namespace harmony::fleet
