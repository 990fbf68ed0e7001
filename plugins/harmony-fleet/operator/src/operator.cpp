#include "operator.hpp"

#include <harmony/base/daemon_options.hpp>

#include <unistd.h>

#include <cstdio>

#include <harmony/agent/protocol.hpp>
#include <harmony/base/exit_status.hpp>
#include <harmony/base/time.hpp>
#include <harmony/fleet/contract_json.hpp>
#include <harmony/kube/json.hpp>

#include "http.hpp"

namespace harmony::fleet::op {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace codec = contract::json_codec;

constexpr auto tick = 250ms;
constexpr int max_device_writes_per_pass = 20;
const std::string manager = "fleet-operator";

Deployment deployment_of(const kube::Object& object, std::optional<contract::FleetDeploymentStatus>& observed) {
  Deployment d;
  d.namespace_ = object.namespace_();
  d.name = object.name();
  d.generation = object.generation();
  d.deleting = object.has("/metadata/deletionTimestamp");
  for (const auto& f : object.string_list_at("/metadata/finalizers"))
    if (f == contract::finalizer) d.has_finalizer = true;
  const json& doc = kube::json_of(object);
  contract::FleetDeploymentSpec spec;
  if (auto ok = codec::from_json(doc.contains("spec") ? doc["spec"] : json::object(), spec, "spec"); ok) d.spec = std::move(spec);
  else d.spec_error = ok.error().message;
  if (doc.contains("status") && doc["status"].is_object()) {
    contract::FleetDeploymentStatus status;
    if (codec::from_json(doc["status"], status)) observed = std::move(status);
  }
  return d;
}

std::optional<Device> device_of(const std::string& key, const std::string& value) {
  auto beat = agent::decode_heartbeat(value);
  if (!beat || beat->id != key || !contract::valid_device_name(key)) return std::nullopt;
  Device d;
  d.id = beat->id;
  d.labels = beat->labels;
  d.version = beat->version;
  if (auto t = base::parse_rfc3339(beat->time)) d.last_heartbeat = *t;
  if (beat->interval_ms > 0) d.interval = std::chrono::milliseconds(beat->interval_ms);
  return d;
}

// A heartbeat alone is no change worth a write: lastSeen moves with other
// changes, and otherwise once a minute at most.
constexpr auto last_seen_refresh = std::chrono::minutes(1);
bool same_device(contract::FleetDeviceStatus a, contract::FleetDeviceStatus b) {
  auto seen_a = base::parse_rfc3339(a.last_seen);
  auto seen_b = base::parse_rfc3339(b.last_seen);
  if (seen_a && seen_b && (*seen_b - *seen_a > last_seen_refresh || *seen_a - *seen_b > last_seen_refresh)) return false;
  a.last_seen.clear();
  b.last_seen.clear();
  return a == b;
}

}  // namespace

void log_line(const std::string& level, const std::string& message) { base::log_line(level, message); }

Operator::Operator(OperatorOptions options) : options_(std::move(options)) {}

Operator::~Operator() { stop(); }

