#pragma once
// The fleet on Kubernetes, as objects built from typed structs
// (harmony/kube/kinds.hpp): what FleetNatsScore applies on the `kubeconfig`
// and `k3d` topologies (docs/fleet.md, "On Kubernetes").

#include <string>
#include <vector>

#include <harmony/base/expected.hpp>
#include <harmony/capabilities.hpp>
#include <harmony/context.hpp>
#include <harmony/fleet/settings.hpp>
#include <harmony/kube/object.hpp>
#include <harmony/outcome.hpp>

namespace harmony::fleet {

// Names of the NATS objects in the fleet's namespace.
inline constexpr const char* nats_config_secret = "fleet-nats";
inline constexpr const char* nats_service = "nats";                 // ClusterIP: agents in the cluster
inline constexpr const char* nats_headless_service = "nats-headless";
inline constexpr const char* nats_external_service = "nats-external";  // NodePort: from outside
inline constexpr const char* nats_statefulset = "nats";

// NATS: its configuration and accounts in a Secret, one StatefulSet replica
// (readiness on /healthz; JetStream on an emptyDir or a claim), the headless
// Service the StatefulSet needs, a ClusterIP Service for agents in the
// cluster and a NodePort Service (`node_port`) for harmony and devices
// outside. `accounts` is nats-server's `users` block (render_accounts).
std::vector<kube::Object> nats_objects(const NatsSettings& settings, const std::string& accounts);

// FleetNatsScore on a Kubernetes topology: the operator's password (made
// once, kept in the cluster), the objects above, waited on until ready, then
// the agent-status KV bucket through the NodePort.
Outcome deploy_nats_on_kubernetes(const NatsSettings& settings, KubernetesCluster& cluster, RunContext& ctx);
// The operator logs in through the NodePort, from where harmony runs.
base::expected<void> check_nats_on_kubernetes(const NatsSettings& settings, KubernetesCluster& cluster, RunContext& ctx);

}  // namespace harmony::fleet
