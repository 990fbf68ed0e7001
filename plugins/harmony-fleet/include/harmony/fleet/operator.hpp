#pragma once
// FleetOperatorScore's realisation on Kubernetes (operator_score.cpp).

#include <optional>

#include <harmony/capabilities.hpp>
#include <harmony/fleet/settings.hpp>
#include <harmony/outcome.hpp>

namespace harmony::fleet {

// Applies the FleetDeployment and FleetDevice CRDs (server-side apply, field
// manager harmony) and waits until each is Established; true when one
// changed. They are not in any component's inventory: destroy never deletes
// them (other fleets of the cluster may use them), as helm never deletes
// crds/.
base::expected<bool> install_fleet_crds(KubernetesCluster& cluster, RunContext& ctx);

// The CRDs (install_crds), then the operator's chart through helm, with the
// operator runtime's NATS password (kept with NATS's credentials) and, with
// TLS, NATS's CA. Waits until its Deployment is ready.
Outcome deploy_operator_on_kubernetes(const OperatorSettings& settings, const std::optional<ComponentRecord>& nats,
                                      KubernetesCluster& cluster, HelmReleaser& helm, RunContext& ctx);
// A replica holds the Lease fleet-operator and is a pod of this namespace.
base::expected<void> check_operator_on_kubernetes(KubernetesCluster& cluster, RunContext& ctx);

}  // namespace harmony::fleet
