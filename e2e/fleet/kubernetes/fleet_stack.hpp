#pragma once
// The fleet on the test cluster (e2e/cluster) as a user deploys it: the real
// dispatcher, harmony-fleet and harmony-agent in a sandbox, the production
// Scores, images made here from this build (fleet-agent) and from the
// cluster's nats-server, and a namespace `e2e-<pid>-<n>` of its own that
// says who owns it, so that one left by a dead test run is pruned.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <harmony/base/process.hpp>

#include "sandbox.hpp"

namespace harmony::e2e {

// Refs of the images in the cluster's containerd, imported once (by content).
std::string nats_test_image();
std::string agent_test_image();
std::string operator_test_image();
std::string callout_test_image();
// e2e/fleet/zitadel/standin: where Zitadel and Postgres would run (their
// images cannot be had here).
std::string zitadel_standin_image();
std::string postgres_standin_image();

struct FleetStack {
  Sandbox box;
  std::string ns;
  std::string topology = "kubeconfig";
  std::vector<std::string> topology_flags;  // more flags after --topology (k3d: --cluster NAME)
  // HARMONY_E2E_FLEET_TOPOLOGY=k3d runs the stack through the k3d stand-in
  // (e2e/k3d-standin): a cluster of its own name, NATS on a fixed node port
  // that k3d maps when it creates the cluster.
  std::string k3d_cluster;
  std::uint16_t k3d_node_port = 0;

  explicit FleetStack(const std::string& hint);
  ~FleetStack();
  FleetStack(const FleetStack&) = delete;
  FleetStack& operator=(const FleetStack&) = delete;

  // harmony <args> --topology <topology> -n <ns>
  [[nodiscard]] base::ProcessResult harmony(std::vector<std::string> args) const;
  // harmony <args> (no topology flags: harmony agent reads the connection file)
  [[nodiscard]] base::ProcessResult plain(const std::vector<std::string>& args) const;
  // harmony deploy fleet <components> with the test images and `sets`.
  // NATS and the agents unless told otherwise; {} deploys what a user gets
  // naming nothing (with the operator).
  [[nodiscard]] base::ProcessResult deploy(const std::vector<std::string>& sets = {},
                                           const std::vector<std::string>& components = {"nats", "agent"}) const;
  // kubectl get -n <ns> <what> -o json
  [[nodiscard]] nlohmann::json get(const std::string& what) const;
  // The names of the pods matching `selector`, ignoring those going away.
  [[nodiscard]] std::vector<nlohmann::json> pods(const std::string& selector) const;
};

}  // namespace harmony::e2e
