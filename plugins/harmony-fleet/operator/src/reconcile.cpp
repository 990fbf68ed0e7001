#include "reconcile.hpp"

#include <algorithm>

#include <harmony/base/time.hpp>

namespace harmony::fleet::op {
namespace {

using contract::WorkloadPhase;

bool succeeded(const contract::ReportedState& r) {
  return r.phase == WorkloadPhase::running || r.phase == WorkloadPhase::completed;
}

contract::Condition condition(std::string type, bool status, std::string reason, std::string message, std::int64_t generation) {
  return {std::move(type), status ? "True" : "False", std::move(reason), std::move(message), {}, generation};
}

// One FleetDeployment: its keys in desired-state, and its status.
void reconcile_deployment(const World& world, const Deployment& d, Actions& out) {
  const DeploymentId id{d.namespace_, d.name};
  auto mine = [&](const contract::Key& k) { return k.namespace_ == d.namespace_ && k.name == d.name; };
  if (d.deleting) {
    bool any = false;
    for (const auto& [k, revision] : world.desired)
      if (mine(k)) {
        out.remove.push_back(k);
        any = true;
      }
    if (!any && d.has_finalizer) out.drop_finalizer.push_back(id);
    return;
  }
  if (!d.has_finalizer) out.add_finalizer.push_back(id);

  contract::FleetDeploymentStatus status;
  status.observed_generation = d.generation;
  if (!d.spec) {
    // Left as it is: a spec harmony cannot read must not stop what runs.
    status.last_error = "spec: " + d.spec_error;
    status.conditions.push_back(condition("Degraded", true, "InvalidSpec", status.last_error, d.generation));
    out.status[id] = status;
    return;
  }
  const auto& spec = *d.spec;
  const std::string revision = contract::revision_of(spec.workload);
  status.revision = revision;
  std::vector<const Device*> targets;
  for (const auto& [device_id, device] : world.devices)
    if (spec.target_selector.matches(device.labels)) targets.push_back(&device);

  contract::DesiredState value{d.namespace_, d.name, d.generation, revision, spec.workload, spec.rollout.min_ready_seconds};
  // Devices that run an older revision are updated at most maxUnavailable at
  // a time; devices that ran nothing of it, or are offline (they run nothing
  // now anyway), get it at once.
  std::int64_t updating = 0;
  std::vector<contract::Key> updates;
  for (const Device* t : targets) {
    const contract::Key k{t->id, d.namespace_, d.name};
    auto current = world.desired.find(k);
    if (current != world.desired.end() && current->second == revision) {
      auto r = world.reported.find(k);
      if (online(*t, world.now) && (r == world.reported.end() || r->second.revision != revision || !succeeded(r->second)))
        ++updating;
      continue;
    }
    if (current == world.desired.end() || !online(*t, world.now)) out.put.emplace_back(k, value);
    else updates.push_back(k);
  }
  const std::int64_t budget = spec.rollout.max_unavailable.resolve(static_cast<std::int64_t>(targets.size())) - updating;
  for (std::int64_t i = 0; i < budget && i < static_cast<std::int64_t>(updates.size()); ++i)
    out.put.emplace_back(updates[static_cast<std::size_t>(i)], value);

  // Devices that no longer match lose it.
  for (const auto& [k, rev] : world.desired)
    if (mine(k) && std::none_of(targets.begin(), targets.end(), [&](const Device* t) { return t->id == k.device; }))
      out.remove.push_back(k);

  std::string latest_failure_time;
  for (const Device* t : targets) {
    ++status.targeted;
    auto r = world.reported.find({t->id, d.namespace_, d.name});
    if (!online(*t, world.now) || r == world.reported.end() || r->second.revision != revision) {
      ++status.pending;
    } else if (succeeded(r->second)) {
      ++status.succeeded;
    } else if (r->second.phase == WorkloadPhase::failed) {
      ++status.failed;
      if (r->second.time >= latest_failure_time) {
        latest_failure_time = r->second.time;
        status.last_error = t->id + ": " + r->second.message;
      }
    } else {
      ++status.pending;
    }
  }
  const std::string progress = std::to_string(status.succeeded) + " of " + std::to_string(status.targeted) +
                               " targeted devices run revision " + revision;
  if (status.targeted == 0)
    status.conditions.push_back(condition("Available", false, "NoMatchingDevices", "no device's labels match the targetSelector", d.generation));
  else
    status.conditions.push_back(condition("Available", status.succeeded == status.targeted,
                                          status.succeeded == status.targeted ? "AllDevicesReady" : "DevicesNotReady",
                                          progress, d.generation));
  status.conditions.push_back(condition("Progressing", status.pending > 0, status.pending > 0 ? "RollingOut" : "Complete",
                                        progress + (status.pending > 0 ? "; " + std::to_string(status.pending) + " pending" : ""),
                                        d.generation));
  status.conditions.push_back(condition("Degraded", status.failed > 0, status.failed > 0 ? "DevicesFailed" : "NoFailures",
                                        status.failed > 0 ? std::to_string(status.failed) + " failed; last: " + status.last_error : "",
                                        d.generation));
  out.status[id] = status;
}

}  // namespace

bool online(const Device& device, Clock::time_point now) {
  return now - device.last_heartbeat <= device.interval * 3 + std::chrono::seconds(1);
}

Actions reconcile(const World& world) {
  Actions out;
  for (const auto& [id, d] : world.deployments) reconcile_deployment(world, d, out);
  // Keys of FleetDeployments that no longer exist (deleted while no
  // operator ran, so no finalizer could act): removed too.
  for (const auto& [k, revision] : world.desired)
    if (!world.deployments.contains({k.namespace_, k.name})) out.remove.push_back(k);

  for (const auto& [id, device] : world.devices) {
    contract::FleetDeviceStatus s;
    s.labels = device.labels;
    s.version = device.version;
    s.last_seen = base::rfc3339(device.last_heartbeat);
    s.connectivity = online(device, world.now) ? contract::Connectivity::online : contract::Connectivity::offline;
    for (auto it = world.reported.lower_bound({id, "", ""}); it != world.reported.end() && it->first.device == id; ++it) {
      if (!world.deployments.contains({it->first.namespace_, it->first.name})) continue;
      const auto& r = it->second;
      s.deployments.push_back({r.namespace_, r.name, r.revision, r.phase, r.message, r.restarts});
    }
    out.devices[id] = std::move(s);
  }
  return out;
}

contract::FleetDeploymentStatus with_transitions(contract::FleetDeploymentStatus now,
                                                 const contract::FleetDeploymentStatus& before, const std::string& time) {
  for (auto& c : now.conditions) {
    auto old = std::find_if(before.conditions.begin(), before.conditions.end(),
                            [&](const contract::Condition& b) { return b.type == c.type; });
    c.last_transition_time = old != before.conditions.end() && old->status == c.status && !old->last_transition_time.empty()
                                 ? old->last_transition_time
                                 : time;
  }
  return now;
}

}  // namespace harmony::fleet::op
