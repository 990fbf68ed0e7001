// The operator's decisions: who is targeted, what is written and removed,
// how a rollout advances within maxUnavailable, how status is counted, and
// when a deleted FleetDeployment may go.

#include <catch2/catch.hpp>

#include <algorithm>

#include "reconcile.hpp"

using namespace harmony::fleet::op;
using namespace std::chrono_literals;

namespace {

const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(24 * 365 * 50);

Device device(const std::string& id, contract::Labels labels, Clock::time_point seen = t0) {
  return Device{id, std::move(labels), "0.1.0", seen, 5s};
}

contract::Workload sleeper(const std::string& seconds) {
  contract::Workload w;
  w.process = contract::ProcessSpec{"/bin/sleep", {seconds}, {}};
  return w;
}

Deployment web(const std::string& seconds = "60", contract::Labels selector = {{"site", "lyon"}}) {
  Deployment d;
  d.namespace_ = "shop";
  d.name = "web";
  d.generation = 1;
  d.has_finalizer = true;
  contract::FleetDeploymentSpec spec;
  spec.target_selector.match_labels = std::move(selector);
  spec.workload = sleeper(seconds);
  d.spec = spec;
  return d;
}

World fleet() {
  World w;
  w.now = t0;
  for (auto [id, site] : {std::pair{"edge-1", "lyon"}, {"edge-2", "lyon"}, {"edge-3", "paris"}})
    w.devices[id] = device(id, {{"site", site}});
  w.deployments[{"shop", "web"}] = web();
  return w;
}

contract::Key key(const std::string& device) { return {device, "shop", "web"}; }

std::vector<std::string> put_devices(const Actions& a) {
  std::vector<std::string> out;
  for (const auto& [k, v] : a.put) out.push_back(k.device);
  return out;
}

void report(World& w, const std::string& id, const std::string& revision, contract::WorkloadPhase phase, std::string message = {}) {
  w.reported[key(id)] = {id, "shop", "web", revision, phase, std::move(message), 0, "2026-12-01T10:00:00Z"};
}

}  // namespace

TEST_CASE("a new FleetDeployment is written to exactly the devices its selector matches") {
  auto w = fleet();
  auto a = reconcile(w);
  CHECK(put_devices(a) == std::vector<std::string>{"edge-1", "edge-2"});
  const auto& value = a.put.front().second;
  CHECK(value.namespace_ == "shop");
  CHECK(value.revision == contract::revision_of(sleeper("60")));
  CHECK(a.remove.empty());
  const auto& s = a.status.at({"shop", "web"});
  CHECK(s.targeted == 2);
  CHECK(s.pending == 2);
  CHECK(s.succeeded == 0);
}

TEST_CASE("nothing is written twice: keys at the revision stay, and the counts follow the reports") {
  auto w = fleet();
  const auto revision = contract::revision_of(sleeper("60"));
  w.desired[key("edge-1")] = revision;
  w.desired[key("edge-2")] = revision;
  report(w, "edge-1", revision, contract::WorkloadPhase::running);
  report(w, "edge-2", revision, contract::WorkloadPhase::failed, "exited with status 3");
  auto a = reconcile(w);
  CHECK(a.put.empty());
  CHECK(a.remove.empty());
  const auto& s = a.status.at({"shop", "web"});
  CHECK(s.succeeded == 1);
  CHECK(s.failed == 1);
  CHECK(s.pending == 0);
  CHECK(s.last_error == "edge-2: exited with status 3");
  auto degraded = std::find_if(s.conditions.begin(), s.conditions.end(), [](const auto& c) { return c.type == "Degraded"; });
  REQUIRE(degraded != s.conditions.end());
  CHECK(degraded->status == "True");
}

TEST_CASE("a relabelled device gains or loses the workload") {
  auto w = fleet();
  const auto revision = contract::revision_of(sleeper("60"));
  w.desired[key("edge-1")] = revision;
  w.desired[key("edge-2")] = revision;
  w.devices["edge-2"].labels = {{"site", "paris"}};
  w.devices["edge-3"].labels = {{"site", "lyon"}};
  auto a = reconcile(w);
  CHECK(put_devices(a) == std::vector<std::string>{"edge-3"});
  REQUIRE(a.remove.size() == 1);
  CHECK(a.remove.front() == key("edge-2"));
}

TEST_CASE("an offline device counts as pending, and is succeeded again once back") {
  auto w = fleet();
  const auto revision = contract::revision_of(sleeper("60"));
  for (auto id : {"edge-1", "edge-2"}) {
    w.desired[key(id)] = revision;
    report(w, id, revision, contract::WorkloadPhase::running);
  }
  w.devices["edge-2"].last_heartbeat = t0 - 17s;  // three 5 s intervals and a second, and more
  auto s = reconcile(w).status.at({"shop", "web"});
  CHECK(s.succeeded == 1);
  CHECK(s.pending == 1);
  w.devices["edge-2"].last_heartbeat = t0;
  s = reconcile(w).status.at({"shop", "web"});
  CHECK(s.succeeded == 2);
  CHECK(reconcile(w).devices.at("edge-2").connectivity == contract::Connectivity::online);
}

