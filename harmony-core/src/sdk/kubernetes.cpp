// The Kubernetes topologies' shared part: connection, the in-cluster state
// (records, inventory, credentials, the Lease), apply with readiness waits,
// plan by dry run, status, destroy and logs. k3d.cpp adds the cluster.

#include <harmony/topologies/kubernetes.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <set>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <harmony/base/files.hpp>
#include <harmony/base/interrupt.hpp>
#include <harmony/base/names.hpp>
#include <harmony/base/process.hpp>
#include <harmony/base/text.hpp>
#include <harmony/base/time.hpp>
#include <harmony/errors.hpp>
#include <harmony/kube/client.hpp>
#include <harmony/kube/helm.hpp>
#include <harmony/kube/json.hpp>
#include <harmony/kube/kinds.hpp>
#include <harmony/kube/readiness.hpp>
#include <harmony/version.hpp>

#include "kubernetes_internal.hpp"

namespace harmony::topologies {

using base::expected;
using base::fail;
using nlohmann::json;
namespace exit_status = base::exit_status;

namespace kstate {

std::string record_name(std::string_view plugin, std::string_view component) {
  return "harmony." + std::string(plugin) + "." + std::string(component);
}
std::string credentials_name(std::string_view plugin, std::string_view component) {
  return record_name(plugin, component) + ".credentials";
}
std::string lease_name(std::string_view plugin) { return "harmony." + std::string(plugin); }

json entry_json(const Entry& e) {
  json j = {{"apiVersion", e.api_version}, {"kind", e.kind}, {"name", e.name}};
  if (!e.namespace_.empty()) j["namespace"] = e.namespace_;
  if (!e.applied_hash.empty()) j["appliedHash"] = e.applied_hash;
  if (!e.applied_at.empty()) j["appliedAt"] = e.applied_at;
  return j;
}

Entry entry_from(const json& j) {
  Entry e;
  e.api_version = j.value("apiVersion", "");
  e.kind = j.value("kind", "");
  e.namespace_ = j.value("namespace", "");
  e.name = j.value("name", "");
  e.applied_hash = j.value("appliedHash", "");
  e.applied_at = j.value("appliedAt", "");
  return e;
}

std::string hash_hex(std::string_view data) { return base::fingerprint(data); }

// When the field manager `harmony` last changed the object with an apply:
// the server moves that time only when the applied configuration changed
// something, so it tells a no-op apply from a real one in one request.
std::string applied_at(const kube::Object& object) {
  for (const auto& m : object.items_at("/metadata/managedFields")) {
    if (m.string_at("/manager").value_or("") == "harmony" && m.string_at("/operation").value_or("") == "Apply" &&
        !m.string_at("/subresource").has_value())
      return m.string_at("/time").value_or("");
  }
  return {};
}

// Leaves of a JSON document as "a.b[0].c" -> value, for plan's diff.
namespace {

void flatten(const json& j, const std::string& path, std::map<std::string, std::string>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      const bool dotted = k.find('.') != std::string::npos || k.find('/') != std::string::npos;
      flatten(v, path.empty() ? k : dotted ? path + "[" + k + "]" : path + "." + k, out);
    }
    if (j.empty() && !path.empty()) out[path] = "{}";
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) flatten(j[i], path + "[" + std::to_string(i) + "]", out);
    if (j.empty()) out[path] = "[]";
  } else {
    out[path] = j.is_string() ? j.get<std::string>() : j.dump();
  }
}

// What plan compares: the object without what the server keeps for itself.
json comparable(json doc) {
  if (doc.contains("metadata") && doc["metadata"].is_object()) {
    auto& m = doc["metadata"];
    for (const char* k : {"managedFields", "resourceVersion", "generation", "creationTimestamp", "uid"}) m.erase(k);
    if (m.contains("annotations") && m["annotations"].is_object()) {
      m["annotations"].erase("deployment.kubernetes.io/revision");
      if (m["annotations"].empty()) m.erase("annotations");
    }
  }
  doc.erase("status");
  return doc;
}

}  // namespace

std::vector<PlannedChange::Field> diff(const json& before, const json& after, bool secret) {
  std::map<std::string, std::string> a, b;
  flatten(comparable(before), "", a);
  flatten(comparable(after), "", b);
  std::vector<PlannedChange::Field> fields;
  // A Secret's values (data, stringData) never appear, only that they change.
  auto hidden = [&](const std::string& path) {
    return secret && (path.starts_with("data.") || path.starts_with("data[") || path.starts_with("stringData"));
  };
  auto shown = [&](const std::string& path, const std::string& value) {
    return value.empty() || !hidden(path) ? value : std::string("(secret)");
  };
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end())
      fields.push_back({k, shown(k, v), ""});
    else if (it->second != v)
      fields.push_back({k, shown(k, v), hidden(k) ? "(secret, changed)" : it->second});
  }
  for (const auto& [k, v] : b)
    if (!a.count(k)) fields.push_back({k, "", shown(k, v)});
  return fields;
}

}  // namespace kstate

using kstate::Entry;

namespace {

constexpr std::string_view managed_by = "app.kubernetes.io/managed-by";
constexpr std::string_view plugin_label = "harmony.dev/plugin";
constexpr std::string_view component_label = "harmony.dev/component";
constexpr std::string_view record_label = "harmony.dev/record";
constexpr std::string_view credentials_label = "harmony.dev/credentials";
constexpr std::string_view created_by = "harmony.dev/created-by";
constexpr std::string_view release_kind = "HelmRelease";
constexpr std::string_view release_api = "helm.sh/v1";
// The topology's own writes (namespace, records, credentials) under a field
// manager of their own: a Score applying the same namespace as `harmony`
// must not take away the annotation that says harmony created it.
constexpr std::string_view topology_manager = "harmony-topology";

bool is_release(const Entry& e) { return e.api_version == release_api && e.kind == release_kind; }

std::string describe(const Entry& e) {
  return e.kind + " " + (e.namespace_.empty() ? e.name : e.namespace_ + "/" + e.name);
}

kube::ObjectRef ref_of(const Entry& e) { return {e.api_version, e.kind, e.namespace_, e.name}; }

bool same_object(const Entry& a, const Entry& b) {
  return a.api_version == b.api_version && a.kind == b.kind && a.namespace_ == b.namespace_ && a.name == b.name;
}

// "2026-12-01T05:00:00.123456Z": the MicroTime a Lease's times are.
std::string micro_time(std::chrono::system_clock::time_point t) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count() % 1000000;
  std::string s = base::rfc3339(t);  // ...:05Z
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(us));
  return s.substr(0, s.size() - 1) + frac + "Z";
}

std::string this_host() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown-host";
  return name;
}

// This process's pid namespace ("pid:[4026531836]"): two containers may
// share a host name and a kernel (boot id) but not their pids.
std::string pid_namespace() {
  char link[64] = {};
  const auto n = ::readlink("/proc/self/ns/pid", link, sizeof link - 1);
  return n > 0 ? std::string(link, static_cast<std::size_t>(n)) : std::string("pid:[?]");
}

// Who holds a Lease: host, then this process's identity (pid, start, boot,
// pid namespace), so that a deploy that died on this very machine is
// recognised as gone.
std::string holder_identity() {
  auto me = base::identify_process(static_cast<int>(::getpid()));
  std::string id = this_host() + "/" + std::to_string(::getpid());
  if (me) id += "/" + std::to_string(me->start_ticks) + "/" + me->boot_id + "/" + pid_namespace();
  return id;
}

// Only a holder that was on this machine, in this boot and pid namespace,
// and whose process is gone, is known dead; any other waits for its Lease
// to expire (a host name alone proves nothing: "localhost" is everywhere).
bool holder_is_dead_here(const std::string& holder) {
  auto parts = base::split_list(holder, '/');
  if (parts.size() != 5 || parts[0] != this_host() || parts[3] != base::current_boot_id() || parts[4] != pid_namespace())
    return false;
  base::ProcessIdentity id;
  try {
    id.pid = std::stoi(parts[1]);
    id.start_ticks = std::stoull(parts[2]);
  } catch (const std::exception&) {
    return false;
  }
  id.boot_id = parts[3];
  const auto l = base::check_process(id);
  return l == base::Liveness::gone || l == base::Liveness::reused || l == base::Liveness::zombie;
}

}  // namespace

// ---- state ------------------------------------------------------------------------

struct KubernetesTopology::State {
  TopologyEnvironment env;
  std::string topology;
  std::unique_ptr<kube::Client> client;
  std::string namespace_;

  struct Record {
    ComponentRecord record;
    std::vector<Entry> inventory;
  };
  bool records_loaded = false;
  std::map<std::string, Record, std::less<>> records;
  std::map<std::string, std::vector<Entry>, std::less<>> applied;  // this run, per component
  std::map<std::string, std::map<std::string, std::string, std::less<>>, std::less<>> credentials;  // loaded per component
  std::optional<bool> namespace_exists;
  bool namespace_terminating = false;
  static constexpr long long lease_seconds = 30;
  std::string lease_holder;  // set while we hold it
  std::jthread renewer;
  void renew_lease();
  void stop_renewing();
  bool no_cluster = false;   // plan before k3d made the cluster
  // What the components planned so far would record, for those after them.
  std::map<std::string, ComponentRecord, std::less<>> planned;
  std::string lease_namespace;

