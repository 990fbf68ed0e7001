#pragma once
// ZitadelScore's parts that need no cluster: the values of Zitadel's Helm
// chart (the version pinned below, whose values they were written
// against), and the fleet's setup through Zitadel's management API (v1,
// REST): a project whose tokens name it as their audience, the fleet-ops
// role, an API application for NATS, and a machine user per device with a
// JSON key, which becomes that device's credentials file.

#include <cstdint>
#include <functional>
#include <optional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <harmony/base/expected.hpp>
#include <harmony/capabilities.hpp>
#include <harmony/context.hpp>
#include <harmony/fleet/settings.hpp>
#include <harmony/kube/object.hpp>
#include <harmony/outcome.hpp>
#include <harmony/topology.hpp>

namespace harmony::fleet {

inline constexpr std::string_view zitadel_chart_name = "zitadel";
inline constexpr std::string_view zitadel_chart_repository = "https://charts.zitadel.com";
inline constexpr std::string_view zitadel_chart_version = "9.34.0";
// The machine user the chart's setup job makes with the IAM_OWNER role;
// the job writes its personal access token to the Secret <user>-pat, key pat.
inline constexpr std::string_view zitadel_admin_user = "harmony-fleet-admin";
inline constexpr std::string_view zitadel_master_key_secret = "fleet-zitadel-masterkey";  // key masterkey
inline constexpr std::string_view zitadel_database_secret = "fleet-zitadel-db";           // keys user, admin

// The chart's values for these settings, as JSON.
std::string zitadel_chart_values(const ZitadelSettings& settings);

// One management API call: method, path (/management/v1/...), JSON body;
// the response's status and body. The caller authenticates it (the admin's
// personal access token as a bearer token).
struct ZitadelResponse {
  int status = 0;
  std::string body;
};
using ZitadelSend = std::function<base::expected<ZitadelResponse>(const std::string& method, const std::string& path,
                                                                    const std::string& body)>;

struct ZitadelFleetNames {
  std::string project = "harmony-fleet";
  std::string application = "nats";
  std::string ops_role = "fleet-ops";
  std::string device_prefix = "device-";
  std::string key_expiration = "2030-01-01T00:00:00Z";
};

struct ZitadelFleet {
  std::string project_id;      // what tokens carry as their audience: callout.audience
  std::string api_client_id;   // NATS's application
  // Keys made by this run, by device id: the JSON Zitadel returned once
  // (type, keyId, key, userId), a secret. A device that has a key file
  // already gets no new key.
  std::map<std::string, std::string> new_keys;
  std::vector<std::string> created;  // what this run made, for the deploy's message
  // A device's setup failed: the devices before it are done (new_keys holds
  // their keys, to be kept before the failure is reported), the rest not.
  std::optional<base::Error> stopped;
};

// ---- on a Kubernetes topology --------------------------------------------------

inline constexpr std::string_view zitadel_component = "zitadel";
inline constexpr std::string_view zitadel_release = "fleet-zitadel";  // also the chart's Service and Deployment
inline constexpr std::uint16_t zitadel_http_port = 8080;              // the chart's container and Service port
inline constexpr std::string_view zitadel_config_map = "fleet-zitadel";  // keys issuer, project_id, fetch_url
inline constexpr std::string_view zitadel_keys_secret = "fleet-zitadel-device-keys";  // key <id>.json
inline constexpr std::string_view zitadel_database_name = "fleet-zitadel-db";  // bundled: StatefulSet and Service

// The issuer URL tokens carry: http(s)://external_domain[:external_port].
std::string zitadel_issuer_url(const ZitadelSettings& settings);

// What harmony applies beside the chart: the master key's and the
// database's Secrets, and with `database=bundled` Postgres (a StatefulSet of
// one, its Service).
struct ZitadelSecrets {
  std::string master_key;
  std::string database_user_password;
  std::string database_admin_password;
};
std::vector<kube::Object> zitadel_objects(const ZitadelSettings& settings, const ZitadelSecrets& secrets);

// ZitadelScore: the objects above, the chart (HelmRelease fleet-zitadel),
// a wait for the admin's token, then the fleet's setup through a
// port-forward to a Zitadel pod; the devices' keys into the Secret
// fleet-zitadel-device-keys (and keys_dir), the issuer and project into the
// ConfigMap fleet-zitadel, which the callout reads.
Outcome deploy_zitadel_on_kubernetes(const ZitadelSettings& settings, KubernetesCluster& cluster, HelmReleaser& helm,
                                     RunContext& ctx);
// Zitadel answers its discovery document, naming the issuer tokens carry.
base::expected<void> check_zitadel_on_kubernetes(const ZitadelSettings& settings, KubernetesCluster& cluster, RunContext& ctx);

// A Ready pod of Zitadel's server (not the chart's jobs), waited for within
// ctx.deadline.
base::expected<std::string> zitadel_pod(KubernetesCluster& cluster, RunContext& ctx);

// What the callout learns from a deployed ZitadelScore (nothing: none is):
// the issuer and Zitadel's Service from the deployment's record (its
// settings), the project id from the ConfigMap, which must be Zitadel's kind
// of id (digits), since the callout trusts what it says.
struct ZitadelIssuer {
  std::string issuer_url;
  std::string project_id;
  std::string fetch_url;  // Zitadel's Service, inside the cluster
  ZitadelSettings settings;  // as deployed
};
// `need_project`: a missing project id is an error (else it is left empty).
base::expected<std::optional<ZitadelIssuer>> deployed_zitadel(const std::optional<ComponentRecord>& record,
                                                              KubernetesCluster& cluster, RunContext& ctx,
                                                              bool need_project = true);

// Finds or makes each part, so that a second run changes nothing.
// `held_key_user(device)`: the userId of the key harmony holds for that
// device, "" when none; a device gets a new key unless it is its user's.
base::expected<ZitadelFleet> setup_zitadel_fleet(const ZitadelSend& send, const std::vector<std::string>& device_ids,
                                                 const std::function<std::string(const std::string&)>& held_key_user,
                                                 const ZitadelFleetNames& names = {});

}  // namespace harmony::fleet
