#include <harmony/fleet/kubernetes.hpp>

#include <harmony/agent/client.hpp>
#include <harmony/agent/protocol.hpp>
#include <harmony/checks.hpp>
#include <harmony/fleet/config.hpp>
#include <harmony/kube/kinds.hpp>

namespace harmony::fleet {

std::vector<kube::Object> nats_objects(const NatsSettings& s, const std::string& accounts) {
  const kube::Labels app{{"app.kubernetes.io/name", "nats"}, {"app.kubernetes.io/part-of", "harmony-fleet"}};
  const std::int32_t client = s.client_port.value;
  const std::int32_t monitor = s.monitor_port.value;

  kube::Secret config{.metadata = {.name = nats_config_secret, .labels = app},
                      .data = {{"nats.conf", render_nats_pod_config(s)}, {"accounts.conf", accounts}}};

  kube::Container nats{
      .name = "nats",
      .image = s.image,
      .command = {"/nats-server", "--config", "/etc/nats/nats.conf"},
      .ports = {{.name = "client", .port = client}, {.name = "monitor", .port = monitor}},
      .volume_mounts = {{.name = "config", .path = "/etc/nats", .read_only = true}, {.name = "data", .path = "/data"}},
      .readiness = kube::Probe{.http_path = "/healthz", .port = "monitor", .period_seconds = 2},
      .resources = {.cpu_request = "50m", .memory_request = "64Mi", .memory_limit = "512Mi"},
      .run_as_user = 65534};
  kube::StatefulSet set{.metadata = {.name = nats_statefulset, .labels = app},
                        .replicas = 1,
                        .selector = app,
                        .service_name = nats_headless_service,
                        .template_ = {.containers = {nats},
                                      // Readable by nats-server (nobody) only: the accounts hold passwords.
                                      .volumes = {{.name = "config",
                                                   .source = kube::Volume::Source::secret,
                                                   .reference = nats_config_secret,
                                                   .default_mode = 0440}},
                                      .fs_group = 65534,
                                      .run_as_user = 65534,
                                      .run_as_group = 65534,
                                      .termination_grace_period_seconds = 30}};
  if (s.storage == NatsStorage::pvc)
    set.volume_claims.push_back({.name = "data", .storage_class = s.storage_class, .size = s.storage_size});
  else
    set.template_.volumes.push_back({.name = "data", .source = kube::Volume::Source::empty_dir});

  kube::Service headless{.metadata = {.name = nats_headless_service, .labels = app},
                         .headless = true,
                         .selector = app,
                         .ports = {{.name = "client", .port = client, .target_port = "client"}},
                         .publish_not_ready_addresses = true};
  kube::Service inside{.metadata = {.name = nats_service, .labels = app},
                       .selector = app,
                       .ports = {{.name = "client", .port = client, .target_port = "client"}}};
  kube::Service outside{.metadata = {.name = nats_external_service, .labels = app},
                        .type = "NodePort",
                        .selector = app,
                        .ports = {{.name = "client",
                                   .port = client,
                                   .target_port = "client",
                                   .node_port = static_cast<std::int32_t>(s.node_port.value)}}};
  return {kube::to_object(config), kube::to_object(headless), kube::to_object(inside), kube::to_object(set),
          kube::to_object(outside)};
}

namespace {

using namespace std::chrono_literals;

// The operator's password: made on the first deploy, kept in the cluster.
base::expected<std::string> operator_password(KubernetesCluster& cluster, RunContext& ctx) {
  return cluster.ensure_secret(ctx, operator_password_file, generate_password);
}

// The operator's connection through the NodePort, as harmony reaches it.
base::expected<agent::Connection> operator_connection(const NatsSettings& s, KubernetesCluster& cluster, RunContext& ctx,
                                                      const std::string& password) {
  auto endpoint = cluster.node_endpoint(ctx, s.node_port.value);
  if (!endpoint) return base::fail(endpoint.error());
  return agent::Connection{{"nats://" + endpoint->str()}, std::string(operator_user), password,
                           "the fleet's NATS on " + ctx.topology};
}

}  // namespace

Outcome deploy_nats_on_kubernetes(const NatsSettings& s, KubernetesCluster& cluster, RunContext& ctx) {
  auto password = operator_password(cluster, ctx);
  if (!password) return Outcome::failure(password.error());
  Outcome applied = cluster.apply(ctx, nats_objects(s, render_accounts({{std::string(operator_user), *password, ""}})));
  if (applied.failed() || ctx.dry_run()) return applied;

  // The KV bucket needs the server: through the NodePort, once kube-proxy
  // has it.
  auto connection = operator_connection(s, cluster, ctx, *password);
  if (!connection) return Outcome::failure(connection.error());
  base::expected<agent::Client> client = base::fail(base::make_error("not connected"));
  if (auto up = checks::wait_until(ctx, "NATS at " + connection->servers.front(), [&]() -> base::expected<void> {
        client = agent::Client::connect(*connection, 2s);
        if (!client) return base::fail(client.error());
        return {};
      });
      !up)
    return Outcome::failure(up.error());
  auto created = client->ensure_status_bucket();
  if (!created) return Outcome::failure(created.error());
  Outcome out = *created ? Outcome::success(applied.changed() ? applied.message + "; created the KV bucket" : "created the KV bucket")
                         : applied;
  out.detail("summary", "NATS in namespace " + cluster.namespace_name() + ", reached at " + connection->servers.front());
  return out;
}

base::expected<void> check_nats_on_kubernetes(const NatsSettings& s, KubernetesCluster& cluster, RunContext& ctx) {
  auto password = operator_password(cluster, ctx);
  if (!password) return base::fail(password.error());
  auto connection = operator_connection(s, cluster, ctx, *password);
  if (!connection) return base::fail(connection.error());
  return checks::wait_until(ctx, "an operator login to NATS at " + connection->servers.front(), [&]() -> base::expected<void> {
    auto client = agent::Client::connect(*connection, 2s);
    if (!client) return base::fail(client.error());
    return {};
  });
}

}  // namespace harmony::fleet