  [[nodiscard]] std::string plugin() const { return env.plugin; }

  expected<void> load_records();
  expected<void> write_record(std::string_view component);
  expected<void> load_credentials(std::string_view component);
  expected<bool> check_namespace(RunContext& ctx, bool create);
  expected<void> take_lease(RunContext& ctx);
  expected<std::optional<kube::HelmRelease>> stored_release(const std::string& release);
  expected<void> wait_ready(RunContext& ctx, const std::vector<kube::Object>& objects);
  expected<void> wait_one(RunContext& ctx, const kube::Object& applied);
  expected<void> wait_served(RunContext& ctx, const kube::Object& crd);
  bool replace_stuck_pods(RunContext& ctx, const kube::Object& set);
  expected<void> wait_endpoints(RunContext& ctx, const kube::Object& service);
  std::string pod_problems(const kube::Object& workload, bool only_failed, bool* failed);
  // What to do about an image a node could not pull (set by pod_problems).
  std::string image_hint;
  // Whether another component of the plugin has the object: applied it in
  // this run, or lists it in its record (an object that moved between
  // components is theirs now; one two components apply is deleted by the
  // last).
  [[nodiscard]] bool owned_elsewhere(std::string_view component, const Entry& e) const;
  // Whether the namespace holds anything but what destroy just removed.
  expected<std::string> other_tenants();
  PlannedChange plan_object(const kube::Object& desired, bool namespaced,
                            const std::string& field_manager = "harmony");
  expected<std::vector<kube::Object>> pods_of(const Entry& workload);
  expected<void> remove_entry(RunContext& ctx, const Entry& e);
  // Helm releases.
  std::optional<kube::Helm> helm_program;
  kube::LoadOptions load;
  expected<const kube::Helm*> helm();
  [[nodiscard]] kube::HelmTarget helm_target() const;
  expected<void> uninstall_release(RunContext& ctx, const std::string& release);
  std::pair<bool, std::string> release_state(RunContext& ctx, const std::string& release);
  Outcome install_chart(RunContext& ctx, const HelmRelease& release);

  kube::Labels member_labels(std::string_view component) const {
    return {{std::string(managed_by), "harmony"},
            {std::string(plugin_label), env.plugin},
            {std::string(component_label), std::string(component)}};
  }
};

KubernetesTopology::KubernetesTopology(const TopologyEnvironment& environment, std::string topology_name)
    : state_(std::make_unique<State>()) {
  state_->env = environment;
  state_->topology = std::move(topology_name);
}

KubernetesTopology::~KubernetesTopology() {
  State& s = *state_;
  s.stop_renewing();
  if (s.lease_holder.empty() || !s.client) return;
  // Released on every way out, but only while it is still ours (someone may
  // have taken over a Lease that outlived its time); if this fails, it
  // expires by itself.
  const kube::ObjectRef ref{"coordination.k8s.io/v1", "Lease", s.lease_namespace, kstate::lease_name(s.env.plugin)};
  auto current = s.client->find(ref);
  if (!current || !*current || (*current)->string_at("/spec/holderIdentity").value_or("") != s.lease_holder) return;
  kube::DeleteOptions d;
  d.wait = false;
  d.precondition_resource_version = (*current)->resource_version();
  (void)s.client->remove(ref, d);
}

const TopologyEnvironment& KubernetesTopology::environment() const { return state_->env; }

void KubernetesTopology::disconnect() {
  state_->client.reset();
  state_->records_loaded = false;
  state_->records.clear();
  state_->namespace_exists.reset();
}

expected<kube::LoadOptions> KubernetesTopology::load_options() const {
  kube::LoadOptions load = kube::LoadOptions::from_environment();
  load.explicit_path = state_->env.kubeconfig;
  load.context = state_->env.context;
  return load;
}

std::string KubernetesTopology::namespace_name() const {
  State& s = *state_;
  if (!s.namespace_.empty()) return s.namespace_;
  if (!s.env.namespace_.empty()) return s.env.namespace_;
  if (!s.env.default_namespace.empty()) return s.env.default_namespace;
  if (s.client) return s.client->config().namespace_;
  return "default";
}

expected<kube::Client*> KubernetesTopology::client(RunContext&) {
  State& s = *state_;
  if (s.client) return s.client.get();
  auto load = load_options();
  if (!load) return fail(load.error());
  // -n, then the plugin's default, then the context's.
  if (!s.env.namespace_.empty())
    load->namespace_ = s.env.namespace_;
  else if (!s.env.default_namespace.empty())
    load->namespace_ = s.env.default_namespace;
  auto c = kube::Client::connect(*load);
  if (!c) return fail(c.error());
  s.load = *load;
  s.client = std::move(*c);
  s.namespace_ = s.client->config().namespace_;
  if (!base::is_dns_label(s.namespace_))
    return fail(base::usage_error("'" + base::printable(s.namespace_) + "' cannot be a namespace",
                                  "a namespace is a DNS label: at most 63 lowercase letters, digits and '-', "
                                  "starting and ending with a letter or digit",
                                  "choose another with -n"));
  return s.client.get();
}

// ---- records -------------------------------------------------------------------

expected<void> KubernetesTopology::State::load_records() {
  if (records_loaded) return {};
  kube::ListOptions o;
  o.label_selector = std::string(plugin_label) + "=" + env.plugin + "," + std::string(record_label) + "=true";
  auto listed = client->list("v1", "Secret", namespace_, o);
  if (!listed) return fail(listed.error());
  for (const auto& secret : listed->items) {
    std::string component;
    for (const auto& [k, v] : secret.strings_at("/metadata/labels"))
      if (k == component_label) component = v;
    if (component.empty()) continue;
    Record r;
    r.record.component = component;
    for (const auto& [k, v] : secret.strings_at("/data")) {
      const std::string text = base::base64_decode(v).value_or("");
      if (k == "settings.json") r.record.settings_json = text;
      if (k == "deployed-at") r.record.deployed_at = text;
      if (k == "inventory.json") {
        json inv = json::parse(text, nullptr, false);
        if (inv.is_array())
          for (const auto& e : inv) r.inventory.push_back(kstate::entry_from(e));
      }
    }
    records[component] = std::move(r);
  }
  records_loaded = true;
  return {};
}

// The record's Secret carries everything in one object: settings, time and
// inventory are always written together.
expected<void> KubernetesTopology::State::write_record(std::string_view component) {
  const Record& r = records[std::string(component)];
  json inv = json::array();
  for (const auto& e : r.inventory) inv.push_back(kstate::entry_json(e));
  kube::Labels labels = member_labels(component);
  labels[std::string(record_label)] = "true";
  kube::Secret secret{.metadata = {.name = kstate::record_name(env.plugin, component),
                                   .namespace_ = namespace_,
                                   .labels = labels,
                                   .annotations = {{"harmony.dev/topology", topology},
                                                   {"harmony.dev/version", std::string(harmony::version)}}},
                      .type = "harmony.dev/deploy-record",
                      .data = {{"settings.json", r.record.settings_json},
                               {"deployed-at", r.record.deployed_at},
                               {"inventory.json", inv.dump()}}};
  auto written = client->apply(kube::to_object(secret), {.field_manager = std::string(topology_manager), .force_conflicts = true});
  if (!written) return fail(written.error());
  return {};
}

expected<void> KubernetesTopology::State::load_credentials(std::string_view component) {
  if (credentials.count(component)) return {};
  auto found = client->find({"v1", "Secret", namespace_, kstate::credentials_name(env.plugin, component)});
  if (!found) return fail(found.error());
  auto& values = credentials[std::string(component)];
  if (*found)
    for (const auto& [k, v] : (*found)->strings_at("/data")) values[k] = base::base64_decode(v).value_or("");
  return {};
}

expected<void> KubernetesTopology::record(RunContext& ctx, const ComponentRecord& record) {
  State& s = *state_;
  if (auto c = client(ctx); !c) return fail(c.error());
  if (auto loaded = s.load_records(); !loaded) return fail(loaded.error());
  auto& r = s.records[record.component];
  r.record = record;
  r.inventory = s.applied[record.component];
  return s.write_record(record.component);
}

std::optional<ComponentRecord> KubernetesTopology::recorded(std::string_view component) const {
  State& s = *state_;
  if (auto it = s.planned.find(component); it != s.planned.end()) return it->second;
  if (!reachable_without_creating()) return std::nullopt;
  RunContext ctx;
  if (!s.client) {
    auto c = const_cast<KubernetesTopology*>(this)->client(ctx);
    if (!c) throw c.error();
  }
  if (auto loaded = s.load_records(); !loaded) throw loaded.error();
  auto it = s.records.find(component);
  if (it == s.records.end()) return std::nullopt;
  ComponentRecord r = it->second.record;
  // Objects were made, but the deploy that made them never finished.
  if (r.deployed_at.empty()) r.deployed_at = "incompletely: a deploy stopped before it finished";
  if (r.settings_json.empty()) r.settings_json = "{}";
  return r;
}

