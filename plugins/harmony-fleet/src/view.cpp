#include <harmony/fleet/view.hpp>

#include <algorithm>

#include <nlohmann/json.hpp>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/text.hpp>
#include <harmony/base/time.hpp>
#include <harmony/fleet/contract.hpp>
#include <harmony/kube/json.hpp>

namespace harmony::fleet {
namespace {

namespace contract = harmony::fleet::contract;
using nlohmann::json;

std::string age(const std::string& timestamp) {
  auto t = base::parse_rfc3339(timestamp);
  if (!t) return "-";
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - *t).count();
  if (s < 120) return std::to_string(std::max<long long>(s, 0)) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 172800) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

// Cells come from the cluster: shown as data, never as terminal control.
std::string table(std::vector<std::vector<std::string>> rows) {
  for (auto& row : rows)
    for (auto& cell : row) cell = base::printable(cell);
  return base::format_table(rows);
}

std::string count(const json& status, const char* key) {
  return status.contains(key) ? std::to_string(status.value(key, 0)) : "-";
}

base::unexpected<base::Error> not_installed(const base::Error& e) {
  if (e.status != base::exit_status::object_not_found) return base::fail(e);
  base::Error out = base::make_error("the fleet's CRDs are not installed in this cluster", e.message,
                                     "deploy the operator: harmony deploy fleet operator --topology kubeconfig (or k3d)");
  out.status = base::exit_status::object_not_found;
  return base::fail(out);
}

}  // namespace

base::expected<std::string> deployments_view(kube::Client& client, const std::string& namespace_, bool all_namespaces,
                                             bool as_json) {
  auto list = client.list(contract::api_version, contract::deployment_kind, all_namespaces ? "" : namespace_);
  if (!list) return not_installed(list.error());
  json out = json::array();
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"NAMESPACE", "NAME", "TARGETED", "SUCCEEDED", "FAILED", "PENDING", "REVISION", "UP-TO-DATE", "AGE", "LAST ERROR"});
  for (const auto& item : list->items) {
    const json& doc = kube::json_of(item);
    const json status = doc.value("status", json::object());
    const bool current = status.value("observedGeneration", std::int64_t{0}) >= item.generation();
    out.push_back({{"namespace", item.namespace_()},
                   {"name", item.name()},
                   {"generation", item.generation()},
                   {"observed_generation", status.value("observedGeneration", std::int64_t{0})},
                   {"revision", status.value("revision", "")},
                   {"targeted", status.value("targeted", 0)},
                   {"succeeded", status.value("succeeded", 0)},
                   {"failed", status.value("failed", 0)},
                   {"pending", status.value("pending", 0)},
                   {"last_error", status.value("lastError", "")},
                   {"selector", doc["spec"].value("targetSelector", json::object()).value("matchLabels", json::object())},
                   {"deleting", doc["metadata"].contains("deletionTimestamp")}});
    rows.push_back({item.namespace_(), item.name(), count(status, "targeted"), count(status, "succeeded"), count(status, "failed"),
                    count(status, "pending"), status.value("revision", "-"),
                    current ? "yes" : "no (the operator has not seen generation " + std::to_string(item.generation()) + ")",
                    age(doc["metadata"].value("creationTimestamp", "")), status.value("lastError", "")});
  }
  if (as_json) return json{{"deployments", out}}.dump(2) + "\n";
  if (list->items.empty())
    return std::string("no FleetDeployments in ") + (all_namespaces ? "any namespace" : "namespace " + namespace_) +
           " (kubectl apply -f one: docs/fleet-operator.md)\n";
  return table(rows);
}

base::expected<std::string> devices_view(kube::Client& client, bool as_json) {
  auto list = client.list(contract::api_version, contract::device_kind, "");
  if (!list) return not_installed(list.error());
  json out = json::array();
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"DEVICE", "CONNECTIVITY", "VERSION", "LABELS", "DEPLOYMENTS", "LAST SEEN"});
  for (const auto& item : list->items) {
    const json& doc = kube::json_of(item);
    const json status = doc.value("status", json::object());
    std::vector<std::string> labels, deployments;
    const json label_map = status.value("labels", json::object());
    const json reported = status.value("deployments", json::array());
    for (const auto& [k, v] : label_map.items()) labels.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
    for (const auto& d : reported)
      deployments.push_back(d.value("namespace", "") + "/" + d.value("name", "") + ":" + d.value("phase", "?"));
    out.push_back({{"id", item.name()},
                   {"connectivity", status.value("connectivity", "")},
                   {"version", status.value("version", "")},
                   {"labels", status.value("labels", json::object())},
                   {"last_seen", status.value("lastSeen", "")},
                   {"deployments", status.value("deployments", json::array())}});
    // An operator refreshes lastSeen every minute at least: older, nobody
    // keeps this device's status any more (its fleet's operator is gone).
    std::string connectivity = status.value("connectivity", "-");
    if (auto seen = base::parse_rfc3339(status.value("lastSeen", ""));
        seen && std::chrono::system_clock::now() - *seen > std::chrono::minutes(3))
      connectivity += " (stale: no operator updates it)";
    rows.push_back({item.name(), connectivity, status.value("version", "-"),
                    labels.empty() ? "-" : base::join(labels, ","), deployments.empty() ? "-" : base::join(deployments, ","),
                    status.contains("lastSeen") ? age(status.value("lastSeen", "")) + " ago" : "-"});
  }
  if (as_json) return json{{"devices", out}}.dump(2) + "\n";
  if (list->items.empty()) return "no FleetDevices yet (the operator makes one per agent that sends heartbeats)\n";
  return table(rows);
}

