#pragma once
// A Topology is a place to deploy to: a set of machines, a cluster, this
// machine's own processes. It has a name, can make itself ready, and exposes
// capabilities (capabilities.hpp) that Scores require.
//
// Topologies are chosen at run time from a set fixed at compile time
// (plugin.hpp): each is constructed from the environment the runner gives it.

#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <harmony/base/expected.hpp>
#include <harmony/context.hpp>
#include <harmony/outcome.hpp>

namespace harmony {

// What a topology is built from.
struct TopologyEnvironment {
  std::string plugin{};      // the plugin's name
  std::string state_root{};  // $XDG_STATE_HOME/harmony/<plugin>: topologies keep their state below it
  // The topology flags (plugin.hpp); each topology reads those it takes.
  std::string kubeconfig{};          // --kubeconfig
  std::string context{};             // --context
  std::string namespace_{};          // -n/--namespace
  std::string default_namespace{};   // the plugin's (PluginInfo), used without -n
  std::string cluster{};             // --cluster (k3d)
  bool force_conflicts = false;      // --force-conflicts (server-side apply)
};

// Which of the runner's topology flags a topology takes: a topology declares
// `static constexpr TopologyFlags flags{...}`; one that does not takes none.
struct TopologyFlags {
  bool kubernetes = false;  // --kubeconfig, --context, -n/--namespace, --force-conflicts
  bool cluster = false;     // --cluster, destroy --delete-cluster
};

template <class T>
constexpr TopologyFlags flags_of() {
  if constexpr (requires { T::flags; })
    return T::flags;
  else
    return {};
}

// The physical material a stack runs on. The `local` topology needs none;
// bare-metal topologies will list hosts here.
struct Inventory {
  std::vector<std::string> hosts;
};

template <class T>
concept Topology = std::constructible_from<T, const TopologyEnvironment&> && requires(T& t, RunContext& ctx) {
  { T::name } -> std::convertible_to<std::string_view>;
  { T::description } -> std::convertible_to<std::string_view>;
  { t.ensure_ready(ctx) } -> std::same_as<base::expected<Outcome>>;
};

// What the lifecycle verbs need from a topology besides running Scores:
// remembering what was deployed, telling its state, undoing it, its logs.
struct ProcessState;
struct ComponentRecord {
  std::string component;
  std::string settings_json;  // the settings it was deployed with (settings.hpp)
  std::string deployed_at;    // RFC 3339, UTC
};

struct ResourceState {
  std::string kind;    // "process", "file", ...
  std::string name;
  bool up = false;
  std::string state;   // "running", "exited", "gone (pid reused)", ...
  std::vector<std::pair<std::string, std::string>> details;  // pid, ports, since, log
};

struct DestroyOptions {
  bool purge = false;           // also remove credentials and data
  bool delete_cluster = false;  // k3d: also delete the cluster, if harmony created it
};

// Options of `logs`.
struct LogOptions {
  bool follow = false;
  int tail = -1;  // the last N lines; -1: all
};

template <class T>
concept TracksDeployments = Topology<T> && requires(T& t, const T& ct, RunContext& ctx, const ComponentRecord& record,
                                                    const DestroyOptions& destroy) {
  { t.record(ctx, record) } -> std::same_as<base::expected<void>>;
  { ct.recorded(std::string_view{}) } -> std::same_as<std::optional<ComponentRecord>>;
  { ct.deployed_components() } -> std::same_as<std::vector<std::string>>;
  { t.resources(ctx) } -> std::same_as<std::vector<ResourceState>>;
  { t.destroy(ctx, destroy) } -> std::same_as<base::expected<Outcome>>;
  { t.prune(ctx) } -> std::same_as<base::expected<Outcome>>;
  { ct.log_files(std::string_view{}) } -> std::same_as<std::vector<std::pair<std::string, std::string>>>;
};

// A topology whose logs are not files (Kubernetes: the pods' logs through
// the API): `logs` prints them to `sink` (one line at a time, ending in
// '\n'; `source` names the pod and container) and returns when done, or at
// Ctrl-C when following.
template <class T>
concept StreamsLogs = requires(T& t, RunContext& ctx, const LogOptions& options,
                               const std::function<void(std::string_view source, std::string_view line)>& sink) {
  { t.logs(ctx, std::string_view{}, options, sink) } -> std::same_as<base::expected<void>>;
};

// A topology that can say what a deploy would change without changing it
// (RunContext::plan): `plan` runs the Scores against it in a dry run. After
// each component's dry run, plan_record keeps (in memory only) the record
// its deploy would write, and recorded() answers with it from then on: a
// component planned later reads what the earlier ones would have deployed,
// as it would in the deploy.
template <class T>
concept PlansByDryRun = requires(T& t, RunContext& ctx, const ComponentRecord& record) {
  { t.plan_ready(ctx) } -> std::same_as<base::expected<void>>;
  { t.plan_prune(ctx) } -> std::same_as<base::expected<void>>;
  { t.plan_record(record) } -> std::same_as<void>;
};

// A topology that makes the nodes' ports reachable from where harmony runs
// (k3d maps them on the host when it creates a cluster): told, before
// ensure_ready, which node ports the components to deploy ask for.
template <class T>
concept ExposesNodePorts = requires(T& t, const std::vector<std::uint16_t>& ports) {
  { t.expose_node_ports(ports) } -> std::same_as<void>;
};

}  // namespace harmony