std::vector<std::string> KubernetesTopology::deployed_components() const {
  State& s = *state_;
  if (!reachable_without_creating()) return {};
  (void)recorded("");  // connects and loads, or throws
  std::vector<std::string> names;
  for (const auto& [name, r] : s.records) names.push_back(name);
  return names;
}

std::vector<std::pair<std::string, std::string>> KubernetesTopology::log_files(std::string_view) const { return {}; }

// ---- namespace and lock -------------------------------------------------------------

// Whether the namespace exists; with `create`, makes it (labelled as
// harmony's, so destroy --purge may remove it) when it does not.
expected<bool> KubernetesTopology::State::check_namespace(RunContext& ctx, bool create) {
  if (namespace_exists && (*namespace_exists || !create)) return *namespace_exists;
  auto found = client->find({"v1", "Namespace", "", namespace_});
  if (!found) return fail(found.error());
  if (*found) {
    auto health = kube::evaluate(**found);
    namespace_terminating = health.health == kube::Health::failed;
    // Deleting in a namespace being deleted is fine; creating is not.
    if (health.health == kube::Health::failed && create)
      return fail(error_with(exit_status::deploy_failed, "namespace '" + namespace_ + "' cannot be deployed to",
                             health.message, "wait until it is gone, or choose another with -n"));
    namespace_exists = true;
    return true;
  }
  if (!create) {
    namespace_exists = false;
    return false;
  }
  kube::Namespace ns{.metadata = {.name = namespace_,
                                  .labels = {{std::string(managed_by), "harmony"}},
                                  .annotations = {{std::string(created_by), env.plugin}}}};
  auto made = client->apply(kube::to_object(ns), {.field_manager = std::string(topology_manager)});
  if (!made) return fail(made.error());
  ctx.note("created namespace " + namespace_);
  namespace_exists = true;
  return true;
}

expected<void> KubernetesTopology::State::take_lease(RunContext& ctx) {
  const std::string name = kstate::lease_name(env.plugin);
  const std::string holder = holder_identity();
  const auto now = std::chrono::system_clock::now();
  // Short, and renewed while the operation runs (renew_lease): a holder
  // that dies anywhere leaves a Lease that expires half a minute later.
  const long long hold = lease_seconds;
  auto lease = [&](const std::string& resource_version) {
    json j = {{"apiVersion", "coordination.k8s.io/v1"},
              {"kind", "Lease"},
              {"metadata",
               {{"name", name},
                {"namespace", namespace_},
                {"labels", {{std::string(managed_by), "harmony"}, {std::string(plugin_label), env.plugin}}}}},
              {"spec",
               {{"holderIdentity", holder},
                {"leaseDurationSeconds", hold},
                {"acquireTime", micro_time(now)},
                {"renewTime", micro_time(now)}}}};
    if (!resource_version.empty()) j["metadata"]["resourceVersion"] = resource_version;
    return kube::object_from(std::move(j));
  };
  auto busy = [&](const kube::Object& current) {
    const std::string who = current.string_at("/spec/holderIdentity").value_or("someone");
    const std::string since = current.string_at("/spec/acquireTime").value_or("?");
    base::Error e = error_with(exit_status::lock_held,
                               "another deploy or destroy of " + env.plugin + " is running in namespace " + namespace_,
                               "Lease " + namespace_ + "/" + name + " is held by " + who + " since " + since,
                               "wait for it to finish; if it died, its Lease expires by itself, or remove it: kubectl "
                               "delete lease -n " + namespace_ + " " + name);
    return fail(std::move(e));
  };
  bool taken_over = false;
  for (int attempt = 0; attempt < 2 && !taken_over; ++attempt) {
    auto current = client->find({"coordination.k8s.io/v1", "Lease", namespace_, name});
    if (!current) return fail(current.error());
    if (!*current) {
      auto made = client->create(lease(""));
      taken_over = made.has_value();
      if (made) break;
      if (made.error().status != exit_status::conflict) return fail(made.error());
      continue;  // someone created it meanwhile: look again
    }
    const kube::Object& l = **current;
    const std::string who = l.string_at("/spec/holderIdentity").value_or("");
    const auto renewed = base::parse_rfc3339(l.string_at("/spec/renewTime").value_or(""));
    const auto duration = std::chrono::seconds(l.int_at("/spec/leaseDurationSeconds").value_or(0));
    const bool expired = who.empty() || !renewed || *renewed + duration < now;
    if (!expired && !holder_is_dead_here(who)) return busy(l);
    ctx.note("taking over the Lease of " + (who.empty() ? std::string("nobody") : who) + " (expired or gone)");
    auto taken = client->replace(lease(l.resource_version()));
    taken_over = taken.has_value();
    if (taken) break;
    if (taken.error().status != exit_status::conflict) return fail(taken.error());
    auto again = client->find({"coordination.k8s.io/v1", "Lease", namespace_, name});
    if (again && *again) return busy(**again);
    return fail(taken.error());
  }
  if (!taken_over) {
    auto current = client->find({"coordination.k8s.io/v1", "Lease", namespace_, name});
    if (current && *current) return busy(**current);
    return fail(error_with(exit_status::lock_held, "cannot take the Lease of " + env.plugin + " in namespace " + namespace_,
                           "others created and removed it while harmony tried", "try again"));
  }
  lease_holder = holder;
  lease_namespace = namespace_;
  renew_lease();
  return {};
}

// Renews the Lease every third of its duration from a thread of its own
// (with a client of its own: the operation's is not shared across threads),
// until the topology is done with it. A Lease found taken by someone else is
// left alone: it was lost, and releasing it later will not touch it either.
void KubernetesTopology::State::renew_lease() {
  auto own = kube::Client::connect(load);
  if (!own) return;  // then it expires; the operation itself goes on
  const kube::ObjectRef ref{"coordination.k8s.io/v1", "Lease", lease_namespace, kstate::lease_name(env.plugin)};
  renewer = std::jthread([ref, holder = lease_holder, api = std::shared_ptr<kube::Client>(std::move(*own))](
                             std::stop_token stop) {
    std::mutex m;
    std::condition_variable_any wake;
    while (true) {
      {
        std::unique_lock lock(m);
        wake.wait_for(lock, stop, std::chrono::seconds(lease_seconds / 3), [] { return false; });
      }
      if (stop.stop_requested()) return;
      auto current = api->find(ref);
      if (!current || !*current) continue;
      kube::Object lease = **current;
      if (lease.string_at("/spec/holderIdentity").value_or("") != holder) return;
      lease.set_string("/spec/renewTime", micro_time(std::chrono::system_clock::now()));
      (void)api->replace(lease);
    }
  });
}

void KubernetesTopology::State::stop_renewing() {
  if (!renewer.joinable()) return;
  renewer.request_stop();
  renewer.join();
}

expected<Outcome> KubernetesTopology::ensure_ready(RunContext& ctx) {
  State& s = *state_;
  auto c = client(ctx);
  if (!c) return fail(c.error());
  const bool deploying = ctx.operation != "destroy";
  auto exists = s.check_namespace(ctx, deploying);
  if (!exists) return fail(exists.error());
  if (!*exists) return Outcome::no_change("namespace " + s.namespace_ + " does not exist");
  // A namespace being deleted takes no new Lease, and no deploy can race us there.
  if (!s.namespace_terminating)
    if (auto taken = s.take_lease(ctx); !taken) return fail(taken.error());
  // Read under the lock: a deploy that ended a moment ago is seen whole.
  s.records_loaded = false;
  s.records.clear();
  if (auto loaded = s.load_records(); !loaded) return fail(loaded.error());
  return Outcome::no_change("connected to " + (*c)->config().describe() + ", namespace " + s.namespace_);
}

void KubernetesTopology::plan_record(const ComponentRecord& record) { state_->planned[record.component] = record; }

expected<void> KubernetesTopology::plan_ready(RunContext& ctx) {
  State& s = *state_;
  s.planned.clear();
  // No cluster yet (k3d would create it): everything is to be created.
  if (!reachable_without_creating()) {
    s.no_cluster = true;
    s.records_loaded = true;
    return {};
  }
  auto c = client(ctx);
  if (!c) return fail(c.error());
  if (auto exists = s.check_namespace(ctx, false); !exists) return fail(exists.error());
  return s.load_records();
}

// ---- apply and wait --------------------------------------------------------------

PlannedChange KubernetesTopology::State::plan_object(const kube::Object& desired, bool namespaced,
                                                     const std::string& field_manager) {
  PlannedChange change;
  const auto ref = kube::ObjectRef::of(desired);
  change.what = ref.describe();
  const bool secret = desired.kind() == "Secret" && desired.api_version() == "v1";
  std::optional<kube::Object> live;
  if (!namespaced || namespace_exists.value_or(false)) {
    auto found = client->find(ref);
    if (found && *found) live = **found;
  }
  if (!live) {
    change.action = "create";
    return change;
  }
  kube::ApplyOptions o;
  o.dry_run = true;
  o.field_manager = field_manager;
  o.force_conflicts = env.force_conflicts || field_manager != "harmony";
  auto result = client->apply(desired, o);
  if (!result) {
    change.action = "update";
    change.fields.push_back({"(server-side apply)", "", "refused: " + result.error().message});
    return change;
  }
  change.fields = kstate::diff(kube::json_of(*live), kube::json_of(*result), secret);
  change.action = change.fields.empty() ? "none" : "update";
  return change;
}

