#pragma once
// A Topology is a place to deploy to: a set of machines, a cluster, this
// machine's own processes. It has a name, can make itself ready, and exposes
// capabilities (capabilities.hpp) that Scores require.
//
// Topologies are chosen at run time from a set fixed at compile time
// (plugin.hpp): each is constructed from the environment the runner gives it.

#include <concepts>
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
  std::string plugin;      // the plugin's name
  std::string state_root;  // $XDG_STATE_HOME/harmony/<plugin>: topologies keep their state below it
};

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
  bool purge = false;  // also remove credentials and data
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

}  // namespace harmony
