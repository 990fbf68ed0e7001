// ZitadelScore on a Kubernetes topology: the master key's and the
// database's Secrets (generated once, kept with the component's
// credentials), Postgres when bundled, the pinned chart through helm, then
// the fleet's setup (zitadel.cpp) through a port-forward to a Zitadel pod.
//
// The setup does not go through the API server's service proxy: the proxy
// removes the Authorization header, which carries the admin's token. The
// port-forward is the kubelet's, through the API server (as kubectl
// port-forward), and the requests carry the instance's host as Host, as
// Zitadel tells its instances apart by it.

#include <harmony/fleet/zitadel.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include <harmony/agent/tunnel.hpp>
#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/paths.hpp>
#include <harmony/base/secrets.hpp>
#include <harmony/base/text.hpp>
#include <harmony/checks.hpp>
#include <harmony/fleet/config.hpp>
#include <harmony/kube/client.hpp>
#include <harmony/kube/kinds.hpp>
#include <harmony/kube/transport.hpp>
#include <harmony/settings.hpp>

#include "internal.hpp"

namespace harmony::fleet {
namespace {

using namespace std::chrono_literals;
using detail::failed;
using nlohmann::json;

const kube::Labels zitadel_labels{{"app.kubernetes.io/name", "zitadel"}, {"app.kubernetes.io/part-of", "harmony-fleet"}};
const kube::Labels database_labels{{"app.kubernetes.io/name", std::string(zitadel_database_name)},
                                   {"app.kubernetes.io/part-of", "harmony-fleet"}};

// The Host of the instance: what a browser sends for the issuer URL.
std::string instance_host(const ZitadelSettings& s) {
  const bool default_port = s.external_port.value == (s.external_secure ? 443 : 80);
  return s.external_domain + (default_port ? "" : ":" + std::to_string(s.external_port.value));
}

std::string fetch_url(KubernetesCluster& cluster) {
  return "http://" + std::string(zitadel_release) + "." + cluster.namespace_name() + ".svc:" + std::to_string(zitadel_http_port);
}

base::expected<ZitadelSecrets> zitadel_secrets(const ZitadelSettings& s, KubernetesCluster& cluster, RunContext& ctx) {
  ZitadelSecrets out;
  // Generated once, or given once, then kept: Zitadel encrypts its data
  // with the master key, and the database's users keep their first
  // passwords, so another value later would lock Zitadel out.
  auto kept = [&](const Secret& given, const char* key, std::string_view name, std::string& into) -> base::expected<void> {
    auto value = cluster.ensure_secret(ctx, name, [&] { return given.value.empty() ? generate_password() : given.value; });
    if (!value) return base::fail(value.error());
    if (!given.value.empty() && *value != given.value)
      return base::fail(failed(base::exit_status::invalid_settings, std::string("zitadel.") + key + " is not the one Zitadel was first deployed with",
                               "Zitadel's data and database were made with the first; harmony keeps it",
                               std::string("leave zitadel.") + key + " out, or start over: harmony destroy fleet zitadel --purge, "
                               "and delete Postgres's claim"));
    into = *value;
    return {};
  };
  if (auto k = kept(s.master_key, "master_key", "zitadel-masterkey", out.master_key); !k) return base::fail(k.error());
  if (s.database == ZitadelDatabase::bundled) {
    if (auto k = kept(s.database_password, "database_password", "zitadel-db-user", out.database_user_password); !k)
      return base::fail(k.error());
    if (auto k = kept(Secret{}, "", "zitadel-db-admin", out.database_admin_password); !k) return base::fail(k.error());
  } else {
    // An external server's password is its own: the one given now (it may
    // have been rotated there), else one generated once for you to set there.
    if (!s.database_password.value.empty()) {
      out.database_user_password = s.database_password.value;
    } else if (auto k = kept(Secret{}, "", "zitadel-db-user", out.database_user_password); !k) {
      return base::fail(k.error());
    }
    // Zitadel's init connects as its user.
    out.database_admin_password = out.database_user_password;
  }
  return out;
}

// The token in the Secret `<admin>-pat`, which the chart's setup job writes
// once it has made the first instance: none yet (an empty optional).
base::expected<std::optional<std::string>> live_admin_token(kube::Client& api, KubernetesCluster& cluster) {
  auto secret = api.find({"v1", "Secret", cluster.namespace_name(), std::string(zitadel_admin_user) + "-pat"});
  if (!secret) return base::fail(secret.error());
  const auto encoded = *secret ? (*secret)->string_at("/data/pat") : std::nullopt;
  auto decoded = encoded ? base::base64_decode(*encoded) : std::nullopt;
  if (decoded) decoded->erase(decoded->find_last_not_of(" \r\n\t") + 1);
  if (!decoded || decoded->empty()) return std::optional<std::string>();
  return decoded;
}

struct NoToken {};

// A credential of the component if it has one: ensure_secret, with a
// generator that throws so that nothing is made when there is none.
base::expected<std::optional<std::string>> kept_credential(KubernetesCluster& cluster, RunContext& ctx, const std::string& name) {
  try {
    auto value = cluster.ensure_secret(ctx, name, []() -> std::string { throw NoToken{}; });
    if (!value) return base::fail(value.error());
    return std::optional<std::string>(*value);
  } catch (const NoToken&) {
    return std::optional<std::string>();
  }
}

// The admin's token: the setup job's Secret's, kept among the component's
// credentials, since that Secret goes with the release (the chart's cleanup
// job deletes it) while the instance, in its database, stays, and the setup
// job writes a token only when it makes the instance. Credentials are never
// rewritten, so each new token (a new database, a new instance) is kept
// under the next name: zitadel-admin-pat-1, -2, ...; the last is the one.
base::expected<std::string> admin_token(kube::Client& api, KubernetesCluster& cluster, RunContext& ctx) {
  auto kept_name = [](int n) { return "zitadel-admin-pat-" + std::to_string(n); };
  int last = 0;
  std::optional<std::string> kept;
  for (int n = 1; n <= 100; ++n) {
    auto found = kept_credential(cluster, ctx, kept_name(n));
    if (!found) return base::fail(found.error());
    if (!*found) break;
    last = n;
    kept = std::move(*found);
  }
  auto live = live_admin_token(api, cluster);
  if (!live) return base::fail(live.error());
  if (*live) {
    if (**live != kept)
      if (auto made = cluster.ensure_secret(ctx, kept_name(last + 1), [&] { return **live; }); !made) return base::fail(made.error());
    return **live;
  }
  if (kept) return *kept;
  // None yet: the setup job is about to write it.
  const std::string name = std::string(zitadel_admin_user) + "-pat";
  std::string token;
  auto waited = checks::wait_until(ctx, "Zitadel's setup wrote the admin's token (Secret " + name + ")", [&]() -> base::expected<void> {
    auto now = live_admin_token(api, cluster);
    if (!now) return base::fail(now.error());
    if (!*now)
      return base::fail(failed(base::exit_status::not_ready, "no Secret " + name + " with a token yet",
                               "the chart's setup job writes it once Zitadel's first instance exists",
                               "kubectl logs -n " + cluster.namespace_name() + " job/" + std::string(zitadel_release) + "-setup"));
    token = **now;
    return {};
  }, {500ms, {}});
  if (!waited) return base::fail(waited.error());
  if (auto made = cluster.ensure_secret(ctx, kept_name(last + 1), [&] { return token; }); !made) return base::fail(made.error());
  return token;
}

}  // namespace

base::expected<std::string> zitadel_pod(KubernetesCluster& cluster, RunContext& ctx) {
  auto client = cluster.client(ctx);
  if (!client) return base::fail(client.error());
  kube::Client& api = **client;
  std::string pod;
  auto waited = checks::wait_until(ctx, "a Zitadel pod is Ready", [&]() -> base::expected<void> {
    kube::ListOptions by;
    // component=start: Zitadel's server; the chart's jobs share the rest.
    by.label_selector = "app.kubernetes.io/name=zitadel,app.kubernetes.io/instance=" + std::string(zitadel_release) +
                        ",app.kubernetes.io/component=start";
    auto pods = api.list("v1", "Pod", cluster.namespace_name(), by);
    if (!pods) return base::fail(pods.error());
    for (const auto& p : pods->items) {
      if (p.has("/metadata/deletionTimestamp")) continue;
      auto ready = kube::condition(p, "Ready");
      if (ready && ready->status == "True") {
        pod = p.name();
        return {};
      }
    }
    return base::fail(failed(base::exit_status::not_ready, "no Zitadel pod is Ready",
                             std::to_string(pods->items.size()) + " pods of release " + std::string(zitadel_release),
                             "kubectl get pods -n " + cluster.namespace_name() + " -l " + by.label_selector));
  }, {500ms, {}});
  if (!waited) return base::fail(waited.error());
  return pod;
}

namespace {

// Zitadel's HTTP API on a local port, for as long as it lives.
struct ZitadelLink {
  std::unique_ptr<agent::Tunnel> tunnel;
  std::string pod;
  std::string host;