base::expected<void> Operator::start() {
  kube::ClientOptions client_options;
  auto writer = kube::Client::connect(options_.kube, client_options);
  if (!writer) return base::fail(writer.error());
  writer_ = std::move(*writer);
  auto elector_client = kube::Client::connect(options_.kube, client_options);
  if (!elector_client) return base::fail(elector_client.error());
  elector_client_ = std::move(*elector_client);
  // The CRD must be served: a clear error now beats a watch that fails for ever.
  if (auto type = writer_->resource_for(contract::api_version, contract::deployment_kind); !type) {
    base::Error e = type.error();
    e.hint = "install the CRDs first: harmony fleet crds | kubectl apply --server-side -f -";
    return base::fail(e);
  }
  elector_ = std::make_unique<LeaderElector>(*elector_client_, options_.lease, log_line);
  nats_ = std::make_unique<Nats>(options_.nats, log_line);
  if (auto ok = nats_->connect(); !ok) return ok;

  http_ = std::make_unique<HttpServer>(Endpoints{
      [this] { return not_ready_reason().empty(); }, [this] { return not_ready_reason(); }, [this] { return metrics(); }});
  if (auto ok = http_->start(options_.listen_address, options_.listen_port); !ok) return ok;

  auto bucket = [this](bool Sources::*flag, auto on_change) {
    return BucketEvents{[this, flag, on_change] {
                          std::lock_guard lock(mutex_);
                          synced_.*flag = false;
                          on_change(std::string(), std::nullopt, true);
                        },
                        [this, on_change](const std::string& key, const std::optional<std::string>& value) {
                          std::lock_guard lock(mutex_);
                          on_change(key, value, false);
                          dirty_ = true;
                          changed_.notify_all();
                        },
                        [this, flag] {
                          std::lock_guard lock(mutex_);
                          synced_.*flag = true;
                          dirty_ = true;
                          changed_.notify_all();
                        }};
  };
  nats_->watch(std::string(agent::status_bucket),
               bucket(&Sources::devices, [this](const std::string& key, const std::optional<std::string>& value, bool reset) {
                 // Devices are kept across a new read: a NATS that lost its
                 // store has no heartbeats for a while, and a device the
                 // operator forgot would lose its desired state meanwhile.
                 if (reset) return;
                 auto device = value ? device_of(key, *value) : std::nullopt;
                 if (device) world_.devices[key] = std::move(*device);
                 else world_.devices.erase(key);
               }),
               true);
  nats_->watch(std::string(contract::desired_bucket),
               bucket(&Sources::desired, [this](const std::string& key, const std::optional<std::string>& value, bool reset) {
                 if (reset) return world_.desired.clear();
                 auto k = contract::parse_key(key);
                 if (!k) return;
                 auto state = value ? contract::decode_desired_state(*value) : base::expected<contract::DesiredState>();
                 if (value && state) world_.desired[*k] = state->revision;
                 else if (value) world_.desired[*k] = "";  // unreadable: rewritten
                 else world_.desired.erase(*k);
               }),
               true);
  nats_->watch(std::string(contract::reported_bucket),
               bucket(&Sources::reported, [this](const std::string& key, const std::optional<std::string>& value, bool reset) {
                 if (reset) return world_.reported.clear();
                 auto k = contract::parse_key(key);
                 if (!k) return;
                 auto state = value ? contract::decode_reported_state(*value) : base::expected<contract::ReportedState>();
                 if (value && state && state->device == k->device) world_.reported[*k] = std::move(*state);
                 else world_.reported.erase(*k);
               }),
               true);
  deployments_thread_ = std::thread([this] { watch_deployments(); });
  leader_thread_ = std::thread([this] { lead(); });
  reconciler_thread_ = std::thread([this] { reconcile_loop(); });
  log_line("info", "fleet-operator " + options_.lease.identity + ": health and metrics on " + options_.listen_address + ":" +
                       std::to_string(http_->port()));
  return {};
}

std::uint16_t Operator::http_port() const { return http_ ? http_->port() : 0; }

bool Operator::wait_stopping(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, delay, [this] { return stopping_; });
}

void Operator::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_flag_ = true;
  changed_.notify_all();
  if (reconciler_thread_.joinable()) reconciler_thread_.join();
  if (leader_thread_.joinable()) leader_thread_.join();
  if (elector_) elector_->release();
  if (deployments_thread_.joinable()) deployments_thread_.join();
  if (nats_) nats_->stop();
  if (http_) http_->stop();
  log_line("info", "stopped");
}

void Operator::mark_dirty() {
  std::lock_guard lock(mutex_);
  dirty_ = true;
  changed_.notify_all();
}