Outcome KubernetesTopology::apply(RunContext& ctx, const std::vector<kube::Object>& objects) {
  State& s = *state_;
  if (s.no_cluster && ctx.dry_run()) {
    // Without a server to ask, the built-in cluster-scoped kinds are known;
    // anything else is taken as namespaced.
    static const std::set<std::string> cluster_scoped{
        "Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
        "StorageClass", "PriorityClass", "IngressClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"};
    for (const auto& o : objects) {
      auto ref = kube::ObjectRef::of(o);
      if (ref.namespace_.empty() && !cluster_scoped.count(ref.kind)) ref.namespace_ = namespace_name();
      ctx.plan->push_back({"create", ref.describe(), {}});
    }
    return Outcome::no_change("planned");
  }
  // A CRD followed by more objects (its custom resources, perhaps): those
  // are looked up only once it is Established, so one list may hold both.
  for (std::size_t i = 0; i + 1 < objects.size(); ++i) {
    if (objects[i].kind() != "CustomResourceDefinition") continue;
    Outcome first = apply(ctx, {objects.begin(), objects.begin() + static_cast<std::ptrdiff_t>(i) + 1});
    if (first.failed()) return first;
    Outcome rest = apply(ctx, {objects.begin() + static_cast<std::ptrdiff_t>(i) + 1, objects.end()});
    if (rest.failed() || !first.changed()) return rest;
    if (!rest.changed()) return first;
    return Outcome::success(first.message + "; " + rest.message);
  }
  auto c = client(ctx);
  if (!c) return Outcome::failure(c.error());
  kube::Client& api = **c;
  if (auto loaded = s.load_records(); !loaded) return Outcome::failure(loaded.error());

  // Complete each object: namespace, and the labels that say whose it is.
  std::vector<kube::Object> desired;
  std::vector<Entry> entries;
  std::vector<bool> namespaced;
  for (const auto& o : objects) {
    kube::Object d = o;
    auto type = api.resource_for(d.api_version(), d.kind());
    // In a dry run, a kind whose CRD a previous step would install is new.
    const bool is_namespaced = type ? type->namespaced : true;
    if (!type && !ctx.dry_run()) return Outcome::failure(type.error());
    if (is_namespaced && d.namespace_().empty()) d.set_string("/metadata/namespace", s.namespace_);
    // A binding's service accounts without a namespace are the binding's.
    if (d.api_version() == "rbac.authorization.k8s.io/v1" && (d.kind() == "RoleBinding" || d.kind() == "ClusterRoleBinding"))
      if (auto& subjects = kube::json_of(d)["subjects"]; subjects.is_array())
        for (auto& subject : subjects)
          if (subject.value("kind", "") == "ServiceAccount" && subject.value("namespace", "").empty())
            subject["namespace"] = d.namespace_().empty() ? s.namespace_ : d.namespace_();
    for (const auto& [k, v] : s.member_labels(ctx.component)) {
      std::string escaped;
      for (char ch : k) escaped += ch == '/' ? std::string("~1") : std::string(1, ch);
      // An object two components apply names one of them itself, so that
      // each applies the same labels.
      if (k == component_label && d.has("/metadata/labels/" + escaped)) continue;
      d.set_string("/metadata/labels/" + escaped, v);
    }
    Entry e{d.api_version(), d.kind(), is_namespaced ? d.namespace_() : "", d.name(), "", ""};
    e.applied_hash = kstate::hash_hex(d.to_json());
    desired.push_back(std::move(d));
    entries.push_back(std::move(e));
    namespaced.push_back(is_namespaced);
  }

  auto& done = s.applied[ctx.component];
  if (ctx.dry_run()) {
    for (std::size_t i = 0; i < desired.size(); ++i) {
      ctx.plan->push_back(s.plan_object(desired[i], namespaced[i]));
      done.push_back(entries[i]);
    }
    return Outcome::no_change("planned");
  }

  // New objects enter the inventory before they exist, so that a deploy
  // that dies midway leaves nothing destroy would not find.
  auto& record = s.records[ctx.component];
  std::vector<Entry> fresh;
  for (const auto& e : entries)
    if (std::none_of(record.inventory.begin(), record.inventory.end(), [&](const Entry& x) { return same_object(x, e); }))
      fresh.push_back(e);
  if (!fresh.empty()) {
    if (record.record.component.empty()) record.record.component = ctx.component;
    record.inventory.insert(record.inventory.end(), fresh.begin(), fresh.end());
    if (auto written = s.write_record(ctx.component); !written) return Outcome::failure(written.error());
  }

  std::size_t changed = 0;
  std::vector<std::string> what_changed;
  bool crd_changed = false;
  std::vector<kube::Object> results;
  for (std::size_t i = 0; i < desired.size(); ++i) {
    if (ctx.interrupted()) return Outcome::failure(interrupted_error());
    kube::ApplyOptions o;
    o.force_conflicts = s.env.force_conflicts;
    auto result = api.apply(desired[i], o);
    if (!result) {
      base::Error e = result.error();
      if (e.status == exit_status::conflict && e.hint.empty())
        e.hint = "to take the fields over, deploy again with --force-conflicts";
      if (e.reason.find("provided port is already allocated") != std::string::npos)
        e.hint = "another Service in the cluster has that node port: choose another (30000-32767), or let Kubernetes "
                 "pick one";
      return Outcome::failure(std::move(e));
    }
    Entry& e = entries[i];
    e.applied_at = kstate::applied_at(*result);
    auto before = std::find_if(record.inventory.begin(), record.inventory.end(), [&](const Entry& x) { return same_object(x, e); });
    const bool known = before != record.inventory.end() &&
                       std::none_of(fresh.begin(), fresh.end(), [&](const Entry& x) { return same_object(x, e); });
    // Unchanged: as this component, or another that applies it too, last
    // applied it, and nothing else has applied it since.
    auto as_applied = [&](const Entry& x) {
      return same_object(x, e) && x.applied_hash == e.applied_hash && x.applied_at == e.applied_at && !e.applied_at.empty();
    };
    bool same = known && as_applied(*before);
    for (const auto& [name, r] : s.records)
      same = same || (name != ctx.component && std::any_of(r.inventory.begin(), r.inventory.end(), as_applied));
    for (const auto& [name, list] : s.applied)
      same = same || (name != ctx.component && std::any_of(list.begin(), list.end(), as_applied));
    if (!same) {
      ++changed;
      crd_changed = crd_changed || e.kind == "CustomResourceDefinition";
      what_changed.push_back((known ? "updated " : "created ") + describe(e));
      ctx.note(what_changed.back());
    }
    if (auto twice = std::find_if(done.begin(), done.end(), [&](const Entry& x) { return same_object(x, e); });
        twice != done.end() && twice->applied_hash != e.applied_hash)
      ctx.warn(describe(e) + " is applied twice in one deploy, differently: the last one wins");
    std::erase_if(done, [&](const Entry& x) { return same_object(x, e); });
    done.push_back(e);
    results.push_back(std::move(*result));
  }
  if (auto ready = s.wait_ready(ctx, results); !ready) return Outcome::failure(ready.error());
  // Kinds a CRD just made are served now, but discovery lags Established a
  // little: wait until it lists them, or the next step finds no such kind.
  if (crd_changed)
    for (const auto& crd : results)
      if (crd.kind() == "CustomResourceDefinition")
        if (auto served = s.wait_served(ctx, crd); !served) return Outcome::failure(served.error());
  const std::string n = std::to_string(desired.size()) + " object" + (desired.size() == 1 ? "" : "s");
  if (changed == 0) return Outcome::no_change(n + " unchanged");
  if (what_changed.size() <= 2) return Outcome::success(base::join(what_changed, ", "));
  return Outcome::success("applied " + n + " (" + std::to_string(changed) + " changed)");
}

expected<void> KubernetesTopology::State::wait_served(RunContext& ctx, const kube::Object& crd) {
  const auto group = crd.string_at("/spec/group").value_or("");
  const auto kind = crd.string_at("/spec/names/kind").value_or("");
  std::vector<std::string> versions;
  for (const auto& v : crd.items_at("/spec/versions"))
    if (v.bool_at("/served").value_or(false)) versions.push_back(group + "/" + v.string_at("/name").value_or(""));
  for (const auto& version : versions) {
    while (true) {
      client->invalidate_discovery();
      auto type = client->resource_for(version, kind);
      if (type) break;
      if (type.error().status != exit_status::object_not_found) return fail(type.error());
      if (ctx.interrupted()) return fail(interrupted_error());
      if (ctx.expired())
        return fail(error_with(exit_status::not_ready, "the cluster does not serve " + kind + " (" + version + ") in time",
                               "CustomResourceDefinition " + crd.name() + " is Established, but discovery does not list it",
                               "look at: kubectl api-resources --api-group=" + group));
      std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(ctx.remaining(), std::chrono::milliseconds(100)));
    }
  }
  return {};
}