  base::expected<kube::Response> send(const std::string& method, const std::string& path, const std::string& body,
                                       const std::string& bearer) const {
    kube::Request request;
    request.method = method;
    request.body = body;
    if (!body.empty()) request.content_type = "application/json";
    request.timeout = 30s;
    // A search may be tried again; a creation must not be made twice.
    request.retry = method == "GET" || path.ends_with("/_search");
    request.headers.push_back("Host: " + host);
    if (!bearer.empty()) request.headers.push_back("Authorization: Bearer " + bearer);
    auto response = kube::send_to_url("http://127.0.0.1:" + std::to_string(tunnel->local_port()) + path, request);
    if (!response) {
      const std::string last = tunnel->last_error();
      return base::fail(failed(base::exit_status::unreachable, "cannot reach Zitadel through a port-forward to pod " + pod,
                               last.empty() ? response.error().reason : last,
                               "kubectl logs " + pod + " (is Zitadel listening on " + std::to_string(zitadel_http_port) + "?)"));
    }
    return response;
  }
};

base::expected<ZitadelLink> link_to_zitadel(const ZitadelSettings& s, KubernetesCluster& cluster, RunContext& ctx) {
  auto client = cluster.client(ctx);
  if (!client) return base::fail(client.error());
  auto pod = zitadel_pod(cluster, ctx);
  if (!pod) return base::fail(pod.error());
  auto tunnel = agent::Tunnel::open((*client)->config(), {cluster.namespace_name(), *pod, zitadel_http_port});
  if (!tunnel) return base::fail(tunnel.error());
  return ZitadelLink{std::move(*tunnel), *pod, instance_host(s)};
}

// The key of each device that has one: in the Secret, else in keys_dir
// (a Secret deleted by destroy, files kept).
base::expected<std::map<std::string, std::string>> known_keys(const ZitadelSettings& s, kube::Client& api,
                                                              KubernetesCluster& cluster) {
  std::map<std::string, std::string> keys;
  auto secret = api.find({"v1", "Secret", cluster.namespace_name(), std::string(zitadel_keys_secret)});
  if (!secret) return base::fail(secret.error());
  for (const auto& id : s.devices) {
    if (*secret)
      if (auto encoded = (*secret)->string_at("/data/" + id + ".json"))
        if (auto decoded = base::base64_decode(*encoded)) {
          keys[id] = *decoded;
          continue;
        }
    if (s.keys_dir.empty()) continue;
    const std::string file = base::join_path(s.keys_dir, id + ".json");
    if (!std::filesystem::exists(file)) continue;
    auto text = base::read_secret_file(file, "the key file of device " + id, 1 << 16);
    if (!text) return base::fail(failed(base::exit_status::invalid_settings, text.error().message, text.error().reason, text.error().hint));
    keys[id] = *text;
  }
  return keys;
}

base::expected<void> write_key_files(const std::string& dir, const std::map<std::string, std::string>& keys) {
  if (auto made = base::make_directories(dir, 0700); !made)
    return base::fail(failed(base::exit_status::deploy_failed, "cannot make zitadel.keys_dir " + dir, made.error().reason));
  for (const auto& [id, key] : keys) {
    const std::string file = base::join_path(dir, id + ".json");
    if (base::read_file(file).value_or("") == key) continue;
    if (auto written = base::write_file_atomically(file, key, 0600); !written)
      return base::fail(failed(base::exit_status::deploy_failed, "cannot write the key of device " + id, written.error().reason));
  }
  return {};
}

// The project id the last setup wrote into the ConfigMap ("" when none).
base::expected<std::string> recorded_project(kube::Client& api, KubernetesCluster& cluster) {
  auto map = api.find({"v1", "ConfigMap", cluster.namespace_name(), std::string(zitadel_config_map)});
  if (!map) return base::fail(map.error());
  return *map ? (*map)->string_at("/data/project_id").value_or("") : std::string();
}

// The setup's results: the keys (the private halves Zitadel showed once),
// and the issuer and project for the callout.
std::vector<kube::Object> recorded_objects(const std::map<std::string, std::string>& keys, const std::string& issuer,
                                           const std::string& project_id, KubernetesCluster& cluster) {
  kube::Secret key_secret{.metadata = {.name = std::string(zitadel_keys_secret), .labels = zitadel_labels}};
  for (const auto& [id, key] : keys) key_secret.data[id + ".json"] = key;
  kube::ConfigMap issuer_map{.metadata = {.name = std::string(zitadel_config_map), .labels = zitadel_labels},
                             .data = {{"issuer", issuer}, {"project_id", project_id}, {"fetch_url", fetch_url(cluster)}}};
  return {kube::to_object(key_secret), kube::to_object(issuer_map)};
}

}  // namespace

std::string zitadel_issuer_url(const ZitadelSettings& s) {
  return std::string(s.external_secure ? "https://" : "http://") + instance_host(s);
}

std::vector<kube::Object> zitadel_objects(const ZitadelSettings& s, const ZitadelSecrets& secrets) {
  std::vector<kube::Object> out{
      kube::to_object(kube::Secret{.metadata = {.name = std::string(zitadel_master_key_secret), .labels = zitadel_labels},
                                   .data = {{"masterkey", secrets.master_key}}}),
      kube::to_object(kube::Secret{.metadata = {.name = std::string(zitadel_database_secret), .labels = zitadel_labels},
                                   .data = {{"user", secrets.database_user_password}, {"admin", secrets.database_admin_password}}})};
  if (s.database != ZitadelDatabase::bundled) return out;

  const std::string data = "/var/lib/postgresql/data";
  kube::Container postgres{
      .name = "postgres",
      .image = s.postgres_image,
      .env = {{.name = "POSTGRES_PASSWORD", .secret_name = std::string(zitadel_database_secret), .secret_key = "admin"},
              {.name = "PGDATA", .value = data + "/pgdata"}},
      .ports = {{.name = "postgres", .port = 5432}},
      .volume_mounts = {{.name = "data", .path = data}, {.name = "run", .path = "/var/run/postgresql"}, {.name = "tmp", .path = "/tmp"}},
      // A TCP probe: it holds for Postgres and for images that only speak its protocol.
      .readiness = kube::Probe{.port = "postgres", .tcp = true, .period_seconds = 2},
      .resources = {.cpu_request = "100m", .memory_request = "256Mi", .memory_limit = "1Gi"},
      .run_as_user = 999};
  kube::StatefulSet set{.metadata = {.name = std::string(zitadel_database_name), .labels = database_labels},
                        .replicas = 1,
                        .selector = database_labels,
                        .service_name = std::string(zitadel_database_name),
                        .template_ = {.labels = database_labels,
                                      .containers = {postgres},
                                      .volumes = {{.name = "run"}, {.name = "tmp"}},
                                      // The official image's postgres user.
                                      .fs_group = 999,
                                      .run_as_user = 999,
                                      .run_as_group = 999,
                                      .termination_grace_period_seconds = 60}};
  if (s.database_storage == NatsStorage::pvc)
    set.volume_claims.push_back({.name = "data", .storage_class = s.database_storage_class, .size = s.database_storage_size});
  else
    set.template_.volumes.push_back({.name = "data"});
  kube::Service service{.metadata = {.name = std::string(zitadel_database_name), .labels = database_labels},
                        .selector = database_labels,
                        .ports = {{.name = "postgres", .port = 5432, .target_port = "postgres"}}};
  out.push_back(kube::to_object(service));
  out.push_back(kube::to_object(set));
  return out;
}

Outcome deploy_zitadel_on_kubernetes(const ZitadelSettings& s, KubernetesCluster& cluster, HelmReleaser& helm, RunContext& ctx) {
  auto secrets = zitadel_secrets(s, cluster, ctx);
  if (!secrets) return Outcome::failure(secrets.error());
  Outcome applied = cluster.apply(ctx, zitadel_objects(s, *secrets));
  if (applied.failed()) return applied;

  Outcome installed = helm.install_chart(
      ctx, detail::chart_release(std::string(zitadel_release), s.chart, s.chart_repository,
                                 s.chart_version.empty() ? std::string(zitadel_chart_version) : s.chart_version, zitadel_chart_values(s)));
  if (installed.failed()) return installed;

  const std::string issuer = zitadel_issuer_url(s);
  auto client = cluster.client(ctx);
  if (!client) return Outcome::failure(client.error());
  if (ctx.dry_run()) {
    // The setup needs Zitadel's answers; the plan says what it would make
    // from what the cluster holds.
    auto keys = known_keys(s, **client, cluster);
    if (!keys) return Outcome::failure(keys.error());
    auto project = recorded_project(**client, cluster);
    if (!project) return Outcome::failure(project.error());
    std::vector<std::string> without_keys;
    for (const auto& id : s.devices)
      if (!keys->count(id)) without_keys.push_back(id);
    if (project->empty() || !without_keys.empty())
      ctx.plan->push_back({"setup",
                           "Zitadel at " + issuer + ": " +
                               (project->empty() ? std::string("project harmony-fleet, role fleet-ops, application nats, ") : std::string()) +
                               (without_keys.empty() ? std::string("no device") : "a machine user and key for " + base::join(without_keys, ", ")),
                           {}});
    Outcome recorded = cluster.apply(ctx, recorded_objects(*keys, issuer, *project, cluster));
    return recorded.failed() ? recorded : installed;
  }
  auto pat = admin_token(**client, cluster, ctx);
  if (!pat) return Outcome::failure(pat.error());
  auto link = link_to_zitadel(s, cluster, ctx);
  if (!link) return Outcome::failure(link.error());
  auto keys = known_keys(s, **client, cluster);
  if (!keys) return Outcome::failure(keys.error());

  const ZitadelSend send = [&](const std::string& method, const std::string& path,
                               const std::string& body) -> base::expected<ZitadelResponse> {
    auto r = link->send(method, path, body, *pat);
    if (!r) return base::fail(r.error());
    // A host Zitadel serves no instance for: 404, as text on its HTTP
    // routes, or JSON from its API saying so.
    if (r->status == 404) {
      const auto doc = json::parse(r->body, nullptr, false);
      if (doc.is_discarded() || (doc.is_object() && doc.value("message", "").find("instance") != std::string::npos))
        return base::fail(failed(base::exit_status::deploy_failed, "Zitadel serves no instance at " + link->host,
                                 "HTTP 404 to " + method + " " + path,
                                 "zitadel.external_domain must be the domain Zitadel was first deployed with"));
    }
    return ZitadelResponse{r->status, r->body};
  };
  auto held_key_user = [&](const std::string& id) -> std::string {
    const auto it = keys->find(id);
    if (it == keys->end()) return {};
    const auto key = json::parse(it->second, nullptr, false);
    return key.is_object() ? key.value("userId", "") : "";
  };
  auto fleet = setup_zitadel_fleet(send, s.devices, held_key_user);
  if (!fleet) return Outcome::failure(fleet.error());
  for (auto& [id, key] : fleet->new_keys) (*keys)[id] = key;
  // Kept before anything else is reported, even when the setup stopped: a
  // key's private half exists only here. Files first: they need nothing of
  // the cluster.
  auto written = s.keys_dir.empty() ? base::expected<void>() : write_key_files(s.keys_dir, *keys);
  Outcome recorded = cluster.apply(ctx, recorded_objects(*keys, issuer, fleet->project_id, cluster));
  if (!written) return Outcome::failure(written.error());
  if (recorded.failed()) return recorded;
  if (fleet->stopped) return Outcome::failure(*fleet->stopped);

  const bool changed = applied.changed() || installed.changed() || recorded.changed() || !fleet->created.empty();
  Outcome out = changed ? Outcome::success(fleet->created.empty() ? "Zitadel deployed" : "made " + base::join(fleet->created, ", "))
                        : Outcome::no_change("Zitadel and the fleet's identities are as set");
  out.detail("summary", "Zitadel at " + issuer + ", project " + fleet->project_id + " (callout.audience), " +
                            std::to_string(keys->size()) + (keys->size() == 1 ? " device key" : " device keys"));
  if (!s.keys_dir.empty() && !keys->empty())
    out.detail("next", "harmony fleet token --key " + base::join_path(s.keys_dir, keys->begin()->first + ".json") +
                           " --issuer " + issuer + " --project " + fleet->project_id + " --out TOKEN_DIR/" + keys->begin()->first +
                           ".token");
  else if (!keys->empty())
    out.detail("next", "write the devices' keys for harmony fleet token: --set zitadel.keys_dir=DIR (or kubectl get secret " +
                           std::string(zitadel_keys_secret) + ")");
  return out;
}

base::expected<void> check_zitadel_on_kubernetes(const ZitadelSettings& s, KubernetesCluster& cluster, RunContext& ctx) {
  const std::string issuer = zitadel_issuer_url(s);
  return checks::wait_until(ctx, "Zitadel answers its discovery document for " + issuer, [&]() -> base::expected<void> {
    // A port-forward per attempt: the pod may have been replaced since.
    auto link = link_to_zitadel(s, cluster, ctx);
    if (!link) return base::fail(link.error());
    auto r = link->send("GET", "/.well-known/openid-configuration", "", "");
    if (!r) return base::fail(r.error());
    const auto doc = json::parse(r->body, nullptr, false);
    if (r->status != 200 || !doc.is_object())
      return base::fail(failed(base::exit_status::smoke_test_failed, "Zitadel has no discovery document for " + link->host,
                               "HTTP " + std::to_string(r->status)));
    if (doc.value("issuer", "") != issuer)
      return base::fail(failed(base::exit_status::smoke_test_failed, "Zitadel names another issuer",
                               "'" + base::printable(doc.value("issuer", "")) + "', where the settings make " + issuer,
                               "set zitadel.external_domain, external_port and external_secure as Zitadel was deployed"));
    return {};
  }, {500ms, {}});
}

base::expected<std::optional<ZitadelIssuer>> deployed_zitadel(const std::optional<ComponentRecord>& record,
                                                              KubernetesCluster& cluster, RunContext& ctx, bool need_project) {
  if (!record) return std::optional<ZitadelIssuer>();
  auto node = settings::Node::from_json(record->settings_json);
  ZitadelSettings s;
  if (!node || !settings::load(*node, zitadel_component, s).empty())
    return base::fail(failed(base::exit_status::deploy_failed, "Zitadel's deployment record cannot be read",
                             "it was written by another version of harmony-fleet", "deploy it again: harmony deploy fleet zitadel"));
  auto client = cluster.client(ctx);
  if (!client) return base::fail(client.error());
  auto recorded = recorded_project(**client, cluster);
  if (!recorded) return base::fail(recorded.error());
  const std::string& project = *recorded;
  // A plan: Zitadel is planned before, or its setup has not run yet; the
  // issuer is known from its settings, the project only once the setup made it.
  if (project.empty() && ctx.dry_run())
    return std::optional<ZitadelIssuer>(
        ZitadelIssuer{zitadel_issuer_url(s), need_project ? "(the project of Zitadel's setup)" : "", fetch_url(cluster), s});
  if (!need_project && project.empty()) return std::optional<ZitadelIssuer>(ZitadelIssuer{zitadel_issuer_url(s), "", fetch_url(cluster), s});
  if (project.empty() || project.size() > 32 || project.find_first_not_of("0123456789") != std::string::npos)
    return base::fail(failed(base::exit_status::deploy_failed,
                             "the ConfigMap " + std::string(zitadel_config_map) + " names no Zitadel project",
                             project.empty() ? "it is missing, or its project_id is empty"
                                             : "its project_id '" + base::printable(project.substr(0, 40)) + "' is not a Zitadel id",
                             "deploy Zitadel again, which writes it: harmony deploy fleet zitadel"));
  return std::optional<ZitadelIssuer>(ZitadelIssuer{zitadel_issuer_url(s), project, fetch_url(cluster), s});
}

}  // namespace harmony::fleet