void Operator::watch_deployments() {
  auto client = kube::Client::connect(options_.kube);
  if (!client) {
    log_line("error", client.error().message + ": " + client.error().reason);
    return;
  }
  std::string last_problem;
  while (!stop_flag_) {
    // Each round lists everything again (a resync), then follows changes.
    kube::WatchOptions watch;
    watch.timeout = options_.resync;
    std::map<DeploymentId, Deployment> seen;
    std::map<DeploymentId, contract::FleetDeploymentStatus> statuses;
    bool synced = false;
    auto ok = (*client)->watch(
        contract::api_version, contract::deployment_kind, options_.watch_namespace, watch,
        [&](const kube::WatchEvent& e) {
          using T = kube::WatchEvent::Type;
          std::lock_guard lock(mutex_);
          if (e.type == T::relisted) {
            synced = false;
            seen.clear();
            synced_.deployments = false;
            return true;
          }
          if (e.type == T::bookmark) return true;
          if (e.type == T::synced) {
            synced = true;
            world_.deployments = seen;
            for (auto& [id, s] : statuses) observed_status_[id] = s;
            synced_.deployments = true;
          } else {
            std::optional<contract::FleetDeploymentStatus> observed;
            Deployment d = deployment_of(e.object, observed);
            const DeploymentId id{d.namespace_, d.name};
            auto& target = synced ? world_.deployments : seen;
            if (e.type == T::deleted) {
              target.erase(id);
              observed_status_.erase(id);
            } else {
              target[id] = std::move(d);
              if (observed) (synced ? observed_status_ : statuses)[id] = *observed;
            }
          }
          dirty_ = true;
          changed_.notify_all();
          return true;
        },
        &stop_flag_);
    if (!ok) {
      const std::string problem = ok.error().message + (ok.error().reason.empty() ? "" : ": " + ok.error().reason);
      if (problem != last_problem) log_line("warn", "watching FleetDeployments: " + problem + "; trying again");
      last_problem = problem;
      {
        std::lock_guard lock(mutex_);
        synced_.deployments = false;
      }
      wait_stopping(1s);
    } else {
      last_problem.clear();
    }
  }
}

void Operator::lead() {
  while (!stop_flag_) {
    const bool was = elector_->leading();
    const bool now = elector_->step();
    if (now != was) mark_dirty();  // a new leader acts at once
    if (wait_stopping(options_.lease.retry)) return;
  }
}

void Operator::reconcile_loop() {
  while (true) {
    World world;
    {
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, tick, [this] { return stopping_ || dirty_; });
      if (stopping_) return;
      // Offline devices and rate-limited status writes need a look even
      // without news: every tick.
      dirty_ = false;
      if (!synced_.all() || !elector_->leading()) continue;
      world = world_;
      for (auto& [id, s] : observed_status_)
        if (!written_status_.contains(id)) written_status_[id] = s;
    }
    world.now = Clock::now();
    const auto started = std::chrono::steady_clock::now();
    if (!devices_listed_) {
      // What FleetDevices say now, so that a new leader rewrites none that are right.
      if (auto list = writer_->list(contract::api_version, contract::device_kind, ""); list) {
        for (const auto& item : list->items) {
          const json& doc = kube::json_of(item);
          contract::FleetDeviceStatus s;
          if (doc.contains("status") && codec::from_json(doc["status"], s)) written_devices_[item.name()] = s;
        }
        devices_listed_ = true;
      }
    }
    apply(reconcile(world));
    ++metrics_.reconciles;
    metrics_.reconcile_seconds = metrics_.reconcile_seconds +
                                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }
}

void Operator::apply(const Actions& actions) {
  if (!actions.put.empty() || !actions.remove.empty()) {
    // A few keys are named; a fleet-wide rollout is counted.
    std::string keys;
    if (actions.put.size() + actions.remove.size() <= 5) {
      for (const auto& [key, value] : actions.put) keys += " " + contract::key_string(key) + "=" + value.revision;
      for (const auto& key : actions.remove) keys += " " + contract::key_string(key) + " removed";
    }
    log_line("info", "desired state: " + std::to_string(actions.put.size()) + " written, " +
                         std::to_string(actions.remove.size()) + " removed" + (keys.empty() ? "" : ":" + keys));
  }
  for (const auto& [key, value] : actions.put) {
    if (!elector_->leading()) return;
    if (auto ok = nats_->put(std::string(contract::desired_bucket), contract::key_string(key), contract::encode(value)); !ok) {
      ++metrics_.write_errors;
      log_line("warn", ok.error().message + ": " + ok.error().reason);
      continue;
    }
    ++metrics_.desired_puts;
    std::lock_guard lock(mutex_);
    world_.desired[key] = value.revision;  // the watcher will say so too; no second write meanwhile
  }
  for (const auto& key : actions.remove) {
    if (!elector_->leading()) return;
    if (auto ok = nats_->remove(std::string(contract::desired_bucket), contract::key_string(key)); !ok) {
      ++metrics_.write_errors;
      log_line("warn", ok.error().message + ": " + ok.error().reason);
      continue;
    }
    ++metrics_.desired_deletes;
    std::lock_guard lock(mutex_);
    world_.desired.erase(key);
  }
  for (const auto& id : actions.add_finalizer) apply_finalizer(id, true);
  for (const auto& id : actions.drop_finalizer) apply_finalizer(id, false);
  for (const auto& [id, status] : actions.status) write_status(id, status);
  // FleetDevices are many and matter less than FleetDeployments' status: a
  // bounded number per pass, so that a fleet of new devices never holds the
  // status of a rollout back; the rest go in the next passes.
  int budget = max_device_writes_per_pass;
  for (const auto& [id, status] : actions.devices) {
    if (budget == 0) {
      mark_dirty();
      break;
    }
    if (write_device(id, status)) --budget;
  }
}

