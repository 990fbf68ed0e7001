#pragma once
// The fleet on Kubernetes, as objects built from typed structs
// (harmony/kube/kinds.hpp): what FleetNatsScore and FleetAgentScore apply on
// the `kubeconfig` and `k3d` topologies (docs/fleet.md, "On Kubernetes").

#include <optional>
#include <string>
#include <vector>

#include <harmony/agent/connection.hpp>
#include <harmony/base/expected.hpp>
#include <harmony/capabilities.hpp>
#include <harmony/context.hpp>
#include <harmony/fleet/settings.hpp>
#include <harmony/kube/object.hpp>
#include <harmony/outcome.hpp>
#include <harmony/topology.hpp>

namespace harmony::fleet {

// Names of the fleet's objects in its namespace.
inline constexpr const char* nats_config_secret = "fleet-nats";
inline constexpr const char* nats_accounts_secret = "fleet-nats-accounts";  // the users: changes without a restart
inline constexpr const char* nats_service = "nats";                 // ClusterIP: agents in the cluster
inline constexpr const char* nats_headless_service = "nats-headless";
inline constexpr const char* nats_external_service = "nats-external";  // NodePort: from outside
inline constexpr const char* nats_statefulset = "nats";
inline constexpr const char* agent_name_prefix = "fleet-agent-";  // + device id: its Deployment, Secret, ConfigMap
// Where an agent Pod finds its files.
inline constexpr const char* agent_pod_config = "/etc/fleet-agent/agent.yaml";
inline constexpr const char* agent_pod_password = "/run/secrets/fleet-agent/password";
inline constexpr const char* agent_pod_token = "/run/secrets/fleet-agent/token";  // nats.auth=callout
inline constexpr const char* agent_pod_ca = "/etc/fleet-agent/ca/ca.crt";
inline constexpr const char* nats_tls_secret = "fleet-nats-tls";
inline constexpr const char* nats_ca_config_map = "fleet-nats-ca";

// NATS: its configuration in a Secret (with the system user's password),
// one StatefulSet replica (readiness on /healthz; JetStream on an emptyDir or
// a claim; the accounts Secret mounted beside the configuration), the
// headless Service the StatefulSet needs, a ClusterIP Service for agents in
// the cluster and a NodePort Service (`node_port`) for harmony and devices
// outside.
// With `nats.tls`, also its certificate and key in a Secret `fleet-nats-tls`
// (mounted 0440) and the CA in a ConfigMap `fleet-nats-ca` for the agents.
struct NatsTls {
  std::string ca_cert;  // PEM
  std::string cert;     // PEM
  std::string key;      // PEM
};
// `callout`: nats.auth=callout, NATS's auth_callout block (config.hpp).
struct CalloutServer;
std::vector<kube::Object> nats_objects(const NatsSettings& settings, const std::string& system_password,
                                       const NatsTls& tls = {}, const CalloutServer* callout = nullptr);
// nats.deploy_with=chart: the official chart's values (chart_version's
// keys) for these settings, as JSON: TLS from `fleet-nats-tls`, JetStream as
// set, the users and the system account included from Secrets harmony
// applies beside the release (nats_chart_companions), a NodePort Service,
// no config reloader and no nats-box (harmony reloads the users itself).
std::string nats_chart_values(const NatsSettings& settings);
inline constexpr const char* nats_system_secret = "fleet-nats-system";
std::vector<kube::Object> nats_chart_companions(const NatsSettings& settings, const std::string& system_password,
                                                const NatsTls& tls);

// The Secret of NATS's users (render_accounts).
kube::Object nats_accounts_object(const std::string& accounts);

// One agent: its NATS password in a Secret of its own (0440, readable by
// the agent's group only), its configuration in a ConfigMap, and a
// Deployment of one Pod that is replaced, never doubled (Recreate): two pods
// with one device id would answer twice.
// `ca_cert`: NATS speaks TLS, and the agent verifies it with the CA in the
// ConfigMap `fleet-nats-ca`.
// `token` (nats.auth=callout): the agent logs in with it instead of a
// password; a new token is not a new pod (fleet-agent reads the mounted
// file at its next connection).
std::vector<kube::Object> agent_objects(const AgentSettings& settings, const std::string& device_id,
                                        const std::string& password, const std::string& nats_url,
                                        const std::string& ca_cert = {}, const std::string& token = {});

// The auth callout (nats.auth=callout): fleet-callout in a Deployment
// `fleet-callout`, its keys, its NATS password (and while migrating, the
// agents' passwords) in a Secret of the same name mounted 0440, and the
// identity provider's CA when callout.ca_file names one.
inline constexpr const char* callout_name = "fleet-callout";
struct CalloutSecrets {
  std::string password;
  std::string issuer_seed;
  std::string xkey_seed;
  std::string oidc_ca;                                        // PEM, or empty: the system's CAs
  std::vector<std::pair<std::string, std::string>> agent_passwords;  // device id, password
};
std::vector<kube::Object> callout_objects(const CalloutSettings& settings, const NatsSettings& nats,
                                          const std::string& nats_url, const CalloutSecrets& secrets);

// The device ids an agent deployment was recorded with (none: not deployed).
std::vector<std::string> deployed_agent_ids(const std::optional<ComponentRecord>& record);

// FleetNatsScore on a Kubernetes topology: the operator's and the system
// user's passwords (made once, kept in the cluster), the objects above with
// the users of `agent_ids`, waited on until ready, then the agent-status KV
// bucket through the NodePort.
Outcome deploy_nats_on_kubernetes(const NatsSettings& settings, const std::vector<std::string>& agent_ids,
                                  KubernetesCluster& cluster, RunContext& ctx, HelmReleaser* helm = nullptr);
// The operator logs in through the NodePort, from where harmony runs.
base::expected<void> check_nats_on_kubernetes(const NatsSettings& settings, KubernetesCluster& cluster, RunContext& ctx);

// FleetAgentScore on a Kubernetes topology: a NATS user per agent (NATS
// reloads its accounts; it does not restart), then each agent's objects.
// `nats` is the NATS deployment's record, `previous` the agents' own.
Outcome deploy_agents_on_kubernetes(const AgentSettings& settings, const std::optional<ComponentRecord>& nats,
                                    const std::optional<ComponentRecord>& previous,
                                    const std::optional<ComponentRecord>& callout, KubernetesCluster& cluster,
                                    RunContext& ctx);
// Every agent answers a ping from the operator, through the NodePort.
base::expected<void> check_agents_on_kubernetes(const AgentSettings& settings, const std::optional<ComponentRecord>& nats,
                                                KubernetesCluster& cluster, RunContext& ctx);

// FleetCalloutScore on a Kubernetes topology: the objects above with the
// keys the deploy of nats made. `agents`: the agents' record, whose
// passwords it admits while callout.admit_passwords is set. `zitadel`:
// ZitadelScore's record, whose issuer it trusts when callout.issuer_url is
// empty (zitadel.hpp, deployed_zitadel).
Outcome deploy_callout_on_kubernetes(const CalloutSettings& settings, const std::optional<ComponentRecord>& nats,
                                     const std::optional<ComponentRecord>& agents,
                                     const std::optional<ComponentRecord>& zitadel, KubernetesCluster& cluster,
                                     RunContext& ctx);
// NATS asks it about a login and it answers: a made-up token's refusal in
// its pod's log.
base::expected<void> check_callout_on_kubernetes(const CalloutSettings& settings, const std::optional<ComponentRecord>& nats,
                                                 KubernetesCluster& cluster, RunContext& ctx);

// The operator's connection to the fleet's NATS from where harmony runs
// (the NodePort), with its password from the cluster.
base::expected<agent::Connection> operator_connection_on_kubernetes(const NatsSettings& settings,
                                                                   KubernetesCluster& cluster, RunContext& ctx);

// Where a user's own NATS clients connect to a fleet on Kubernetes. The
// operator's password is copied (0600) next to the connection file; never
// printed.
struct KubeConnectInfo {
  std::string in_cluster_url;   // for pods in the cluster
  std::string host_url;         // the NodePort (k3d: its host port), from where harmony runs; empty with a port-forward
  bool through_port_forward = false;  // nats.reach=port_forward: harmony fleet port-forward
  std::string user;
  std::string password_file;    // the local copy
  std::string ca_file;          // TLS: the CA's certificate, a local copy (empty: no TLS)
  std::string connection_file;  // this topology's, for harmony agent --connection-file
  std::string secret;           // where the password is kept in the cluster
  std::string secret_key;
  std::string namespace_;
};
base::expected<KubeConnectInfo> connect_info_on_kubernetes(const NatsSettings& settings, KubernetesCluster& cluster,
                                                           RunContext& ctx);

}  // namespace harmony::fleet