expected<void> KubernetesTopology::State::wait_ready(RunContext& ctx, const std::vector<kube::Object>& objects) {
  for (const auto& o : objects) {
    const auto r = kube::evaluate(o);
    if (r.health != kube::Health::current)
      if (auto ok = wait_one(ctx, o); !ok) return ok;
    if (o.kind() == "Service" && o.api_version() == "v1")
      if (auto ok = wait_endpoints(ctx, o); !ok) return ok;
  }
  return {};
}

// A Service is ready when its EndpointSlices list every pod it selects that
// is Ready: until then a client that connects right after the deploy is
// refused. A Service whose pods are not there (0 replicas) has nothing to
// wait for.
expected<void> KubernetesTopology::State::wait_endpoints(RunContext& ctx, const kube::Object& service) {
  std::vector<std::string> selector;
  for (const auto& [k, v] : service.strings_at("/spec/selector")) selector.push_back(k + "=" + v);
  if (selector.empty()) return {};
  kube::ListOptions pods_by;
  pods_by.label_selector = base::join(selector, ",");
  std::set<std::string> ready;
  auto ready_pods = [&]() -> expected<void> {
    auto pods = client->list("v1", "Pod", service.namespace_(), pods_by);
    if (!pods) return fail(pods.error());
    ready.clear();
    for (const auto& pod : pods->items)
      if (kube::evaluate(pod).health == kube::Health::current && !pod.has("/metadata/deletionTimestamp"))
        if (auto ip = pod.string_at("/status/podIP")) ready.insert(*ip);
    return {};
  };
  std::map<std::string, std::set<std::string>> slices;  // slice -> ready addresses
  auto covered = [&] {
    std::set<std::string> all;
    for (const auto& [name, addresses] : slices) all.insert(addresses.begin(), addresses.end());
    return std::includes(all.begin(), all.end(), ready.begin(), ready.end());
  };
  std::string version;
  // In slices, as wait_one does: between them the pods are looked at again
  // (one that went away is no longer waited for) and Ctrl-C is noticed.
  bool seen = false;  // the slices as the server has them are known
  while (true) {
    if (auto listed = ready_pods(); !listed) return listed;
    if (ready.empty() || (seen && covered())) return {};
    if (ctx.interrupted()) return fail(interrupted_error());
    if (ctx.expired())
      return fail(error_with(exit_status::not_ready,
                             "Service " + service.namespace_() + "/" + service.name() + " has no endpoints for all its ready pods in time",
                             std::to_string(ready.size()) + " ready pods are selected by it",
                             "look at: kubectl get endpointslices -n " + service.namespace_() +
                                 " -l kubernetes.io/service-name=" + service.name()));
    kube::WatchOptions w;
    w.label_selector = "kubernetes.io/service-name=" + service.name();
    w.resource_version = version;
    w.timeout = std::clamp<std::chrono::milliseconds>(ctx.remaining(), std::chrono::milliseconds(1), std::chrono::seconds(2));
    bool done = false;
    auto watched = client->watch("discovery.k8s.io/v1", "EndpointSlice", service.namespace_(), w, [&](const kube::WatchEvent& e) {
      using T = kube::WatchEvent::Type;
      if (e.type == T::relisted) slices.clear();
      if (e.type == T::deleted) slices.erase(e.object.name());
      if (e.type == T::added || e.type == T::modified) {
        auto& addresses = slices[e.object.name()];
        addresses.clear();
        for (const auto& endpoint : e.object.items_at("/endpoints")) {
          if (!endpoint.bool_at("/conditions/ready").value_or(true)) continue;
          for (const auto& a : endpoint.string_list_at("/addresses")) addresses.insert(a);
        }
      }
      if (e.type == T::added || e.type == T::modified || e.type == T::deleted || e.type == T::bookmark)
        if (!e.object.resource_version().empty()) version = e.object.resource_version();
      if (e.type == T::synced) seen = true;
      if (e.type == T::synced || e.type == T::added || e.type == T::modified || e.type == T::deleted) done = covered();
      return !done && !ctx.interrupted();
    });
    if (!watched) return fail(watched.error());
    if (done) return {};
  }
}

expected<std::vector<kube::Object>> KubernetesTopology::State::pods_of(const Entry& workload) {
  auto got = client->get(ref_of(workload));
  if (!got) return fail(got.error());
  std::vector<std::string> selector;
  for (const auto& [k, v] : got->strings_at("/spec/selector/matchLabels")) selector.push_back(k + "=" + v);
  if (selector.empty()) return std::vector<kube::Object>{};
  kube::ListOptions o;
  o.label_selector = base::join(selector, ",");
  auto pods = client->list("v1", "Pod", workload.namespace_, o);
  if (!pods) return fail(pods.error());
  return std::move(pods->items);
}

// What is wrong with a workload's pods, with the last lines of a failing
// container's log: what a user would look up next with kubectl.
std::string KubernetesTopology::State::pod_problems(const kube::Object& workload, bool only_failed,
                                                     bool* failed) {
  Entry w{workload.api_version(), workload.kind(), workload.namespace_(), workload.name(), "", ""};
  auto pods = w.kind == "Pod" ? expected<std::vector<kube::Object>>(std::vector<kube::Object>{workload}) : pods_of(w);
  if (!pods) return {};
  image_hint.clear();  // about these pods only
  std::string text;
  for (const auto& pod : *pods) {
    const auto r = kube::evaluate(pod);
    if (r.health == kube::Health::current) continue;
    if (only_failed && r.health != kube::Health::failed) continue;
    if (r.health == kube::Health::failed && failed != nullptr) *failed = true;
    text += "\n  pod " + pod.name() + ": " + r.message;
    for (const auto& status : pod.items_at("/status/containerStatuses")) {
      const std::string waiting = status.string_at("/state/waiting/reason").value_or("");
      // Out of time, a container that runs but never became ready says why
      // in its log more often than anywhere else.
      const bool unready = !only_failed && status.has("/state/running") && !status.bool_at("/ready").value_or(false);
      if (waiting == "ErrImagePull" || waiting == "ImagePullBackOff" || waiting == "ErrImageNeverPull") {
        const std::string image = status.string_at("/image").value_or("?");
        const std::string node = pod.string_at("/spec/nodeName").value_or("?");
        text += "\n  node " + node + " cannot get image " + image + ": " +
                base::printable(status.string_at("/state/waiting/message").value_or(waiting));
        image_hint = "load the image into the cluster (" +
                     (topology == "k3d" ? "k3d image import " + image + (env.cluster.empty() ? "" : " -c " + env.cluster)
                                        : "docker/ctr load on each node") +
                     "), or push it to a registry the nodes reach and give its pull Secret; an image loaded by hand "
                     "is used only with imagePullPolicy IfNotPresent or Never, and never under the tag `latest`";
      }
      const bool crashed = status.string_at("/state/waiting/reason").value_or("") == "CrashLoopBackOff" ||
                           status.has("/lastState/terminated");
      if (!crashed && !unready && !status.has("/state/terminated")) continue;
      std::vector<std::string> lines;
      kube::PodLogOptions o;
      o.namespace_ = pod.namespace_();
      o.pod = pod.name();
      o.container = status.string_at("/name").value_or("");
      o.tail_lines = 10;
      o.previous = !unready && !status.has("/state/terminated");
      o.timeout = std::chrono::seconds(5);
      (void)client->pod_log(o, [&](std::string_view line) {
        lines.emplace_back(line);
        return true;
      });
      if (lines.empty()) continue;
      text += "\n  the end of container " + o.container + "'s log:";
      for (auto& l : lines) {
        while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
        text += "\n    | " + base::printable(l);
      }
    }
  }
  return text;
}

bool KubernetesTopology::State::replace_stuck_pods(RunContext& ctx, const kube::Object& set) {
  auto live = client->get(kube::ObjectRef::of(set));
  if (!live) return false;
  const std::string revision = live->string_at("/status/updateRevision").value_or("");
  if (revision.empty()) return false;
  Entry e{set.api_version(), set.kind(), set.namespace_(), set.name(), "", ""};
  auto pods = pods_of(e);
  if (!pods) return false;
  bool replaced = false;
  for (const auto& pod : *pods) {
    const std::string pod_revision = pod.string_at("/metadata/labels/controller-revision-hash").value_or("");
    if (pod_revision.empty() || pod_revision == revision || pod.has("/metadata/deletionTimestamp")) continue;
    if (kube::evaluate(pod).health != kube::Health::failed) continue;
    kube::DeleteOptions d;
    d.wait = false;
    if (client->remove({"v1", "Pod", pod.namespace_(), pod.name()}, d)) {
      ctx.note("replaced pod " + pod.name() + ", stuck on the previous template of StatefulSet " + set.name());
      replaced = true;
    }
  }
  return replaced;
}