void Operator::apply_finalizer(const DeploymentId& id, bool add) {
  // A read-modify-write with the object's resourceVersion: never an apply,
  // which would create a FleetDeployment deleted meanwhile.
  auto found = writer_->find({std::string(contract::api_version), std::string(contract::deployment_kind), id.first, id.second});
  if (!found || !*found) return;
  json doc = kube::json_of(**found);
  json finalizers = doc["metadata"].value("finalizers", json::array());
  json kept = json::array();
  for (const auto& f : finalizers)
    if (f != contract::finalizer) kept.push_back(f);
  if (add) kept.push_back(contract::finalizer);
  if (kept == finalizers) return;
  doc["metadata"]["finalizers"] = kept;
  if (auto ok = writer_->replace(kube::object_from(doc)); !ok) {
    if (ok.error().status != base::exit_status::conflict) log_line("warn", ok.error().message);
    mark_dirty();  // again with the new version
    return;
  }
  if (!add) log_line("info", "FleetDeployment " + id.first + "/" + id.second + ": desired state removed from every device");
}

void Operator::write_status(const DeploymentId& id, const contract::FleetDeploymentStatus& computed) {
  auto before = written_status_.find(id);
  const auto status = with_transitions(computed, before == written_status_.end() ? contract::FleetDeploymentStatus{} : before->second,
                                       base::rfc3339_now());
  if (before != written_status_.end() && before->second == status) return;
  const auto now = std::chrono::steady_clock::now();
  if (auto at = status_written_at_.find(id); at != status_written_at_.end() && now - at->second < options_.status_interval) {
    mark_dirty();  // written at the next tick after the interval
    return;
  }
  json doc{{"apiVersion", contract::api_version},
           {"kind", contract::deployment_kind},
           {"metadata", {{"name", id.second}, {"namespace", id.first}}},
           {"status", codec::to_json(status)}};
  kube::ApplyOptions apply;
  apply.field_manager = manager;
  apply.force_conflicts = true;  // status is the operator's alone
  if (auto ok = writer_->apply_status(kube::object_from(doc), apply); !ok) {
    if (ok.error().status != base::exit_status::object_not_found) {
      ++metrics_.write_errors;
      log_line("warn", "status of FleetDeployment " + id.first + "/" + id.second + ": " + ok.error().message);
    }
    return;
  }
  ++metrics_.status_writes;
  written_status_[id] = status;
  status_written_at_[id] = now;
}

