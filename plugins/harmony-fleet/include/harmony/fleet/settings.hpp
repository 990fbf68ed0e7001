#pragma once
// The settings of the fleet's Scores: what `--set <component>.<key>=...` and
// `-f values.yaml` fill, with their defaults, checks and help. One struct
// per Score.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <harmony/settings.hpp>
#include <harmony/version.hpp>

namespace harmony::fleet {

using namespace std::chrono_literals;

enum class NatsAuth { user_password, callout };
enum class NatsStorage { empty_dir, pvc };
enum class NatsReach { node_port, port_forward };
enum class NatsDeployWith { manifests, chart };

struct NatsSettings {
  Port client_port{4222};
  Port monitor_port{8222};
  std::string listen = "127.0.0.1";
  Port node_port{30423};
  NatsAuth auth = NatsAuth::user_password;
  std::string program = "nats-server";
  // Kubernetes only.
  std::string image = "nats:2.10.24";
  NatsStorage storage = NatsStorage::empty_dir;
  std::string storage_class;
  std::string storage_size = "1Gi";
  bool tls = true;
  NatsReach reach = NatsReach::node_port;
  NatsDeployWith deploy_with = NatsDeployWith::manifests;
  std::string chart = "nats";
  std::string chart_repository = "https://nats-io.github.io/k8s/helm/charts/";
  std::string chart_version = "2.14.2";

  template <class V>
  void describe(V& v) {
    v("client_port", client_port, "the port clients and agents connect to");
    v("monitor_port", monitor_port, "the HTTP monitoring port (/healthz, /varz), on 127.0.0.1");
    v("listen", listen,
      "the address the client port listens on; anything but loopback is reachable from the network, unencrypted "
      "until TLS exists");
    v("node_port", node_port,
      "Kubernetes: the NodePort that exposes the client port (30000-32767; 0: Kubernetes picks one, so that two "
      "fleets can share a cluster)",
      range(0, 65535));
    v("auth", auth,
      "how clients authenticate: user_password (a user per agent, and an operator) or callout (devices and people "
      "present identity provider tokens to the callout component; nats-server 2.10+)",
      choice<NatsAuth>({{"user_password", NatsAuth::user_password}, {"callout", NatsAuth::callout}}));
    v("program", program, "the nats-server program: a path, or a name looked up in PATH");
    v("image", image, "Kubernetes: the nats-server image (>= 2.10; its program at /nats-server, as upstream's)");
    v("storage", storage, "Kubernetes: JetStream's storage: empty_dir (lost with the pod) or pvc (a claim per replica)",
      choice<NatsStorage>({{"empty_dir", NatsStorage::empty_dir}, {"pvc", NatsStorage::pvc}}));
    v("storage_class", storage_class, "Kubernetes: the claim's storage class (empty: the cluster's default)");
    v("storage_size", storage_size, "Kubernetes: the claim's size");
    v("reach", reach,
      "Kubernetes: how harmony reaches NATS from where it runs: node_port (a node's address, k3d's host port) or "
      "port_forward (through the API server, for nodes this machine cannot reach)",
      choice<NatsReach>({{"node_port", NatsReach::node_port}, {"port_forward", NatsReach::port_forward}}));
    v("deploy_with", deploy_with,
      "Kubernetes: manifests (typed objects built here) or chart (the official NATS Helm chart, its values generated "
      "from these settings)",
      choice<NatsDeployWith>({{"manifests", NatsDeployWith::manifests}, {"chart", NatsDeployWith::chart}}));
    v("chart", chart, "deploy_with=chart: the chart's name in chart_repository, a local chart directory or .tgz, or oci://...");
    v("chart_repository", chart_repository, "deploy_with=chart: the repository (empty for a local or OCI chart)");
    v("chart_version", chart_version, "deploy_with=chart: the pinned chart version (its values were checked against it)");
    v("tls", tls,
      "Kubernetes: TLS on the client port (in the cluster and through the NodePort), with a CA harmony makes once and "
      "keeps in the cluster; agents and harmony verify the server with it");
  }
  [[nodiscard]] std::vector<settings::Problem> check() const;
};

struct AgentSettings {
  int count = 1;
  std::vector<std::string> ids;
  std::string id_prefix = "edge";
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> device_labels;
  std::vector<std::string> exec_allow{"/usr/bin/uptime", "/usr/bin/df", "/usr/bin/hostname"};
  Duration exec_timeout{25s};
  Duration heartbeat{5s};
  std::string program = "fleet-agent";
  // Kubernetes only.
  std::string image = std::string("harmony.local/fleet-agent:") + harmony::version;
  std::vector<std::string> image_pull_secrets;
  std::string memory_limit = "64Mi";
  std::string token_dir;