expected<void> KubernetesTopology::State::wait_one(RunContext& ctx, const kube::Object& object) {
  const std::string what = kube::ObjectRef::of(object).describe();
  const bool workload = object.kind() == "Deployment" || object.kind() == "StatefulSet" ||
                        object.kind() == "DaemonSet" || object.kind() == "Job" || object.kind() == "Pod";
  ctx.note("waiting for " + what);
  kube::Readiness last = kube::evaluate(object);
  std::string version = object.resource_version();
  while (true) {
    if (ctx.interrupted()) return fail(interrupted_error());
    if (ctx.expired()) {
      bool failed = false;
      return fail(error_with(exit_status::not_ready, what + " was not ready in time",
                             last.message + pod_problems(object, false, &failed),
                             "look at it with: kubectl describe " + object.kind() + " -n " + object.namespace_() +
                                 " " + object.name() + "; or allow more time with --timeout"));
    }
    // A watch on this one object, in slices: between them the workload's
    // pods are looked at, so an image that cannot be pulled fails the
    // deploy at once instead of at the deadline.
    kube::WatchOptions w;
    w.field_selector = "metadata.name=" + object.name();
    w.resource_version = version;
    w.timeout = std::min<std::chrono::milliseconds>(ctx.remaining(), std::chrono::seconds(2));
    if (w.timeout.count() <= 0) w.timeout = std::chrono::milliseconds(1);
    bool done = false;
    auto watched = client->watch(object.api_version(), object.kind(), object.namespace_(), w, [&](const kube::WatchEvent& e) {
      using T = kube::WatchEvent::Type;
      if (e.type == T::added || e.type == T::modified) {
        version = e.object.resource_version();
        last = kube::evaluate(e.object);
        done = last.health != kube::Health::in_progress;
      } else if (e.type == T::deleted) {
        last = {kube::Health::failed, "it was deleted while harmony waited for it"};
        done = true;
      } else if (e.type == T::bookmark) {
        version = e.object.resource_version();
      } else if (e.type == T::relisted) {
        version.clear();
      }
      return !done;
    });
    if (!watched) return fail(watched.error());
    if (last.health == kube::Health::current) return {};
    if (last.health == kube::Health::failed) {
      bool failed = false;
      return fail(error_with(exit_status::deploy_failed, what + " failed", last.message + pod_problems(object, false, &failed),
                             "look at it with: kubectl describe " + object.kind() + " -n " + object.namespace_() + " " +
                                 object.name()));
    }
    if (workload) {
      bool failed = false;
      std::string problems = pod_problems(object, true, &failed);
      // A StatefulSet does not replace a pod that is broken on its previous
      // template (a wrong image, now fixed): it waits for it for ever.
      if (failed && object.kind() == "StatefulSet" && replace_stuck_pods(ctx, object)) continue;
      if (failed)
        return fail(error_with(exit_status::deploy_failed, what + " cannot become ready", last.message + problems,
                               image_hint.empty() ? "fix the image or the configuration, then deploy again" : image_hint));
    }
  }
}

// ---- credentials -----------------------------------------------------------------

expected<std::string> KubernetesTopology::ensure_secret(RunContext& ctx, std::string_view name,
                                                        const std::function<std::string()>& generate) {
  State& s = *state_;
  if (s.no_cluster && ctx.dry_run()) return generate();
  if (auto c = client(ctx); !c) return fail(c.error());
  if (!s.namespace_exists.value_or(false) && ctx.dry_run()) return generate();
  if (auto loaded = s.load_credentials(ctx.component); !loaded) return fail(loaded.error());
  auto& values = s.credentials[ctx.component];
  if (auto it = values.find(name); it != values.end()) return it->second;
  std::string value = generate();
  if (ctx.dry_run()) return value;
  values[std::string(name)] = value;
  kube::Labels labels = s.member_labels(ctx.component);
  labels[std::string(credentials_label)] = "true";
  kube::Secret secret{.metadata = {.name = kstate::credentials_name(s.env.plugin, ctx.component),
                                   .namespace_ = s.namespace_,
                                   .labels = labels},
                      .data = {values.begin(), values.end()}};
  auto written = (*client(ctx))->apply(kube::to_object(secret), {.field_manager = std::string(topology_manager), .force_conflicts = true});
  if (!written) return fail(written.error());
  ctx.note("generated credential " + std::string(name));
  return value;
}

// ---- prune, destroy, status ------------------------------------------------------

namespace {

std::vector<Entry> stale_entries(const std::vector<Entry>& recorded, const std::vector<Entry>& now) {
  std::vector<Entry> stale;
  for (const auto& e : recorded)
    if (std::none_of(now.begin(), now.end(), [&](const Entry& x) { return same_object(x, e); })) stale.push_back(e);
  std::reverse(stale.begin(), stale.end());
  return stale;
}

}  // namespace

bool KubernetesTopology::State::owned_elsewhere(std::string_view component, const Entry& e) const {
  auto has = [&](const std::vector<Entry>& list) {
    return std::any_of(list.begin(), list.end(), [&](const Entry& x) { return same_object(x, e); });
  };
  for (const auto& [name, list] : applied)
    if (name != component && has(list)) return true;
  for (const auto& [name, r] : records)
    if (name != component && has(r.inventory)) return true;
  return false;
}

expected<std::string> KubernetesTopology::State::other_tenants() {
  // Another plugin's records, then anything users put there themselves
  // (the kinds people put in a namespace; what Kubernetes makes itself in
  // every namespace does not count).
  kube::ListOptions records_of_anyone;
  records_of_anyone.label_selector = std::string(record_label) + "=true";
  auto others = client->list("v1", "Secret", namespace_, records_of_anyone);
  if (!others) return fail(others.error());
  for (const auto& r : others->items) {
    std::string plugin;
    for (const auto& [k, v] : r.strings_at("/metadata/labels"))
      if (k == plugin_label) plugin = v;
    if (plugin != env.plugin) return "plugin " + plugin + " has components deployed there";
  }
  const std::vector<std::pair<std::string, std::string>> kinds{
      {"v1", "ConfigMap"}, {"v1", "Secret"},     {"v1", "Pod"},          {"v1", "Service"},
      {"v1", "PersistentVolumeClaim"},           {"apps/v1", "Deployment"}, {"apps/v1", "StatefulSet"},
      {"apps/v1", "DaemonSet"}, {"batch/v1", "Job"}, {"v1", "ServiceAccount"}};
  for (const auto& [api, kind] : kinds) {
    auto items = client->list(api, kind, namespace_);
    if (!items) return fail(items.error());
    for (const auto& o : items->items) {
      const std::string name = o.name();
      if (kind == "ConfigMap" && name == "kube-root-ca.crt") continue;
      if (kind == "ServiceAccount" && name == "default") continue;
      if (o.has("/metadata/deletionTimestamp")) continue;
      bool ours = false;
      for (const auto& [k, v] : o.strings_at("/metadata/labels"))
        if (k == plugin_label && v == env.plugin) ours = true;
      if (!ours) return kind + " " + name + " is not harmony's";
    }
  }
  return std::string();
}

expected<void> KubernetesTopology::plan_prune(RunContext& ctx) {
  State& s = *state_;
  auto it = s.records.find(ctx.component);
  if (it == s.records.end()) return {};
  for (const auto& e : stale_entries(it->second.inventory, s.applied[ctx.component]))
    if (!s.owned_elsewhere(ctx.component, e)) ctx.plan->push_back({"delete", describe(e), {}});
  return {};
}

expected<Outcome> KubernetesTopology::prune(RunContext& ctx) {
  State& s = *state_;
  auto it = s.records.find(ctx.component);
  if (it == s.records.end()) return Outcome::no_change("nothing to prune");
  auto stale = stale_entries(it->second.inventory, s.applied[ctx.component]);
  std::erase_if(stale, [&](const Entry& e) { return s.owned_elsewhere(ctx.component, e); });
  for (const auto& e : stale) {
    if (auto removed = s.remove_entry(ctx, e); !removed) return fail(removed.error());
    ctx.note("pruned " + describe(e));
  }
  if (stale.empty()) return Outcome::no_change("nothing to prune");
  return Outcome::success("pruned " + std::to_string(stale.size()) + " object" + (stale.size() == 1 ? "" : "s"));
}

expected<void> KubernetesTopology::State::remove_entry(RunContext& ctx, const Entry& e) {
  State& s = *this;
  if (is_release(e)) return uninstall_release(ctx, e.name);
  kube::DeleteOptions d;
  d.timeout = std::max<std::chrono::milliseconds>(ctx.remaining(), std::chrono::seconds(1));
  // Foreground: a Deployment is gone only once its pods are, so "destroyed"
  // means nothing of it still runs.
  d.propagation = kube::Propagation::foreground;
  if (auto removed = s.client->remove(ref_of(e), d); !removed) {
    // A kind whose CRD went first is gone with it.
    if (removed.error().status == exit_status::object_not_found) return {};
    return fail(removed.error());
  }
  return {};
}

