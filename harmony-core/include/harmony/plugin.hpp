#pragma once
// The plugin runner: a plugin's main is a few lines.
//
//   int main(int argc, char** argv) {
//     harmony::Plugin<harmony::topologies::Local> plugin({"myapp", "1.0.0", "Deploys myapp"});
//     plugin.component<MyAppScore>("web", "the web server");
//     return plugin.run(argc, argv);
//   }
//
// The template arguments are the plugin's topologies, fixed at compile time;
// the first is the default. `--topology`, then $HARMONY_TOPOLOGY, pick one at
// run time. The runner provides the lifecycle verbs (deploy, destroy, status,
// plan), `logs`, `components`, completion, and the descriptor the build
// embeds (docs/sdk.md). Plugins add their own commands with
// `command()`.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <harmony/capabilities.hpp>
#include <harmony/score.hpp>
#include <harmony/settings.hpp>
#include <harmony/topology.hpp>

namespace CLI {
class App;
}

namespace harmony {

struct PluginInfo {
  std::string name;         // the plugin is the executable harmony-<name>
  std::string version;      // semantic version
  std::string description;  // one line, for listings
  // Kubernetes topologies deploy into this namespace unless -n says otherwise
  // (empty: the kubeconfig context's namespace).
  std::string default_namespace{};
};

// Every capability the SDK knows, for listing what a topology provides.
using known_capabilities =
    needs<capability::ProcessSupervision, capability::FileStorage, capability::EndpointReach, capability::Kubernetes,
          capability::Helm, capability::ImageImport>;

// What a plugin's own command gets when it runs.
struct CommandContext {
  std::string plugin;
  bool json = false;   // -o json
  int verbose = 0;
  bool color = false;
  // The topology flags it was given (--topology, --kubeconfig, ...), for
  // commands that reach what was deployed.
  std::string topology{};
  TopologyEnvironment environment{};
  // Writes to stdout.
  void print(std::string_view text) const;
};

namespace runner {

// A topology behind a virtual interface, for the run-time half of the runner.
class TopologyHandle {
 public:
  virtual ~TopologyHandle() = default;
  virtual base::expected<Outcome> ensure_ready(RunContext& ctx) = 0;
  virtual base::expected<void> record(RunContext& ctx, const ComponentRecord& record) = 0;
  [[nodiscard]] virtual std::optional<ComponentRecord> recorded(std::string_view component) const = 0;
  [[nodiscard]] virtual std::vector<std::string> deployed_components() const = 0;
  virtual std::vector<ResourceState> resources(RunContext& ctx) = 0;
  virtual base::expected<Outcome> destroy(RunContext& ctx, const DestroyOptions& options) = 0;
  virtual base::expected<Outcome> prune(RunContext& ctx) = 0;
  [[nodiscard]] virtual std::vector<std::pair<std::string, std::string>> log_files(std::string_view component) const = 0;
  // Logs that are not files (StreamsLogs); false: use log_files.
  virtual base::expected<bool> stream_logs(RunContext& ctx, std::string_view component, const LogOptions& options,
                                           const std::function<void(std::string_view, std::string_view)>& sink) = 0;
  // Dry runs (PlansByDryRun); false: plan compares settings only.
  [[nodiscard]] virtual bool dry_runs() const = 0;
  virtual base::expected<void> plan_ready(RunContext& ctx) = 0;
  virtual base::expected<void> plan_prune(RunContext& ctx) = 0;
  virtual void plan_record(const ComponentRecord& record) = 0;
  virtual void expose_node_ports(const std::vector<std::uint16_t>& ports) = 0;
};

template <TracksDeployments T>
class TopologyHolder final : public TopologyHandle {
 public:
  explicit TopologyHolder(const TopologyEnvironment& env) : topology(env) {}
  base::expected<Outcome> ensure_ready(RunContext& ctx) override { return topology.ensure_ready(ctx); }
  base::expected<void> record(RunContext& ctx, const ComponentRecord& r) override { return topology.record(ctx, r); }
  [[nodiscard]] std::optional<ComponentRecord> recorded(std::string_view c) const override { return topology.recorded(c); }
  [[nodiscard]] std::vector<std::string> deployed_components() const override { return topology.deployed_components(); }
  std::vector<ResourceState> resources(RunContext& ctx) override { return topology.resources(ctx); }
  base::expected<Outcome> destroy(RunContext& ctx, const DestroyOptions& o) override { return topology.destroy(ctx, o); }
  base::expected<Outcome> prune(RunContext& ctx) override { return topology.prune(ctx); }
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> log_files(std::string_view c) const override {
    return topology.log_files(c);
  }
  base::expected<bool> stream_logs(RunContext& ctx, std::string_view c, const LogOptions& o,
                                   const std::function<void(std::string_view, std::string_view)>& sink) override {
    if constexpr (StreamsLogs<T>) {
      if (auto done = topology.logs(ctx, c, o, sink); !done) return base::fail(done.error());
      return true;
    } else {
      return false;
    }
  }
  [[nodiscard]] bool dry_runs() const override { return PlansByDryRun<T>; }
  base::expected<void> plan_ready(RunContext& ctx) override {
    if constexpr (PlansByDryRun<T>) return topology.plan_ready(ctx);
    return {};
  }
  base::expected<void> plan_prune(RunContext& ctx) override {
    if constexpr (PlansByDryRun<T>) return topology.plan_prune(ctx);
    return {};
  }
  void plan_record(const ComponentRecord& r) override {
    if constexpr (PlansByDryRun<T>) topology.plan_record(r);
  }
  void expose_node_ports(const std::vector<std::uint16_t>& ports) override {
    if constexpr (ExposesNodePorts<T>) topology.expose_node_ports(ports);
  }
  T topology;
};

struct TopologyEntry {
  std::string name;
  std::string description;
  TopologyFlags flags;
  std::vector<std::string> capabilities;
  std::function<std::unique_ptr<TopologyHandle>(const TopologyEnvironment&)> make;
};

// One component on one topology.
struct Realisation {
  bool supported = false;
  std::vector<std::string> missing;  // capabilities the topology lacks, when unsupported
  std::function<Outcome(TopologyHandle&, const settings::Node&, RunContext&)> deploy;
  std::function<base::expected<void>(TopologyHandle&, const settings::Node&, RunContext&)> smoke_test;
  // The node ports the Score asks to reach from the host (`node_ports()`).
  std::function<std::vector<std::uint16_t>(const settings::Node&)> node_ports;
};

struct ComponentEntry {
  std::string name;
  std::string description;
  std::vector<std::string> after;
  std::vector<std::string> capabilities;
  // Loads the component's settings subtree over its defaults.
  std::function<std::vector<settings::Problem>(const settings::Node&)> validate;
  std::function<std::vector<settings::Field>(const settings::Node&)> fields;
  std::vector<Realisation> realisations;  // one per topology, in the plugin's order
  // Left out when no component is named; `all`, a group or its name deploy it.
  bool only_when_named = false;
  // Left out of `all` and groups while this setting is set (unless_set).
  std::string unless_key{};
  std::string unless_why{};
};

struct CommandEntry;

// The non-template half (runner.cpp): command line, verbs, progress, output.
class Runtime {
 public:
  explicit Runtime(PluginInfo info);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  void add_topology(TopologyEntry entry);
  void add_component(ComponentEntry entry);
  void add_group(std::string name, std::string description, std::vector<std::string> members);
  void only_when_named(const std::string& component);
  void unless_set(const std::string& component, const std::string& key, std::string why);
  CLI::App& add_command(std::string name, std::string description, std::function<int(const CommandContext&)>** action);
  int run(int argc, char** argv);
  [[nodiscard]] const PluginInfo& info() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace runner

// A plugin's own command (`harmony <plugin> <command> ...`), built on CLI11.
class Command {
 public:
  Command(CLI::App& app, std::function<int(const CommandContext&)>* action) : app_(app), action_(action) {}
  Command& option(const std::string& flags, std::string& target, const std::string& help);
  Command& option(const std::string& flags, int& target, const std::string& help);
  Command& option(const std::string& flags, std::vector<std::string>& target, const std::string& help);
  Command& flag(const std::string& flags, bool& target, const std::string& help);
  Command& positional(const std::string& name, std::string& target, const std::string& help, bool required = true);
  // Everything left, including what follows `--`.
  Command& rest(const std::string& name, std::vector<std::string>& target, const std::string& help);
  // What runs: return an exit status, or throw a base::Error.
  Command& action(std::function<int(const CommandContext&)> action);
  // The underlying CLI11 subcommand, for anything else (include <CLI/CLI.hpp>).
  CLI::App& cli() { return app_; }

