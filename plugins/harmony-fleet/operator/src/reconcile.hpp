#pragma once
// The fleet operator's decisions, as one pure function of what it knows:
// the FleetDeployments, the devices (their heartbeats), what desired-state
// holds and what the devices report. No I/O here, so that every rule (who
// is targeted, how a rollout advances, how status is counted, when a
// deleted FleetDeployment may go) is tested on its own, and a new leader
// that reads the same world makes the same decisions: nothing is done twice.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <harmony/fleet/contract.hpp>

namespace harmony::fleet::op {

namespace contract = harmony::fleet::contract;
using Clock = std::chrono::system_clock;

// A device, from its latest heartbeat in agent-status.
struct Device {
  std::string id;
  contract::Labels labels;
  std::string version;
  Clock::time_point last_heartbeat{};
  std::chrono::milliseconds interval{5000};
};
// A reader's rule for agent heartbeats (docs/agent-protocol.md): stale after
// three intervals plus a second.
bool online(const Device& device, Clock::time_point now);

using DeploymentId = std::pair<std::string, std::string>;  // namespace, name

struct Deployment {
  std::string namespace_;
  std::string name;
  std::int64_t generation = 0;
  bool deleting = false;       // metadata.deletionTimestamp is set
  bool has_finalizer = false;  // ours
  std::optional<contract::FleetDeploymentSpec> spec;  // nullopt: spec_error says why
  std::string spec_error;
};

struct World {
  std::map<std::string, Device> devices;
  std::map<DeploymentId, Deployment> deployments;
  std::map<contract::Key, std::string> desired;  // key -> revision, as desired-state holds it
  std::map<contract::Key, contract::ReportedState> reported;
  Clock::time_point now{};
};

struct Actions {
  std::vector<std::pair<contract::Key, contract::DesiredState>> put;  // into desired-state
  std::vector<contract::Key> remove;        // from desired-state
  std::map<DeploymentId, contract::FleetDeploymentStatus> status;
  std::vector<DeploymentId> add_finalizer;
  std::vector<DeploymentId> drop_finalizer;  // deleted, and its desired state is gone
  std::map<std::string, contract::FleetDeviceStatus> devices;
};

Actions reconcile(const World& world);

// The status of a deployment, with conditions whose lastTransitionTime is
// kept from `before` when their status did not change.
contract::FleetDeploymentStatus with_transitions(contract::FleetDeploymentStatus now,
                                                 const contract::FleetDeploymentStatus& before, const std::string& time);

}  // namespace harmony::fleet::op