expected<Outcome> KubernetesTopology::destroy(RunContext& ctx, const DestroyOptions& options) {
  State& s = *state_;
  if (ctx.component.empty()) return Outcome::no_change("nothing of " + s.env.plugin + " is deployed");
  if (auto c = client(ctx); !c) return fail(c.error());
  if (auto loaded = s.load_records(); !loaded) return fail(loaded.error());
  std::size_t removed = 0;
  if (auto it = s.records.find(ctx.component); it != s.records.end()) {
    auto inventory = it->second.inventory;
    for (auto e = inventory.rbegin(); e != inventory.rend(); ++e) {
      if (ctx.interrupted()) return fail(interrupted_error());
      if (s.owned_elsewhere(ctx.component, *e)) continue;  // still another component's
      if (auto gone = s.remove_entry(ctx, *e); !gone) return fail(gone.error());
      ++removed;
    }
    kube::DeleteOptions d;
    d.wait = false;
    if (auto gone = s.client->remove({"v1", "Secret", s.namespace_, kstate::record_name(s.env.plugin, ctx.component)}, d);
        !gone)
      return fail(gone.error());
    s.records.erase(it);
  }
  std::string message = "deleted " + std::to_string(removed) + " object" + (removed == 1 ? "" : "s");
  if (options.purge) {
    kube::DeleteOptions d;
    d.wait = false;
    if (auto gone = s.client->remove({"v1", "Secret", s.namespace_, kstate::credentials_name(s.env.plugin, ctx.component)}, d);
        !gone)
      return fail(gone.error());
    message += " and its credentials";
    // The namespace harmony made goes with the last component of the plugin
    // that made it, unless something else lives there.
    if (s.records.empty()) {
      auto ns = s.client->find({"v1", "Namespace", "", s.namespace_});
      if (ns && *ns) {
        bool ours = false;
        for (const auto& [k, v] : (*ns)->strings_at("/metadata/annotations"))
          if (k == created_by && v == s.env.plugin) ours = true;
        std::string tenants;
        if (ours) {
          auto others = s.other_tenants();
          if (!others) return fail(others.error());
          tenants = *others;
        }
        if (ours && !tenants.empty()) {
          ctx.warn("namespace " + s.namespace_ + " stays: " + tenants);
          message += "; namespace " + s.namespace_ + " kept (" + tenants + ")";
        } else if (ours) {
          // The Lease is in it: let it go first.
          s.stop_renewing();
          kube::DeleteOptions quick;
          quick.wait = false;
          (void)s.client->remove({"coordination.k8s.io/v1", "Lease", s.namespace_, kstate::lease_name(s.env.plugin)}, quick);
          s.lease_holder.clear();
          kube::DeleteOptions wait;
          wait.timeout = std::max<std::chrono::milliseconds>(ctx.remaining(), std::chrono::seconds(1));
          if (auto gone = s.client->remove({"v1", "Namespace", "", s.namespace_}, wait); !gone) return fail(gone.error());
          message += "; namespace " + s.namespace_ + " (harmony created it)";
        }
      }
    }
  }
  return Outcome::success(message);
}