  template <class V>
  void describe(V& v) {
    v("count", count, "how many agents (ids <id_prefix>-1 ... <id_prefix>-<count>)", range(1, 500));
    v("ids", ids, "the device ids, instead of deriving them from count (RFC 1123 labels)");
    v("id_prefix", id_prefix, "the prefix of derived ids");
    v("labels", labels, "labels every agent reports (ping, heartbeats); FleetDeployments select devices by them");
    v("device_labels", device_labels,
      "labels of one device, on top of labels: <id>: name=value,name=value (e.g. --set "
      "agent.device_labels.edge-1=site=lyon,rack=3)");
    v("exec_allow", exec_allow, "programs `harmony agent exec` may run: absolute paths");
    v("exec_timeout", exec_timeout, "the longest an exec may run");
    v("heartbeat", heartbeat, "how often agents send a heartbeat");
    v("program", program, "the fleet-agent program: a path, or a name (found next to harmony-fleet, else in PATH)");
    v("image", image,
      "Kubernetes: the fleet-agent image (packaging/container/build-image makes it; k3d imports it from docker)");
    v("image_pull_secrets", image_pull_secrets, "Kubernetes: Secrets for pulling the image from a private registry");
    v("memory_limit", memory_limit, "Kubernetes: the agent container's memory limit");
    v("token_dir", token_dir,
      "nats.auth=callout: a directory holding <id>.token (0600) for each agent, kept fresh by your identity "
      "provider's tooling; agents log in with it instead of a password");
  }
  [[nodiscard]] std::vector<settings::Problem> check() const;
  // The ids, explicit or derived, in order.
  [[nodiscard]] std::vector<std::string> device_ids() const;
  // One device's labels: labels, then its device_labels entry.
  [[nodiscard]] std::map<std::string, std::string> labels_of(const std::string& device_id) const;
};

struct OperatorSettings {
  std::string image = std::string("harmony.local/fleet-operator:") + harmony::version;
  std::vector<std::string> image_pull_secrets;
  std::string chart;  // empty: the chart generated from this build
  std::string chart_repository;
  std::string chart_version;
  int replicas = 1;
  bool install_crds = true;
  std::string watch_namespace;
  std::string memory_limit = "128Mi";

  template <class V>
  void describe(V& v) {
    v("image", image,
      "the operator's image (harmony fleet images build makes it; k3d imports it from docker)");
    v("image_pull_secrets", image_pull_secrets, "Secrets for pulling the image from a private registry");
    v("chart", chart,
      "empty: the chart generated from this build (harmony fleet chart); else a published one: its name in "
      "chart_repository, oci://..., or a local directory or .tgz");
    v("chart_repository", chart_repository, "chart: the repository it is in (empty for oci:// or a local chart)");
    v("chart_version", chart_version, "chart: the published chart's version (pinned)");
    v("replicas", replicas, "operator replicas (one leads, through a Lease; the others wait)", range(1, 5));
    v("install_crds", install_crds,
      "apply the FleetDeployment and FleetDevice CRDs by server-side apply before the chart (never deleted: other "
      "fleets of the cluster may use them)");
    v("watch_namespace", watch_namespace,
      "the namespace whose FleetDeployments this fleet runs (empty: the fleet's own; *: every namespace, for one "
      "fleet per cluster)");
    v("memory_limit", memory_limit, "the operator container's memory limit");
  }
  [[nodiscard]] std::vector<settings::Problem> check() const;
};

struct CalloutSettings {
  std::string program = "fleet-callout";
  std::string issuer_url;
  std::string audience;
  std::string ca_file;
  std::string issuer_fetch_url;
  std::string device_claim = "client_id";
  std::string device_prefix = "device-";
  std::string roles_claim = "urn:zitadel:iam:org:project:roles";
  std::string ops_role = "fleet-ops";
  Duration user_lifetime{1h};
  bool admit_passwords = false;
  // Kubernetes only.
  std::string image = std::string("harmony.local/fleet-callout:") + harmony::version;