base::expected<void> rollout_status(kube::Client& client, const RolloutOptions& o,
                                    const std::function<void(const std::string&)>& say, const std::atomic<bool>* stop) {
  if (auto valid = contract::validate_deployment_name(o.name); !valid) {
    base::Error e = valid.error();
    e.status = base::exit_status::usage;
    return base::fail(e);
  }
  const kube::ObjectRef ref{std::string(contract::api_version), std::string(contract::deployment_kind), o.namespace_, o.name};
  auto first = client.find(ref);
  if (!first) return not_installed(first.error());
  if (!*first) {
    base::Error e = base::make_error("FleetDeployment " + o.namespace_ + "/" + o.name + " does not exist",
                                     {}, "list them: harmony fleet deployments (-n NAMESPACE, or --all-namespaces)");
    e.status = base::exit_status::object_not_found;
    return base::fail(e);
  }
  std::string last_said;
  std::optional<base::Error> verdict;
  bool done = false;
  // One look at the object: true when there is nothing more to wait for.
  auto judge = [&](const kube::Object& object) {
    const json& doc = kube::json_of(object);
    const json status = doc.value("status", json::object());
    const std::int64_t generation = object.generation();
    std::string line;
    if (status.value("observedGeneration", std::int64_t{0}) < generation) {
      line = "Waiting for FleetDeployment \"" + o.name + "\" rollout to start: the operator has not seen generation " +
             std::to_string(generation) + " yet...";
    } else {
      const int targeted = status.value("targeted", 0), succeeded = status.value("succeeded", 0),
                failed = status.value("failed", 0), pending = status.value("pending", 0);
      const std::string revision = status.value("revision", "");
      if (targeted == 0) {
        line = "Waiting for FleetDeployment \"" + o.name + "\" rollout: no device matches its targetSelector...";
      } else if (succeeded == targeted) {
        say("FleetDeployment \"" + o.name + "\" successfully rolled out: revision " + revision + " on " +
            std::to_string(targeted) + (targeted == 1 ? " device" : " devices"));
        done = true;
        return true;
      } else if (failed > 0 && pending == 0) {
        verdict = base::make_error("FleetDeployment \"" + o.name + "\" rollout failed on " + std::to_string(failed) + " of " +
                                       std::to_string(targeted) + " devices",
                                   status.value("lastError", ""),
                                   "look at the devices: harmony fleet devices; fix the workload and apply it again");
        verdict->status = base::exit_status::deploy_failed;
        return true;
      } else {
        line = "Waiting for FleetDeployment \"" + o.name + "\" rollout to finish: " + std::to_string(succeeded) + " of " +
               std::to_string(targeted) + " devices run revision " + revision +
               (failed > 0 ? " (" + std::to_string(failed) + " failed: " + status.value("lastError", "") + ")" : "") + "...";
      }
    }
    if (line != last_said) say(line);
    last_said = line;
    return false;
  };
  if (judge(**first) || !o.watch) {
    if (verdict) return base::fail(*verdict);
    return {};
  }
  kube::WatchOptions watch;
  watch.field_selector = "metadata.name=" + o.name;
  watch.timeout = o.timeout.count() > 0 ? o.timeout : std::chrono::hours(24 * 365);
  bool gone = false;
  auto watched = client.watch(
      contract::api_version, contract::deployment_kind, o.namespace_, watch,
      [&](const kube::WatchEvent& e) {
        using T = kube::WatchEvent::Type;
        if (e.type == T::deleted) {
          gone = true;
          return false;
        }
        if (e.type != T::added && e.type != T::modified) return true;
        return !judge(e.object);
      },
      stop);
  if (!watched) return base::fail(watched.error());
  if (verdict) return base::fail(*verdict);
  if (gone) {
    base::Error e = base::make_error("FleetDeployment " + o.namespace_ + "/" + o.name + " was deleted while waiting");
    e.status = base::exit_status::object_not_found;
    return base::fail(e);
  }
  if (!done) {
    base::Error e = base::make_error("timed out waiting for FleetDeployment \"" + o.name + "\" to roll out", last_said,
                                     "wait longer with --timeout, or look at the devices: harmony fleet devices");
    e.status = base::exit_status::not_ready;
    return base::fail(e);
  }
  return {};
}

}  // namespace harmony::fleet
