#pragma once
// The fleet's CustomResourceDefinitions, FleetDeployment and FleetDevice,
// generated from the contract's C++ types (contract.hpp): their OpenAPI v3
// schemas (descriptions for `kubectl explain`, required fields, enums,
// patterns, bounds, CEL rules), printer columns and short names. The deploy
// side's alone: fleet-agent links the contract, never this.

#include <string>
#include <vector>

#include <harmony/kube/object.hpp>

namespace harmony::fleet {

kube::Object fleet_deployment_crd();
kube::Object fleet_device_crd();
inline std::vector<kube::Object> fleet_crds() { return {fleet_deployment_crd(), fleet_device_crd()}; }

// Both, as a YAML stream (`harmony fleet crds`, the chart's crds/).
std::string fleet_crds_yaml();

}  // namespace harmony::fleet