bool Operator::write_device(const std::string& id, const contract::FleetDeviceStatus& status) {
  auto before = written_devices_.find(id);
  if (before != written_devices_.end() && same_device(before->second, status)) return false;
  json doc{{"apiVersion", contract::api_version}, {"kind", contract::device_kind}, {"metadata", {{"name", id}}}};
  if (before == written_devices_.end()) {
    // Which fleet it belongs to: FleetDevices are cluster-scoped, and outlive
    // an operator that is uninstalled (docs/fleet-operator.md says how to
    // remove them).
    json created_doc = doc;
    created_doc["metadata"]["labels"] = {{"fleet.harmony.dev/fleet", options_.lease.namespace_}};
    auto created = writer_->create(kube::object_from(created_doc));
    if (!created && created.error().status != base::exit_status::conflict) {
      ++metrics_.write_errors;
      log_line("warn", "FleetDevice " + id + ": " + created.error().message);
      return true;
    }
  }
  doc["status"] = codec::to_json(status);
  kube::ApplyOptions apply;
  apply.field_manager = manager;
  apply.force_conflicts = true;
  if (auto ok = writer_->apply_status(kube::object_from(doc), apply); !ok) {
    ++metrics_.write_errors;
    log_line("warn", "status of FleetDevice " + id + ": " + ok.error().message);
    if (ok.error().status == base::exit_status::object_not_found) written_devices_.erase(id);
    return true;
  }
  ++metrics_.device_writes;
  written_devices_[id] = status;
  return true;
}

std::string Operator::not_ready_reason() {
  std::vector<std::string> missing;
  if (!nats_ || !nats_->connected()) missing.emplace_back("not connected to NATS");
  std::lock_guard lock(mutex_);
  if (!synced_.deployments) missing.emplace_back("FleetDeployments not read yet");
  if (!synced_.devices) missing.emplace_back("the agent-status bucket not read yet");
  if (!synced_.desired) missing.emplace_back("the desired-state bucket not read yet");
  if (!synced_.reported) missing.emplace_back("the device-state bucket not read yet");
  std::string out;
  for (const auto& m : missing) out += (out.empty() ? "" : "; ") + m;
  return out;
}

std::string Operator::metrics() {
  std::size_t deployments = 0, online_devices = 0, offline_devices = 0, desired = 0;
  {
    std::lock_guard lock(mutex_);
    deployments = world_.deployments.size();
    desired = world_.desired.size();
    const auto now = Clock::now();
    for (const auto& [id, d] : world_.devices) (online(d, now) ? online_devices : offline_devices)++;
  }
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, const std::string& samples) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + samples;
  };
  auto sample = [](const std::string& name, double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.6g", value);
    return name + " " + buffer + "\n";
  };
  metric("fleet_operator_leader", "gauge", "1 while this replica leads",
         sample("fleet_operator_leader", elector_ && elector_->leading() ? 1 : 0));
  metric("fleet_operator_nats_connected", "gauge", "1 while connected to NATS",
         sample("fleet_operator_nats_connected", nats_ && nats_->connected() ? 1 : 0));
  metric("fleet_operator_deployments", "gauge", "FleetDeployments known",
         sample("fleet_operator_deployments", static_cast<double>(deployments)));
  metric("fleet_operator_devices", "gauge", "devices known from heartbeats",
         sample("fleet_operator_devices{connectivity=\"online\"}", static_cast<double>(online_devices)) +
             sample("fleet_operator_devices{connectivity=\"offline\"}", static_cast<double>(offline_devices)));
  metric("fleet_operator_desired_keys", "gauge", "keys in the desired-state bucket",
         sample("fleet_operator_desired_keys", static_cast<double>(desired)));
  metric("fleet_operator_desired_writes_total", "counter", "desired-state keys written or deleted",
         sample("fleet_operator_desired_writes_total{op=\"put\"}", static_cast<double>(metrics_.desired_puts)) +
             sample("fleet_operator_desired_writes_total{op=\"delete\"}", static_cast<double>(metrics_.desired_deletes)));
  metric("fleet_operator_status_writes_total", "counter", "status writes to the API server",
         sample("fleet_operator_status_writes_total{kind=\"FleetDeployment\"}", static_cast<double>(metrics_.status_writes)) +
             sample("fleet_operator_status_writes_total{kind=\"FleetDevice\"}", static_cast<double>(metrics_.device_writes)));
  metric("fleet_operator_write_errors_total", "counter", "writes that failed (retried)",
         sample("fleet_operator_write_errors_total", static_cast<double>(metrics_.write_errors)));
  metric("fleet_operator_reconcile_seconds", "summary", "time spent deciding and writing",
         sample("fleet_operator_reconcile_seconds_sum", metrics_.reconcile_seconds) +
             sample("fleet_operator_reconcile_seconds_count", static_cast<double>(metrics_.reconciles)));
  return out;
}

}  // namespace harmony::fleet::op