TEST_CASE("an update advances at most maxUnavailable devices at a time") {
  World w;
  w.now = t0;
  const auto old_revision = contract::revision_of(sleeper("60"));
  for (int i = 1; i <= 8; ++i) {
    const std::string id = "edge-" + std::to_string(i);
    w.devices[id] = device(id, {{"site", "lyon"}});
    w.desired[key(id)] = old_revision;
    report(w, id, old_revision, contract::WorkloadPhase::running);
  }
  auto d = web("61");
  d.spec->rollout.max_unavailable = contract::IntOrPercent{std::string("25%")};
  w.deployments[{"shop", "web"}] = d;
  const auto revision = contract::revision_of(sleeper("61"));
  auto a = reconcile(w);
  CHECK(put_devices(a) == std::vector<std::string>{"edge-1", "edge-2"});
  // Those two take it and are still starting: nothing more moves.
  for (auto id : {"edge-1", "edge-2"}) w.desired[key(id)] = revision;
  CHECK(reconcile(w).put.empty());
  // One is there: one more may go.
  report(w, "edge-1", revision, contract::WorkloadPhase::running);
  CHECK(put_devices(reconcile(w)) == std::vector<std::string>{"edge-3"});
  // An offline device takes the new revision at once: it runs nothing now.
  w.devices["edge-8"].last_heartbeat = t0 - 1min;
  auto with_offline = put_devices(reconcile(w));
  CHECK(std::find(with_offline.begin(), with_offline.end(), "edge-8") != with_offline.end());
}

TEST_CASE("a deleted FleetDeployment loses its keys first, then its finalizer") {
  auto w = fleet();
  const auto revision = contract::revision_of(sleeper("60"));
  w.desired[key("edge-1")] = revision;
  w.desired[key("edge-2")] = revision;
  w.deployments[{"shop", "web"}].deleting = true;
  auto a = reconcile(w);
  CHECK(a.remove.size() == 2);
  CHECK(a.drop_finalizer.empty());
  CHECK(a.status.empty());
  w.desired.clear();
  a = reconcile(w);
  REQUIRE(a.drop_finalizer.size() == 1);
  CHECK(a.drop_finalizer.front() == DeploymentId{"shop", "web"});
}

TEST_CASE("a FleetDeployment without the finalizer gets it, and keys of one that is gone are removed") {
  auto w = fleet();
  w.deployments[{"shop", "web"}].has_finalizer = false;
  CHECK(reconcile(w).add_finalizer.size() == 1);
  w.desired[{"edge-1", "shop", "gone"}] = "abc";
  auto a = reconcile(w);
  CHECK(std::find(a.remove.begin(), a.remove.end(), contract::Key{"edge-1", "shop", "gone"}) != a.remove.end());
}

TEST_CASE("a spec harmony cannot read leaves what runs alone and says why") {
  auto w = fleet();
  w.desired[key("edge-1")] = "abc";
  w.deployments[{"shop", "web"}].spec.reset();
  w.deployments[{"shop", "web"}].spec_error = "spec.workload: is required";
  auto a = reconcile(w);
  CHECK(a.put.empty());
  CHECK(a.remove.empty());
  CHECK(a.status.at({"shop", "web"}).last_error == "spec: spec.workload: is required");
}

TEST_CASE("a device's status carries its labels, connectivity and the deployments it reports") {
  auto w = fleet();
  const auto revision = contract::revision_of(sleeper("60"));
  report(w, "edge-1", revision, contract::WorkloadPhase::running);
  w.reported[{"edge-1", "shop", "deleted"}] = {"edge-1", "shop", "deleted", "x", contract::WorkloadPhase::running, "", 0, ""};
  auto s = reconcile(w).devices.at("edge-1");
  CHECK(s.labels == contract::Labels{{"site", "lyon"}});
  CHECK(s.version == "0.1.0");
  REQUIRE(s.deployments.size() == 1);  // not the report of a deployment that no longer exists
  CHECK(s.deployments.front().name == "web");
  CHECK(s.deployments.front().phase == contract::WorkloadPhase::running);
}

TEST_CASE("conditions keep their transition time until their status changes") {
  contract::FleetDeploymentStatus before;
  before.conditions = {{"Available", "False", "DevicesNotReady", "", "2026-12-01T10:00:00Z", 1}};
  contract::FleetDeploymentStatus now;
  now.conditions = {{"Available", "False", "DevicesNotReady", "1 of 2", "", 1}};
  CHECK(with_transitions(now, before, "2026-12-01T10:05:00Z").conditions.front().last_transition_time == "2026-12-01T10:00:00Z");
  now.conditions.front().status = "True";
  CHECK(with_transitions(now, before, "2026-12-01T10:05:00Z").conditions.front().last_transition_time == "2026-12-01T10:05:00Z");
}

TEST_CASE("a rollout whose first device fails stops there") {
  World w;
  w.now = t0;
  const auto old_revision = contract::revision_of(sleeper("60"));
  for (int i = 1; i <= 3; ++i) {
    const std::string id = "y-" + std::to_string(i);
    w.devices[id] = device(id, {{"site", "lyon"}});
    w.desired[key(id)] = old_revision;
    report(w, id, old_revision, contract::WorkloadPhase::running);
  }
  auto d = web("bad");
  d.spec->workload.restart_policy = contract::RestartPolicy::never;
  d.spec->rollout.max_unavailable = contract::IntOrPercent{std::int64_t{1}};
  w.deployments[{"shop", "web"}] = d;
  const auto revision = contract::revision_of(d.spec->workload);
  CHECK(put_devices(reconcile(w)) == std::vector<std::string>{"y-1"});
  w.desired[key("y-1")] = revision;
  CHECK(reconcile(w).put.empty());
  report(w, "y-1", revision, contract::WorkloadPhase::failed, "exited with status 1");
  CHECK(reconcile(w).put.empty());
  auto s = reconcile(w).status.at({"shop", "web"});
  CHECK(s.failed == 1);
  CHECK(s.pending == 2);
}