std::vector<ResourceState> KubernetesTopology::resources(RunContext& ctx) {
  State& s = *state_;
  std::vector<ResourceState> out;
  if (!recorded(ctx.component)) return out;
  for (const auto& e : s.records[ctx.component].inventory) {
    ResourceState r;
    r.kind = e.kind;
    r.name = e.namespace_.empty() ? e.name : e.namespace_ + "/" + e.name;
    if (is_release(e)) {
      auto info = s.release_state(ctx, e.name);
      r.up = info.first;
      r.state = info.second;
      out.push_back(std::move(r));
      continue;
    }
    auto live = s.client->find(ref_of(e));
    if (!live) {
      r.state = "unknown: " + live.error().message;
    } else if (!*live) {
      r.state = "missing (deleted behind harmony's back; deploy again)";
    } else {
      const auto health = kube::evaluate(**live);
      r.up = health.health == kube::Health::current;
      r.state = r.up ? "ready" : (health.health == kube::Health::failed ? "failed: " : "not ready: ") + health.message;
      if (auto created = (*live)->string_at("/metadata/creationTimestamp")) r.details.emplace_back("since", *created);
      // A workload's pods, as kubectl get pods shows them: ready, restarts.
      if (e.kind == "Deployment" || e.kind == "StatefulSet" || e.kind == "DaemonSet" || e.kind == "Job") {
        std::vector<std::string> pods;
        if (auto listed = s.pods_of(e))
          for (const auto& pod : *listed) {
            std::int64_t restarts = 0;
            for (const auto& c : pod.items_at("/status/containerStatuses")) restarts += c.int_at("/restartCount").value_or(0);
            const bool ready = kube::evaluate(pod).health == kube::Health::current;
            pods.push_back(pod.name() + " " + (ready ? "ready" : "not ready") + ", " + std::to_string(restarts) +
                           (restarts == 1 ? " restart" : " restarts"));
          }
        if (!pods.empty()) r.details.emplace_back("pods", base::join(pods, "; "));
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

// ---- logs ---------------------------------------------------------------------

expected<void> KubernetesTopology::logs(RunContext& ctx, std::string_view component, const LogOptions& options,
                                        const std::function<void(std::string_view, std::string_view)>& sink) {
  State& s = *state_;
  auto record = recorded(component);
  if (!record)
    return fail(base::make_error("no logs for '" + std::string(component) + "' on " + s.topology,
                                 "it is not deployed in namespace " + s.namespace_,
                                 "deploy it first: harmony deploy " + s.env.plugin + " " + std::string(component)));
  struct Source {
    std::string namespace_, pod, container, label;
  };
  std::vector<Source> sources;
  for (const auto& e : s.records[std::string(component)].inventory) {
    if (e.kind != "Deployment" && e.kind != "StatefulSet" && e.kind != "DaemonSet" && e.kind != "Job" && e.kind != "Pod")
      continue;
    std::vector<kube::Object> pods;
    if (e.kind == "Pod") {
      auto p = s.client->find(ref_of(e));
      if (p && *p) pods.push_back(**p);
    } else if (auto found = s.pods_of(e)) {
      pods = std::move(*found);
    }
    for (const auto& pod : pods)
      for (const auto& c : pod.items_at("/spec/containers")) {
        const std::string name = c.string_at("/name").value_or("");
        sources.push_back({pod.namespace_(), pod.name(), name, pod.name() + "/" + name});
      }
  }
  if (sources.empty())
    return fail(base::make_error("no logs for '" + std::string(component) + "' on " + s.topology,
                                 "it runs no pod in namespace " + s.namespace_));
  std::mutex out;
  std::atomic<bool> stop{false};
  std::vector<std::optional<base::Error>> errors(sources.size());
  auto read = [&](std::size_t i) {
    kube::PodLogOptions o;
    o.namespace_ = sources[i].namespace_;
    o.pod = sources[i].pod;
    o.container = sources[i].container;
    if (options.tail >= 0) o.tail_lines = options.tail;
    o.follow = options.follow;
    o.timeout = options.follow ? std::chrono::hours(24 * 365) : std::chrono::minutes(1);
    const std::string label = sources.size() > 1 ? sources[i].label : "";
    auto r = s.client->pod_log(o, [&](std::string_view line) {
      std::lock_guard lock(out);
      sink(label, line.ends_with('\n') ? std::string(line) : std::string(line) + "\n");
      return true;
    }, &stop);
    if (!r) errors[i] = r.error();
  };
  if (sources.size() == 1 && !options.follow) {
    read(0);
  } else {
    std::vector<std::jthread> readers;
    for (std::size_t i = 0; i < sources.size(); ++i) readers.emplace_back(read, i);
    // Ctrl-C ends following: the readers poll `stop`.
    std::thread watcher([&] {
      while (!stop.load()) {
        if (ctx.interrupted()) stop = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
    readers.clear();
    stop = true;
    watcher.join();
  }
  for (auto& e : errors)
    if (e && !ctx.interrupted()) return fail(*e);
  return {};
}

// ---- endpoints -------------------------------------------------------------------

expected<Endpoint> KubernetesTopology::node_endpoint(RunContext& ctx, std::uint16_t node_port) {
  auto c = client(ctx);
  if (!c) return fail(c.error());
  auto nodes = (*c)->list("v1", "Node", "");
  if (!nodes) return fail(nodes.error());
  for (const auto& node : nodes->items) {
    if (kube::evaluate(node).health != kube::Health::current) continue;
    std::string external, internal;
    for (const auto& a : node.items_at("/status/addresses")) {
      const auto type = a.string_at("/type").value_or("");
      if (type == "ExternalIP" && external.empty()) external = a.string_at("/address").value_or("");
      if (type == "InternalIP" && internal.empty()) internal = a.string_at("/address").value_or("");
    }
    if (!external.empty() || !internal.empty()) return Endpoint{external.empty() ? internal : external, node_port};
  }
  return fail(error_with(exit_status::unreachable, "no Ready node of the cluster has an address",
                         "node port " + std::to_string(node_port) + " cannot be reached from here",
                         "check the nodes: kubectl get nodes -o wide"));
}

}  // namespace harmony::topologies

namespace harmony::topologies {

// ---- Helm ----------------------------------------------------------------------

namespace {

// What a release is made from, as one fingerprint: a redeploy with the same
// chart (for a local chart, the same files) and values changes nothing, so
// helm is not run (helm upgrade would make a new revision every time).
std::string release_fingerprint(const HelmRelease& r) {
  std::string material = r.chart + "\n" + r.repository + "\n" + r.version + "\n" + r.values + "\n";
  std::error_code ec;
  if (std::filesystem::is_directory(r.chart, ec)) {
    std::vector<std::string> files;
    for (auto it = std::filesystem::recursive_directory_iterator(r.chart, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
      if (it->is_regular_file(ec)) files.push_back(it->path().string());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) material += f + "\n" + base::read_file(f).value_or("") + "\n";
  } else if (std::filesystem::is_regular_file(r.chart, ec)) {
    material += base::read_file(r.chart, 64 * 1024 * 1024).value_or("");
  }
  return kstate::hash_hex(material);
}

// Whether the same settings mean the same chart: a local chart (its files are
// in the fingerprint) or a pinned version. "The newest" may have moved.
bool pinned(const HelmRelease& r) {
  std::error_code ec;
  return !r.version.empty() || std::filesystem::exists(r.chart, ec);
}

}  // namespace

expected<const kube::Helm*> KubernetesTopology::State::helm() {
  if (!helm_program) {
    auto found = kube::Helm::find();
    if (!found) return fail(found.error());
    helm_program = std::move(*found);
  }
  return &*helm_program;
}

kube::HelmTarget KubernetesTopology::State::helm_target() const {
  kube::HelmTarget target = kube::helm_target(load, client->config());
  target.namespace_ = namespace_;
  return target;
}

expected<void> KubernetesTopology::State::uninstall_release(RunContext& ctx, const std::string& release) {
  auto h = helm();
  if (!h) return fail(h.error());
  return (*h)->uninstall(helm_target(), release, std::max<std::chrono::milliseconds>(ctx.remaining(), std::chrono::seconds(10)));
}

// Helm's record of a release from the Secrets of its default storage
// driver; an error (so the caller asks helm) when helm is told to keep it
// elsewhere or the Secrets cannot be read or decoded.
expected<std::optional<kube::HelmRelease>> KubernetesTopology::State::stored_release(const std::string& release) {
  const char* driver = std::getenv("HELM_DRIVER");
  if (driver != nullptr && *driver != '\0' && std::string_view(driver) != "secret" && std::string_view(driver) != "secrets")
    return fail(base::make_error("helm keeps its releases in '" + std::string(driver) + "'"));
  kube::ListOptions options;
  options.label_selector = "owner=helm,name=" + release;
  auto secrets = client->list("v1", "Secret", namespace_, options);
  if (!secrets) return fail(secrets.error());
  return kube::parse_stored_release(secrets->items);
}

std::pair<bool, std::string> KubernetesTopology::State::release_state(RunContext&, const std::string& release) {
  auto h = helm();
  if (!h) return {false, "unknown: " + h.error().message};
  auto info = (*h)->status(helm_target(), release);
  if (!info) return {false, "unknown: " + info.error().message};
  if (!*info) return {false, "missing (uninstalled behind harmony's back; deploy again)"};
  const std::string state = (*info)->status + ", revision " + std::to_string((*info)->revision) + ", chart " + (*info)->chart;
  return {(*info)->status == "deployed", state};
}

Outcome KubernetesTopology::State::install_chart(RunContext& ctx, const HelmRelease& release) {
  auto h = helm();
  if (!h) return Outcome::failure(h.error());
  if (auto loaded = load_records(); !loaded) return Outcome::failure(loaded.error());
  Entry entry{std::string(release_api), std::string(release_kind), namespace_, release.name, release_fingerprint(release), ""};
  kube::HelmReleaseRequest request{.release = release.name,
                                   .chart = {.chart = release.chart,
                                             .repository = release.repository,
                                             .version = release.version,
                                             .plain_http = release.plain_http},
                                   .values = release.values,
                                   .create_namespace = false,
                                   .timeout = std::max<std::chrono::milliseconds>(ctx.remaining(), std::chrono::seconds(10))};
  auto& done = applied[ctx.component];
  if (ctx.dry_run()) {
    // What the release would be, compared object by object with the cluster.
    auto rendered = (*h)->render(helm_target(), request);
    if (!rendered) return Outcome::failure(rendered.error());
    auto current = (*h)->status(helm_target(), release.name);
    if (!current) return Outcome::failure(current.error());
    auto known = std::find_if(records[ctx.component].inventory.begin(), records[ctx.component].inventory.end(),
                              [&](const Entry& x) { return same_object(x, entry); });
    const bool same = *current && (*current)->status == "deployed" &&
                      known != records[ctx.component].inventory.end() && known->applied_hash == entry.applied_hash &&
                      pinned(release);
    ctx.plan->push_back({!*current ? "create" : same ? "none" : "update", "Helm release " + namespace_ + "/" + release.name, {}});
    for (auto object : *rendered) {
      auto type = client->resource_for(object.api_version(), object.kind());
      // As helm would write them: its field manager, and the release's own
      // annotations and label, which `helm template` leaves out.
      object.set_string("/metadata/annotations/meta.helm.sh~1release-name", release.name);
      object.set_string("/metadata/annotations/meta.helm.sh~1release-namespace", namespace_);
      object.set_string("/metadata/labels/app.kubernetes.io~1managed-by", "Helm");
      ctx.plan->push_back(plan_object(object, type ? type->namespaced : true, "helm"));
    }
    done.push_back(entry);
    return Outcome::no_change("planned");
  }

  auto& record = records[ctx.component];
  auto known = std::find_if(record.inventory.begin(), record.inventory.end(), [&](const Entry& x) { return same_object(x, entry); });
  if (known == record.inventory.end()) {
    if (record.record.component.empty()) record.record.component = ctx.component;
    record.inventory.push_back(entry);
    if (auto written = write_record(ctx.component); !written) return Outcome::failure(written.error());
  } else if (known->applied_hash == entry.applied_hash && pinned(release)) {
    // Nothing of it changed: still there and deployed? Helm's own record
    // says, with the objects to wait on: read from its storage Secrets (one
    // request), else from `helm status` (a process of helm).
    auto current = stored_release(release.name);
    if (!current) current = (*h)->current(helm_target(), release.name);
    if (!current) return Outcome::failure(current.error());
    if (*current && (*current)->info.status == "deployed") {
      std::erase_if(done, [&](const Entry& x) { return same_object(x, entry); });
      done.push_back(entry);
      if (auto ready = wait_ready(ctx, (*current)->objects); !ready) return Outcome::failure(ready.error());
      return Outcome::no_change("Helm release " + release.name + " unchanged (revision " +
                                std::to_string((*current)->info.revision) + ")");
    }
  }
  ctx.note("helm upgrade --install " + release.name + " (helm " + (*h)->version().str() + ")");
  auto installed = (*h)->upgrade_install(helm_target(), request);
  if (!installed) return Outcome::failure(installed.error());
  std::erase_if(done, [&](const Entry& x) { return same_object(x, entry); });
  done.push_back(entry);
  if (auto ready = wait_ready(ctx, installed->objects); !ready) return Outcome::failure(ready.error());
  return Outcome::success((installed->info.revision == 1 ? "installed Helm release " : "upgraded Helm release ") + release.name +
                          " (revision " + std::to_string(installed->info.revision) + ", chart " + installed->info.chart + ")");
}

Outcome KubernetesTopology::install_chart(RunContext& ctx, const HelmRelease& release) {
  if (state_->no_cluster && ctx.dry_run()) {
    ctx.plan->push_back({"create", "Helm release " + namespace_name() + "/" + release.name, {}});
    return Outcome::no_change("planned");
  }
  if (auto c = client(ctx); !c) return Outcome::failure(c.error());
  return state_->install_chart(ctx, release);
}
}  // namespace harmony::topologies

// ---- Scores ----------------------------------------------------------------------

#include <harmony/scores/kubernetes.hpp>

namespace harmony::scores {

base::expected<kube::Secret> KubeSecret::complete_secret(KubernetesCluster& cluster, RunContext& ctx,
                                                         const Settings& settings) {
  kube::Secret secret = settings.secret;
  if (settings.generated.empty()) return secret;
  auto api = cluster.client(ctx);
  if (!api && ctx.dry_run()) {
    // A plan before the cluster exists: every key would be generated.
    for (const auto& key : settings.generated) secret.data[key] = settings.generate ? settings.generate() : std::string();
    return secret;
  }
  if (!api) return base::fail(api.error());
  const std::string ns = secret.metadata.namespace_.empty() ? cluster.namespace_name() : secret.metadata.namespace_;
  std::map<std::string, std::string> live;
  auto found = (*api)->find({"v1", "Secret", ns, secret.metadata.name});
  if (!found && found.error().status != base::exit_status::object_not_found) return base::fail(found.error());
  if (found && *found)
    for (const auto& [k, v] : (*found)->strings_at("/data")) live[k] = base::base64_decode(v).value_or("");
  for (const auto& key : settings.generated) {
    if (auto it = live.find(key); it != live.end() && !it->second.empty()) {
      secret.data[key] = it->second;
    } else {
      if (!settings.generate)
        throw std::logic_error("KubeSecret " + secret.metadata.name + ": keys to generate but no generate function");
      secret.data[key] = settings.generate();
    }
  }
  return secret;
}

}  // namespace harmony::scores