  template <class V>
  void describe(V& v) {
    v("program", program, "the fleet-callout program: a path, or a name (found next to harmony-fleet, else in PATH)");
    v("issuer_url", issuer_url,
      "the OIDC issuer whose tokens devices and operators present (https; http only on loopback); Zitadel's when "
      "empty and zitadel is deployed");
    v("audience", audience, "the audience tokens must carry (Zitadel: the project's id)");
    v("ca_file", ca_file, "the CA of the issuer's certificate (empty: the system's)");
    v("issuer_fetch_url", issuer_fetch_url,
      "where the callout fetches the issuer's keys when not at issuer_url (a provider in the cluster: "
      "http://NAME.NAMESPACE.svc:PORT); the requests carry the issuer's host; Zitadel's Service when empty and zitadel is deployed");
    v("device_claim", device_claim, "the token claim naming a machine user");
    v("device_prefix", device_prefix, "a device's machine user is this prefix, then its device id");
    v("roles_claim", roles_claim, "the token claim holding the user's roles");
    v("ops_role", ops_role, "the role whose members get the fleet operator's permissions");
    v("user_lifetime", user_lifetime, "an admitted user's NATS session at most (it also ends with its token)");
    v("admit_passwords", admit_passwords,
      "migrating from nats.auth=user_password: agents may still log in with their generated passwords (docs/fleet-callout.md)");
    v("image", image, "Kubernetes: the fleet-callout image (harmony fleet images build makes it)");
  }
  [[nodiscard]] std::vector<settings::Problem> check() const;
};

enum class ZitadelDatabase { bundled, external };

struct ZitadelSettings {
  std::string chart = "zitadel";
  std::string chart_repository = "https://charts.zitadel.com";
  std::string chart_version;  // empty: the version harmony-fleet was checked against (zitadel.hpp)
  std::string image;
  std::vector<std::string> devices;
  std::string keys_dir;
  std::string external_domain = "localhost";
  Port external_port{8080};
  bool external_secure = false;
  Secret master_key;
  ZitadelDatabase database = ZitadelDatabase::bundled;
  std::string database_host;
  Port database_port{5432};
  std::string database_name = "zitadel";
  std::string database_user = "zitadel";
  Secret database_password;
  std::string database_ssl_mode = "disable";
  std::string postgres_image = "postgres:17";
  NatsStorage database_storage = NatsStorage::pvc;
  std::string database_storage_class;
  std::string database_storage_size = "1Gi";

  template <class V>
  void describe(V& v) {
    v("chart", chart, "the Zitadel chart: its name in chart_repository, oci://..., or a directory");
    v("chart_repository", chart_repository, "the repository holding the chart (a mirror, where the public one is out of reach)");
    v("chart_version", chart_version, "the Zitadel chart's version (empty: the one this harmony-fleet was checked against)");
    v("image", image, "Zitadel's image, REPOSITORY:TAG (empty: the chart's own; a mirror where the public one is out of reach)");
    v("devices", devices,
      "the device ids that get a machine user and a key ({edge-1,edge-2}: usually agent.ids, or the ids agent.count makes)");
    v("keys_dir", keys_dir,
      "where each device's key is written as <id>.json (0600) for harmony fleet token (empty: kept in the cluster only, "
      "Secret fleet-zitadel-device-keys)");
    v("external_domain", external_domain, "the domain Zitadel answers on (the issuer URL's host)");
    v("external_port", external_port, "the port Zitadel answers on (k3d maps it to the host)");
    v("external_secure", external_secure, "the issuer URL is https (TLS at an ingress in front of Zitadel)");
    v("master_key", master_key, "Zitadel's 32-character master key; empty: generated on first deploy and kept");
    v("database", database,
      "bundled (a Postgres StatefulSet harmony deploys beside Zitadel) or external (database_host and the rest)",
      choice<ZitadelDatabase>({{"bundled", ZitadelDatabase::bundled}, {"external", ZitadelDatabase::external}}));
    v("database_host", database_host, "external: the Postgres server's host");
    v("database_port", database_port, "external: its port");
    v("database_name", database_name, "the database Zitadel uses (made by its init job)");
    v("database_user", database_user, "the user Zitadel connects as (made by its init job)");
    v("database_password", database_password, "that user's password; empty: generated and kept");
    v("database_ssl_mode", database_ssl_mode, "Postgres sslmode: disable, require, verify-full");
    v("postgres_image", postgres_image, "bundled: the Postgres image");
    v("database_storage", database_storage,
      "bundled: Postgres's storage: pvc (a claim, kept with the identities) or empty_dir (lost with the pod: tests only)",
      choice<NatsStorage>({{"empty_dir", NatsStorage::empty_dir}, {"pvc", NatsStorage::pvc}}));
    v("database_storage_class", database_storage_class, "bundled: the claim's storage class (empty: the cluster's default)");
    v("database_storage_size", database_storage_size, "bundled: the claim's size");
  }
  [[nodiscard]] std::vector<settings::Problem> check() const;
};

}  // namespace harmony::fleet