 private:
  CLI::App& app_;
  std::function<int(const CommandContext&)>* action_;
};

template <Topology... Ts>
class Plugin {
  static_assert((TracksDeployments<Ts> && ...), "every topology of a plugin must track what it deploys");

 public:
  // Plugin<> (no topologies) is a plugin of commands only, like harmony-agent.
  explicit Plugin(PluginInfo info) : runtime_(std::move(info)) { (add_topology<Ts>(), ...); }

  // A component realised by Score S, built from S::Settings (its defaults,
  // then -f values and --set). `after`: components deployed before it.
  template <Score S>
    requires std::constructible_from<S, typename S::Settings>
  Plugin& component(std::string name, std::string description, typename S::Settings defaults = {},
                    std::vector<std::string> after = {}) {
    static_assert(sizeof...(Ts) > 0, "a plugin with components needs at least one topology");
    // The Score's capability list must say what its constraint says; a
    // disagreement names the Score, the topology and the capability.
    static_assert((capability_check::agrees<S, Ts, RunsOn<S, Ts>, typename S::capabilities>::value && ...),
                  "the Score's `capabilities` list disagrees with its create_interpret constraint "
                  "(the error above names the Score, the topology and the capability)");
    runner::ComponentEntry entry;
    entry.name = name;
    entry.description = std::move(description);
    entry.after = std::move(after);
    for (auto capability : S::capabilities::names()) entry.capabilities.emplace_back(capability);
    entry.validate = [defaults, name](const settings::Node& node) {
      typename S::Settings s = defaults;
      auto problems = settings::load(node, name, s);
      // Rules across fields (settings.hpp, "check"), once each field is valid.
      if constexpr (settings::Checked<typename S::Settings>)
        if (problems.empty())
          for (auto& p : s.check()) problems.push_back({settings::detail::join_key(name, p.key), std::move(p.message)});
      return problems;
    };
    entry.fields = [defaults, name](const settings::Node& node) {
      typename S::Settings s = defaults;
      (void)settings::load(node, name, s);
      return settings::fields(s, name);
    };
    (entry.realisations.push_back(realise<S, Ts>(defaults, name)), ...);
    runtime_.add_component(std::move(entry));
    return *this;
  }

  // A name for several components ("server" = nats + operator + ...).
  Plugin& group(std::string name, std::string description, std::vector<std::string> members) {
    runtime_.add_group(std::move(name), std::move(description), std::move(members));
    return *this;
  }

  // A component a bare `harmony deploy <plugin>` leaves out (an optional
  // part, or a heavy one): deployed when named, through a group or `all`.
  Plugin& only_when_named(const std::string& component) {
    runtime_.only_when_named(component);
    return *this;
  }

  // A component `all` and groups leave out while the setting `key`
  // (component.field) is set to something non-empty: another component
  // stands in for it (the fleet's zitadel, once callout.issuer_url names an
  // identity provider). Named by itself, it still deploys.
  Plugin& unless_set(const std::string& component, const std::string& key, std::string why) {
    runtime_.unless_set(component, key, std::move(why));
    return *this;
  }

  Command command(std::string name, std::string description) {
    std::function<int(const CommandContext&)>* action = nullptr;
    CLI::App& app = runtime_.add_command(std::move(name), std::move(description), &action);
    return Command(app, action);
  }

  int run(int argc, char** argv) { return runtime_.run(argc, argv); }

 private:
  template <class T>
  void add_topology() {
    runner::TopologyEntry entry;
    entry.name = std::string(T::name);
    entry.description = std::string(T::description);
    entry.flags = flags_of<T>();
    for (auto capability : known_capabilities::template names_in<T>()) entry.capabilities.emplace_back(capability);
    entry.make = [](const TopologyEnvironment& env) -> std::unique_ptr<runner::TopologyHandle> {
      return std::make_unique<runner::TopologyHolder<T>>(env);
    };
    runtime_.add_topology(std::move(entry));
  }

  template <class S, class T>
  static runner::Realisation realise(const typename S::Settings& defaults, const std::string& name) {
    runner::Realisation r;
    if constexpr (RunsOn<S, T>) {
      r.supported = true;
      auto build = [defaults, name](const settings::Node& node) {
        typename S::Settings s = defaults;
        (void)settings::load(node, name, s);  // validated before any deploy starts
        return S(std::move(s));
      };
      r.deploy = [build](runner::TopologyHandle& handle, const settings::Node& node, RunContext& ctx) {
        T& topology = static_cast<runner::TopologyHolder<T>&>(handle).topology;
        Inventory inventory;
        return build(node).template create_interpret<T>()->execute(topology, inventory, ctx);
      };
      if constexpr (requires(const S& s) {
                      { s.node_ports() } -> std::convertible_to<std::vector<std::uint16_t>>;
                    }) {
        r.node_ports = [build](const settings::Node& node) { return build(node).node_ports(); };
      }
      if constexpr (HasSmokeTest<S, T>) {
        r.smoke_test = [build](runner::TopologyHandle& handle, const settings::Node& node, RunContext& ctx) {
          T& topology = static_cast<runner::TopologyHolder<T>&>(handle).topology;
          return build(node).template create_smoke_test<T>()->run(topology, ctx);
        };
      }
    } else {
      for (auto capability : S::capabilities::template missing_in<T>()) r.missing.emplace_back(capability);
    }
    return r;
  }

  runner::Runtime runtime_;
};

}  // namespace harmony
