// The run-time half of the plugin runner: the command line (CLI11), the
// lifecycle verbs, progress and output. plugin.hpp builds the tables it works
// from at compile time.

#include <harmony/plugin.hpp>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <list>
#include <set>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <harmony/base/files.hpp>
#include <harmony/base/interrupt.hpp>
#include <harmony/base/paths.hpp>
#include <harmony/base/suggest.hpp>
#include <harmony/base/text.hpp>
#include <harmony/base/time.hpp>
#include <harmony/errors.hpp>
#include <harmony/kube/kubeconfig.hpp>
#include <harmony/plugin/completion_scripts.hpp>
#include <harmony/plugin/descriptor.hpp>
#include <harmony/reporter.hpp>
#include <harmony/version.hpp>

namespace harmony {

void CommandContext::print(std::string_view text) const {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

namespace {

// A plugin's own option may not take a name the SDK gives every command
// (-o, -v, and the topology flags: --topology, --kubeconfig, --context,
// -n/--namespace, --cluster): say which, at start-up, as a plugin bug.
template <class Add>
void add_own(CLI::App& app, const std::string& flags, Add add) {
  try {
    add();
  } catch (const CLI::OptionAlreadyAdded&) {
    throw std::logic_error("the command '" + app.get_name() + "' option '" + flags +
                           "' clashes with a flag the SDK gives every command (docs/sdk.md)");
  }
}

}  // namespace

Command& Command::option(const std::string& flags, std::string& target, const std::string& help) {
  add_own(app_, flags, [&] { app_.add_option(flags, target, help); });
  return *this;
}
Command& Command::option(const std::string& flags, int& target, const std::string& help) {
  add_own(app_, flags, [&] { app_.add_option(flags, target, help); });
  return *this;
}
Command& Command::option(const std::string& flags, std::vector<std::string>& target, const std::string& help) {
  add_own(app_, flags, [&] { app_.add_option(flags, target, help); });
  return *this;
}
Command& Command::flag(const std::string& flags, bool& target, const std::string& help) {
  add_own(app_, flags, [&] { app_.add_flag(flags, target, help); });
  return *this;
}
Command& Command::positional(const std::string& name, std::string& target, const std::string& help, bool required) {
  auto* o = app_.add_option(name, target, help);
  if (required) o->required();
  return *this;
}
Command& Command::rest(const std::string& name, std::vector<std::string>& target, const std::string& help) {
  app_.add_option(name, target, help);
  return *this;
}
Command& Command::action(std::function<int(const CommandContext&)> action) {
  *action_ = std::move(action);
  return *this;
}

namespace runner {
namespace {

using nlohmann::json;

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && v[0] != '\0' ? v : nullptr;
}

void out(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

std::string dump(const json& doc) { return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n"; }

using base::join;

// Options every verb takes.
struct Common {
  std::string output;
  int verbose = 0;
  bool no_color = false;
};

// Options of the lifecycle verbs.
struct Lifecycle {
  std::vector<std::string> components;
  std::string topology;
  std::string timeout = "5m";
  std::vector<std::string> sets;
  std::vector<std::string> values;
  bool yes = false;
  bool purge = false;
  std::string check_timeout = "2s";
  // Topology flags (TopologyFlags).
  std::string kubeconfig;
  std::string context;
  std::string namespace_;
  std::string cluster;
  bool force_conflicts = false;
  bool delete_cluster = false;
};

struct Logs {
  std::string component;
  bool follow = false;
  int tail = -1;
};

}  // namespace

struct CommandEntry {
  std::string name;
  CLI::App* app = nullptr;
  std::function<int(const CommandContext&)> action;
};

struct Runtime::State {
  PluginInfo info;
  std::vector<TopologyEntry> topologies;
  std::vector<ComponentEntry> components;
  struct Group {
    std::string name, description;
    std::vector<std::string> members;
  };
  std::vector<Group> groups;
  std::list<CommandEntry> commands;
  CLI::App app;
  Common common;
  Lifecycle lifecycle;
  Logs logs;

  explicit State(PluginInfo i) : info(std::move(i)), app(info.description, "harmony-" + info.name) {}

  // ---- helpers ------------------------------------------------------------

  [[nodiscard]] bool json_output() const {
    std::string o = common.output;
    if (o.empty()) o = env("HARMONY_OUTPUT") ? env("HARMONY_OUTPUT") : "text";
    if (o != "text" && o != "json")
      throw base::usage_error("-o must be 'text' or 'json', not '" + base::printable(o) + "'");
    return o == "json";
  }
  [[nodiscard]] int verbose() const {
    if (common.verbose > 0) return common.verbose;
    const char* v = env("HARMONY_VERBOSE");
    return v ? std::max(0, std::atoi(v)) : 0;
  }
  [[nodiscard]] bool color() const {
    if (common.no_color || env("NO_COLOR")) return false;
    if (const char* v = env("HARMONY_NO_COLOR"); v && std::string_view(v) != "0") return false;
    const char* term = env("TERM");
    return ::isatty(STDOUT_FILENO) && !(term && std::string_view(term) == "dumb");
  }
  [[nodiscard]] std::string label() const { return "harmony " + info.name; }

  [[nodiscard]] std::size_t topology_index() const {
    std::string name = lifecycle.topology;
    if (name.empty() && env("HARMONY_TOPOLOGY")) name = env("HARMONY_TOPOLOGY");
    if (name.empty()) return 0;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < topologies.size(); ++i) {
      if (topologies[i].name == name) return i;
      names.push_back(topologies[i].name);
    }
    auto close = base::suggest(name, names, 1);
    throw base::usage_error("unknown topology '" + base::printable(name) + "'",
                            "harmony-" + info.name + " was built with the topologies: " + join(names, ", "),
                            close.empty() ? "choose one with --topology" : "did you mean '" + close.front() + "'?");
  }

  [[nodiscard]] std::string state_root() const {
    auto home = base::xdg_home(base::XdgDir::state);
    if (!home)
      throw base::make_error("cannot tell where to keep state", "neither XDG_STATE_HOME nor HOME is an absolute path",
                             "set HOME (or XDG_STATE_HOME)");
    return base::join_path(base::join_path(*home, "harmony"), info.name);
  }

  // The topology flags given, checked against what the topology takes.
  TopologyEnvironment environment(std::size_t index) const {
    const TopologyEntry& t = topologies[index];
    auto refuse = [&](const std::string& flag, const char* who) {
      std::vector<std::string> takers;
      for (const auto& other : topologies)
        if (std::string_view(who) == "kubernetes" ? other.flags.kubernetes : other.flags.cluster) takers.push_back(other.name);
      throw base::usage_error(flag + " does not apply to topology '" + t.name + "'",
                              "it is a flag of the topologies " + join(takers, ", "),
                              "drop " + flag + ", or choose one of them with --topology");
    };
    const Lifecycle& l = lifecycle;
    if (!t.flags.kubernetes) {
      if (!l.kubeconfig.empty()) refuse("--kubeconfig", "kubernetes");
      if (!l.context.empty()) refuse("--context", "kubernetes");
      if (!l.namespace_.empty()) refuse("--namespace", "kubernetes");
      if (l.force_conflicts) refuse("--force-conflicts", "kubernetes");
    }
    if (!t.flags.cluster) {
      if (!l.cluster.empty()) refuse("--cluster", "cluster");
      if (l.delete_cluster) refuse("--delete-cluster", "cluster");
    }
    TopologyEnvironment env;
    env.plugin = info.name;
    env.state_root = state_root();
    env.kubeconfig = l.kubeconfig;
    env.context = l.context;
    env.namespace_ = l.namespace_;
    env.default_namespace = info.default_namespace;
    env.cluster = l.cluster;
    env.force_conflicts = l.force_conflicts;
    return env;
  }

  std::unique_ptr<TopologyHandle> make_topology(std::size_t index) const {
    return topologies[index].make(environment(index));
  }

  [[nodiscard]] const ComponentEntry* find_component(std::string_view name) const {
    for (const auto& c : components)
      if (c.name == name) return &c;
    return nullptr;
  }
  [[nodiscard]] std::size_t component_index(std::string_view name) const {
    for (std::size_t i = 0; i < components.size(); ++i)
      if (components[i].name == name) return i;
    return components.size();
  }
  [[nodiscard]] std::vector<std::string> component_names() const {
    std::vector<std::string> names;
    for (const auto& c : components) names.push_back(c.name);
    return names;
  }

  // The settings tree from -f files then --set assignments, validated.
  settings::Node settings_tree() const {
    settings::Node root = settings::Node::map_node();
    for (const auto& file : lifecycle.values) {
      auto text = base::read_file(file, 16 * 1024 * 1024);
      if (!text) {
        base::Error e = text.error();
        e.status = exit_status::invalid_settings;
        e.hint = "check the path given to -f";
        throw e;
      }
      auto node = settings::Node::from_yaml(*text, file);
      if (!node) throw node.error();
      root.merge(*node);
    }
    for (const auto& assignment : lifecycle.sets)
      if (auto applied = settings::apply_set(root, assignment); !applied) throw applied.error();

    std::vector<settings::Problem> problems;
    const auto names = component_names();
    for (const auto& key : root.keys()) {
      const ComponentEntry* c = find_component(key);
      if (c == nullptr) {
        auto close = base::suggest(key, names, 1);
        problems.push_back({key, "not a component of harmony-" + info.name +
                                     (close.empty() ? "" : "; did you mean '" + close.front() + "'?")});
        continue;
      }
      auto found = c->validate(root.at(key));
      problems.insert(problems.end(), found.begin(), found.end());
    }
    if (!problems.empty()) {
      std::string reason;
      for (const auto& p : problems) reason += "\n    " + p.key + ": " + p.message;
      throw error_with(exit_status::invalid_settings,
                       problems.size() == 1 ? "invalid setting '" + problems.front().key + "'"
                                            : std::to_string(problems.size()) + " invalid settings",
                       reason.substr(5), "run 'harmony-" + info.name + " components' to see every setting");
    }
    return root;
  }

  struct Selection {
    std::vector<std::size_t> run;
    std::vector<std::pair<std::string, std::string>> skipped;  // component, why
  };

  base::Error unsupported(const ComponentEntry& c, std::size_t topology) const {
    const auto& r = c.realisations[topology];
    std::vector<std::string> able;
    for (std::size_t i = 0; i < topologies.size(); ++i)
      if (c.realisations[i].supported) able.push_back(topologies[i].name);
    return error_with(exit_status::unsupported,
                      "component '" + c.name + "' cannot run on topology '" + topologies[topology].name + "'",
                      "it needs " + join(r.missing, ", ") + ", which '" + topologies[topology].name + "' does not have",
                      able.empty() ? "no topology of harmony-" + info.name + " has " + join(r.missing, ", ") +
                                         "; it cannot be deployed by this build"
                                   : "topologies of harmony-" + info.name + " that can run it: " + join(able, ", ") +
                                         " (--topology " + able.front() + ")");
  }

  // Which components a lifecycle verb works on, in dependency order.
  // `tree`: the settings, for components left out while a setting is set.
  Selection select(const std::vector<std::string>& names, std::size_t topology, bool need_support,
                   const settings::Node* tree = nullptr) const {
    std::set<std::size_t> chosen;
    std::set<std::size_t> implicit;  // from `all` or a group: skipped when unsupported
    std::vector<std::string> known = component_names();
    for (const auto& g : groups) known.push_back(g.name);
    known.emplace_back("all");
    if (names.empty())
      for (std::size_t i = 0; i < components.size(); ++i)
        if (!components[i].only_when_named) implicit.insert(i);
    for (const auto& name : names) {
      if (name == "all") {
        for (std::size_t i = 0; i < components.size(); ++i) implicit.insert(i);
        continue;
      }
      if (auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.name == name; });
          it != groups.end()) {
        for (const auto& m : it->members) implicit.insert(component_index(m));
        continue;
      }
      std::size_t i = component_index(name);
      if (i == components.size()) {
        auto close = base::suggest(name, known, 1);
        throw base::usage_error("unknown component '" + base::printable(name) + "'",
                                "harmony-" + info.name + " has: " + join(known, ", "),
                                close.empty() ? "run 'harmony-" + info.name + " components'"
                                              : "did you mean '" + close.front() + "'?");
      }
      chosen.insert(i);
    }
    Selection s;
    std::vector<std::string> order_names;
    std::vector<std::vector<std::string>> after;
    for (const auto& c : components) {
      order_names.push_back(c.name);
      after.push_back(c.after);
    }
    auto order = dependency_order(order_names, after);
    if (!order) throw std::logic_error("harmony-" + info.name + ": " + order.error().message + ": " + order.error().reason);
    for (std::size_t i : *order) {
      const bool explicit_choice = chosen.count(i) > 0;
      if (!explicit_choice && !implicit.count(i)) continue;
      if (!explicit_choice && tree != nullptr && !components[i].unless_key.empty()) {
        const auto dot = components[i].unless_key.find('.');
        const settings::Node value =
            tree->at(components[i].unless_key.substr(0, dot)).at(components[i].unless_key.substr(dot + 1));
        if (value.is_scalar() && !value.scalar().empty()) {
          s.skipped.emplace_back(components[i].name, components[i].unless_key + " is set: " + components[i].unless_why);
          continue;
        }
      }
      if (need_support && !components[i].realisations[topology].supported) {
        if (explicit_choice) throw unsupported(components[i], topology);
        s.skipped.emplace_back(components[i].name, "needs " + join(components[i].realisations[topology].missing, ", ") +
                                                       ", which '" + topologies[topology].name + "' does not have");
        continue;
      }
      s.run.push_back(i);
    }
    if (need_support && s.run.empty() && !s.skipped.empty()) {
      // Nothing the user asked for can run here: say so as an error.
      throw unsupported(*find_component(s.skipped.front().first), topology);
    }
    return s;
  }

  RunContext context(std::size_t topology, Reporter* reporter, std::chrono::milliseconds timeout,
                     std::string operation = {}) const {
    RunContext ctx;
    ctx.operation = std::move(operation);
    ctx.plugin = info.name;
    ctx.topology = topologies[topology].name;
    ctx.reporter = reporter;
    ctx.verbose = verbose();
    ctx.deadline = Clock::now() + timeout;
    return ctx;
  }

  std::unique_ptr<Reporter> reporter() const {
    ReporterOptions o;
    o.color = color();
    o.verbose = verbose();
    const char* term = env("TERM");
    if (json_output())
      o.kind = ReporterKind::json;
    else if (::isatty(STDOUT_FILENO) && !(term && std::string_view(term) == "dumb"))
      o.kind = ReporterKind::live;
    else
      o.kind = ReporterKind::plain;
    return make_reporter(o);
  }

  // The flags that name where, for the next steps printed.
  [[nodiscard]] std::string topology_flag(std::size_t topology) const {
    std::string flags = topology == 0 ? "" : " --topology " + topologies[topology].name;
    const Lifecycle& l = lifecycle;
    for (const auto& [flag, value] : {std::pair{"--kubeconfig", l.kubeconfig}, std::pair{"--context", l.context},
                                      std::pair{"-n", l.namespace_}, std::pair{"--cluster", l.cluster}})
      if (!value.empty()) flags += std::string(" ") + flag + " " + base::shell_quote(value);
    return flags;
  }

  // The topology flags some topology of the plugin takes.
  [[nodiscard]] TopologyFlags any_flags() const {
    TopologyFlags f;
    for (const auto& t : topologies) {
      f.kubernetes = f.kubernetes || t.flags.kubernetes;
      f.cluster = f.cluster || t.flags.cluster;
    }
    return f;
  }

  void add_topology_flags(CLI::App* sub) {
    sub->add_option("--topology", lifecycle.topology, "where (default: $HARMONY_TOPOLOGY, else the plugin's default)");
    const TopologyFlags f = any_flags();
    if (f.kubernetes) {
      sub->add_option("--kubeconfig", lifecycle.kubeconfig, "the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)");
      sub->add_option("--context", lifecycle.context, "the kubeconfig context (default: its current context)");
      sub->add_option("-n,--namespace", lifecycle.namespace_,
                      info.default_namespace.empty() ? "the namespace (default: the context's)"
                                                     : "the namespace (default: " + info.default_namespace + ")");
    }
    if (f.cluster) sub->add_option("--cluster", lifecycle.cluster, "the k3d cluster (default: harmony)");
  }

  // ---- verbs ----------------------------------------------------------------

  int deploy();
  int destroy();
  int status();
  int plan();
  int show_logs();
  int list_components();
  int descriptor(const std::string& file) const;
  void add_lifecycle();
  int complete(const std::vector<std::string>& words);
};

std::chrono::milliseconds parse_timeout(const std::string& text, const char* flag) {
  Duration d;
  if (auto problem = settings::detail::load(settings::Node::scalar_node(text), d, nullptr))
    throw base::usage_error(std::string(flag) + ": " + *problem);
  return d.value;
}

int Runtime::State::deploy() {
  const std::size_t topology = topology_index();
  const auto timeout = parse_timeout(lifecycle.timeout, "--timeout");
  const settings::Node tree = settings_tree();
  const Selection selection = select(lifecycle.components, topology, true, &tree);

  auto report = reporter();
  std::vector<std::string> names;
  for (std::size_t i : selection.run) names.push_back(components[i].name);
  for (const auto& [name, why] : selection.skipped) names.push_back(name);
  report->start("deploy", names);
  for (const auto& [name, why] : selection.skipped) report->phase(name, Phase::skipped, why);

  base::InterruptScope interrupt_scope;
  RunContext ctx = context(topology, report.get(), timeout, "deploy");
  auto handle = make_topology(topology);
  std::vector<std::uint16_t> node_ports;
  for (std::size_t i : selection.run)
    if (const auto& r = components[i].realisations[topology]; r.node_ports)
      for (auto port : r.node_ports(tree.at(components[i].name))) node_ports.push_back(port);
  handle->expose_node_ports(node_ports);
  std::optional<base::Error> failure;
  if (auto ready = handle->ensure_ready(ctx); !ready)
    failure = ready.error();
  else if (ready->failed())
    failure = ready->error;

  std::size_t done = 0, changed = 0;
  std::vector<std::string> next_steps;
  for (std::size_t k = 0; k < selection.run.size() && !failure; ++k) {
    const ComponentEntry& c = components[selection.run[k]];
    const auto& r = c.realisations[topology];
    const settings::Node node = tree.at(c.name);
    ctx.component = c.name;
    report->phase(c.name, Phase::running, "");
    Outcome outcome = r.deploy(*handle, node, ctx);
    if (outcome.failed()) {
      failure = outcome.error.value_or(error_with(exit_status::deploy_failed, outcome.message));
      report->phase(c.name, Phase::failed, failure->message);
      break;
    }
    if (auto pruned = handle->prune(ctx); !pruned) {
      failure = pruned.error();
      report->phase(c.name, Phase::failed, failure->message);
      break;
    } else if (pruned->changed()) {
      outcome.message = outcome.changed() ? outcome.message + "; " + pruned->message : pruned->message;
      outcome.status = OutcomeStatus::success;
    }
    ComponentRecord record{c.name, settings::to_node(c.fields(node), c.name).to_json(), base::rfc3339_now()};
    if (auto recorded = handle->record(ctx, record); !recorded) {
      failure = recorded.error();
      report->phase(c.name, Phase::failed, failure->message);
      break;
    }
    if (r.smoke_test) {
      report->phase(c.name, Phase::checking, outcome.changed() ? outcome.message : "unchanged");
      if (auto smoke = r.smoke_test(*handle, node, ctx); !smoke) {
        failure = smoke.error();
        if (failure->status == exit_status::failure) failure->status = exit_status::smoke_test_failed;
        report->phase(c.name, Phase::failed, failure->message);
        break;
      }
    }
    // An Interpret may say in one line what runs ("summary") and suggest
    // what to try next ("next"): shown whether or not anything changed.
    std::string what_runs;
    for (const auto& [key, value] : outcome.details) {
      if (key == "summary") what_runs = value;
      if (key == "next" && std::find(next_steps.begin(), next_steps.end(), value) == next_steps.end())
        next_steps.push_back(value);
    }
    const std::string status = outcome.changed() ? outcome.message : "unchanged";
    report->phase(c.name, Phase::ready, what_runs.empty() ? status : what_runs + (outcome.changed() ? "" : " (unchanged)"));
    ++done;
    if (outcome.changed()) ++changed;
  }
  if (failure)
    for (std::size_t k = done + 1; k < selection.run.size(); ++k)
      report->phase(components[selection.run[k]].name, Phase::skipped, "not attempted: an earlier component failed");

  Summary summary;
  summary.operation = "deploy";
  summary.ok = !failure;
  summary.exit_status = failure ? failure->status : 0;
  const std::string where = " of " + info.name + " on " + topologies[topology].name;
  if (!failure) {
    const std::string skipped = std::to_string(selection.skipped.size()) + " skipped";
    if (changed == 0)
      summary.message = "no change: " + std::to_string(done) + " component" + (done == 1 ? "" : "s") + where +
                        (done == 1 ? " is" : " are") + " up to date and passed " + (done == 1 ? "its" : "their") +
                        " smoke test" + (done == 1 ? "" : "s") + (selection.skipped.empty() ? "" : " (" + skipped + ")");
    else
      summary.message = "deployed " + std::to_string(done) + " component" + (done == 1 ? "" : "s") + where + " (" +
                        std::to_string(changed) + " changed" + (selection.skipped.empty() ? "" : ", " + skipped) + ")";
    summary.next_steps = next_steps;
    for (auto step : {"harmony " + info.name + " status" + topology_flag(topology),
                      "harmony " + info.name + " logs <component>" + topology_flag(topology),
                      "harmony destroy " + info.name + topology_flag(topology)})
      summary.next_steps.push_back(step);
  } else {
    summary.message = "deploy" + where + " failed";
  }
  report->finish(summary);
  if (failure) throw *failure;
  return 0;
}

int Runtime::State::destroy() {
  const std::size_t topology = topology_index();
  const auto timeout = parse_timeout(lifecycle.timeout, "--timeout");
  auto handle = make_topology(topology);
  std::vector<std::string> deployed = handle->deployed_components();
  std::vector<std::string> targets;
  if (lifecycle.components.empty() ||
      std::find(lifecycle.components.begin(), lifecycle.components.end(), "all") != lifecycle.components.end()) {
    targets = deployed;
  } else {
    Selection s = select(lifecycle.components, topology, false);
    for (std::size_t i : s.run)
      if (std::find(deployed.begin(), deployed.end(), components[i].name) != deployed.end())
        targets.push_back(components[i].name);
  }
  // Undo in reverse dependency order.
  std::vector<std::string> ordered;
  for (std::size_t i : select({"all"}, topology, false).run)
    if (std::find(targets.begin(), targets.end(), components[i].name) != targets.end()) ordered.push_back(components[i].name);
  for (const auto& t : targets)  // deployed by an older version of the plugin: still removed
    if (std::find(ordered.begin(), ordered.end(), t) == ordered.end()) ordered.push_back(t);
  std::reverse(ordered.begin(), ordered.end());

  if (ordered.empty() && lifecycle.delete_cluster) {
    // Nothing of the plugin left, but the cluster itself goes.
    base::InterruptScope interrupt_scope;
    RunContext ctx = context(topology, nullptr, timeout, "destroy");
    auto removed = handle->destroy(ctx, {lifecycle.purge, true});
    if (!removed) throw removed.error();
    if (json_output())
      out(dump({{"event", "summary"}, {"operation", "destroy"}, {"ok", true}, {"exit_status", 0},
                {"message", removed->message}, {"components", json::array()}, {"time", base::rfc3339_now()}}));
    else
      out(removed->message + "\n");
    return 0;
  }
  if (ordered.empty()) {
    if (json_output())
      out(dump({{"event", "summary"}, {"operation", "destroy"}, {"ok", true}, {"exit_status", 0},
                {"message", "nothing deployed"}, {"components", json::array()}, {"time", base::rfc3339_now()}}));
    else
      out("nothing of " + info.name + " is deployed on " + topologies[topology].name + "\n");
    return 0;
  }
  if (!lifecycle.yes) {
    const std::string what = join(ordered, ", ") + " of " + info.name + " on " + topologies[topology].name;
    if (!::isatty(STDIN_FILENO))
      throw base::usage_error("destroy needs --yes when it cannot ask", "standard input is not a terminal",
                              "to destroy " + what + ", run it again with --yes");
    std::fprintf(stderr, "Destroy %s%s? [y/N] ", what.c_str(),
                 lifecycle.purge ? ", including credentials and data" : "");
    std::fflush(stderr);
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y" && answer != "yes") {
      std::fprintf(stderr, "nothing destroyed\n");
      return exit_status::failure;
    }
  }

  auto report = reporter();
  report->start("destroy", ordered);
  base::InterruptScope interrupt_scope;
  RunContext ctx = context(topology, report.get(), timeout, "destroy");
  std::optional<base::Error> failure;
  if (auto ready = handle->ensure_ready(ctx); !ready) failure = ready.error();
  for (std::size_t k = 0; k < ordered.size(); ++k) {
    const std::string& name = ordered[k];
    if (failure) break;
    ctx.component = name;
    report->phase(name, Phase::running, "");
    // The cluster goes with the last component.
    auto removed = handle->destroy(ctx, {lifecycle.purge, lifecycle.delete_cluster && k + 1 == ordered.size()});
    if (!removed) {
      failure = removed.error();
      report->phase(name, Phase::failed, failure->message);
      break;
    }
    report->phase(name, Phase::removed, removed->message);
  }
  Summary summary;
  summary.operation = "destroy";
  summary.ok = !failure;
  summary.exit_status = failure ? failure->status : 0;
  summary.message = failure ? "destroy failed" : "destroyed " + join(ordered, ", ") + " of " + info.name + " on " + topologies[topology].name;
  report->finish(summary);
  if (failure) throw *failure;
  return 0;
}

int Runtime::State::status() {
  const std::size_t topology = topology_index();
  const auto check_timeout = parse_timeout(lifecycle.check_timeout, "--check-timeout");
  auto handle = make_topology(topology);
  std::vector<std::string> names;
  if (lifecycle.components.empty()) {
    names = handle->deployed_components();
  } else {
    for (std::size_t i : select(lifecycle.components, topology, false).run) names.push_back(components[i].name);
  }

  json doc = {{"plugin", info.name}, {"topology", topologies[topology].name}, {"components", json::array()}};
  std::string text;
  bool all_up = true;
  base::InterruptScope interrupt_scope;
  for (const auto& name : names) {
    RunContext ctx = context(topology, nullptr, check_timeout, "status");
    ctx.component = name;
    auto record = handle->recorded(name);
    json entry = {{"name", name}, {"deployed", record.has_value()}};
    if (!record) {
      entry["state"] = "not-deployed";
      doc["components"].push_back(entry);
      text += name + ": not deployed\n";
      all_up = false;  // asked about by name: not up
      continue;
    }
    entry["deployed_at"] = record->deployed_at;
    auto resources = handle->resources(ctx);
    bool up = !resources.empty() || find_component(name) != nullptr;
    json rs = json::array();
    std::string lines;
    for (const auto& r : resources) {
      up = up && r.up;
      json details = json::object();
      std::string detail_text;
      for (const auto& [k, v] : r.details) {
        details[k] = v;
        if (k != "log") detail_text += "  " + k + " " + v;
      }
      rs.push_back({{"kind", r.kind}, {"name", r.name}, {"up", r.up}, {"state", r.state}, {"details", details}});
      lines += "  " + r.kind + " " + r.name + ": " + r.state + detail_text + "\n";
    }
    entry["resources"] = rs;
    // Health: the smoke test, with the settings it was deployed with.
    json health = {{"checked", false}};
    const ComponentEntry* c = find_component(name);
    if (up && c != nullptr && c->realisations[topology].smoke_test) {
      auto node = settings::Node::from_json(record->settings_json);
      settings::Node settings_node = node ? *node : settings::Node::map_node();
      auto ok = c->realisations[topology].smoke_test(*handle, settings_node, ctx);
      health = {{"checked", true}, {"ok", ok.has_value()}};
      if (!ok) {
        health["error"] = ok.error().message;
        up = false;
      }
      lines += std::string("  smoke test: ") + (ok ? "passed" : "FAILED: " + ok.error().message) + "\n";
    }
    entry["health"] = health;
    const std::string state = up ? "up" : "down";
    entry["state"] = state;
    all_up = all_up && up;
    doc["components"].push_back(entry);
    text += name + ": " + state + " (deployed " + record->deployed_at + ")\n" + lines;
  }
  if (names.empty()) text = "nothing of " + info.name + " is deployed on " + topologies[topology].name + "\n";
  out(json_output() ? dump(doc) : text);
  return all_up ? 0 : exit_status::degraded;
}

int Runtime::State::plan() {
  const std::size_t topology = topology_index();
  const settings::Node tree = settings_tree();
  const Selection selection = select(lifecycle.components, topology, true, &tree);
  auto handle = make_topology(topology);
  json doc = {{"plugin", info.name}, {"topology", topologies[topology].name}, {"components", json::array()}};
  std::string text;
  // Topologies that can dry-run (Kubernetes) say what would change object
  // by object; the others compare settings with the recorded ones.
  base::InterruptScope interrupt_scope;
  RunContext ctx = context(topology, nullptr, parse_timeout(lifecycle.timeout, "--timeout"), "plan");
  const bool dry_run = handle->dry_runs();
  if (dry_run)
    if (auto ready = handle->plan_ready(ctx); !ready) throw ready.error();
  for (std::size_t i : selection.run) {
    const ComponentEntry& c = components[i];
    auto after = c.fields(tree.at(c.name));
    auto record = handle->recorded(c.name);
    json entry = {{"name", c.name}, {"changes", json::array()}};
    std::string lines;
    std::string action;
    if (!record) {
      action = "create";
      lines += "+ " + c.name + ": will be deployed\n";
      for (const auto& f : after) {
        entry["changes"].push_back({{"key", f.key}, {"before", nullptr}, {"after", f.value}});
        lines += "    " + f.key + " = " + f.value + "\n";
      }
    } else {
      auto node = settings::Node::from_json(record->settings_json);
      auto before = c.fields(node ? *node : settings::Node::map_node());
      auto changes = settings::diff(before, after);
      action = changes.empty() ? "none" : "update";
      for (const auto& ch : changes) {
        entry["changes"].push_back({{"key", ch.key}, {"before", ch.before}, {"after", ch.after}});
        lines += "    " + ch.key + ": " + (ch.before.empty() ? "(unset)" : ch.before) + " -> " +
                 (ch.after.empty() ? "(unset)" : ch.after) + "\n";
      }
    }
    if (dry_run) {
      std::vector<PlannedChange> planned;
      ctx.component = c.name;
      ctx.plan = &planned;
      Outcome o = c.realisations[topology].deploy(*handle, tree.at(c.name), ctx);
      if (o.failed()) throw o.error.value_or(error_with(exit_status::deploy_failed, o.message));
      if (auto pruned = handle->plan_prune(ctx); !pruned) throw pruned.error();
      ctx.plan = nullptr;
      handle->plan_record({c.name, settings::to_node(after, c.name).to_json(), "(planned)"});
      json objects = json::array();
      for (const auto& p : planned) {
        json fields = json::array();
        for (const auto& f : p.fields) fields.push_back({{"path", f.path}, {"before", f.before}, {"after", f.after}});
        objects.push_back({{"object", p.what}, {"action", p.action}, {"fields", fields}});
        if (p.action == "none") continue;
        if (action == "none") action = "update";
        const char* mark = p.action == "create" ? "+" : p.action == "delete" ? "-" : "~";
        lines += "    " + std::string(mark) + " " + p.what + (p.action == "delete" ? " (no longer deployed)" : "") + "\n";
        // Values with line ends or controls are shown quoted, on one line.
        auto shown = [](const std::string& v) {
          if (v.empty()) return std::string("(unset)");
          const bool plain = std::none_of(v.begin(), v.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20; });
          return plain ? v : json(v).dump(-1, ' ', false, json::error_handler_t::replace);
        };
        for (const auto& f : p.fields) lines += "        " + f.path + ": " + shown(f.before) + " -> " + shown(f.after) + "\n";
      }
      entry["objects"] = objects;
    }
    entry["action"] = action;
    if (action == "update") text += "~ " + c.name + ": will change\n";
    if (action == "none")
      text += "= " + c.name + (dry_run ? ": no change (its smoke test still runs)\n" : ": no setting changes (its smoke test still runs)\n");
    text += lines;
    doc["components"].push_back(entry);
  }
  for (const auto& [name, why] : selection.skipped) {
    doc["components"].push_back({{"name", name}, {"action", "skip"}, {"reason", why}, {"changes", json::array()}});
    text += "- " + name + ": skipped: " + why + "\n";
  }
  out(json_output() ? dump(doc) : text);
  return 0;
}

int Runtime::State::show_logs() {
  const std::size_t topology = topology_index();
  if (find_component(logs.component) == nullptr) select({logs.component}, topology, false);  // the usage error
  auto handle = make_topology(topology);
  {
    base::InterruptScope interrupt_scope;
    RunContext ctx = context(topology, nullptr, std::chrono::hours(24 * 365), "logs");
    ctx.component = logs.component;
    auto streamed = handle->stream_logs(ctx, logs.component, {logs.follow, logs.tail},
                                        [&](std::string_view source, std::string_view line) {
                                          out(source.empty() ? std::string(line)
                                                             : std::string(source) + " | " + std::string(line));
                                        });
    if (!streamed) throw streamed.error();
    if (*streamed) return 0;
  }
  auto files = handle->log_files(logs.component);
  if (files.empty())
    throw base::make_error("no logs for '" + logs.component + "' on " + topologies[topology].name,
                           handle->recorded(logs.component) ? "it runs no process" : "it is not deployed",
                           "deploy it first: harmony deploy " + info.name + " " + logs.component + topology_flag(topology));
  const bool prefix = files.size() > 1;
  auto emit = [&](const std::string& name, std::string_view text, std::string& partial) {
    std::string s = partial + std::string(text);
    partial.clear();
    std::size_t start = 0;
    while (start < s.size()) {
      auto nl = s.find('\n', start);
      if (nl == std::string::npos) {
        partial = s.substr(start);
        break;
      }
      out((prefix ? name + " | " : "") + s.substr(start, nl - start + 1));
      start = nl + 1;
    }
  };
  std::vector<std::uint64_t> offsets(files.size(), 0);
  std::vector<std::string> partial(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto text = base::read_file(files[i].second, 1ull << 32).value_or("");
    offsets[i] = text.size();
    std::string_view shown = text;
    if (logs.tail >= 0) {
      std::size_t pos = shown.size();
      if (pos > 0 && shown[pos - 1] == '\n') --pos;
      for (int n = 0; n < logs.tail && pos > 0; ++n) pos = shown.rfind('\n', pos - 1) == std::string_view::npos ? 0 : shown.rfind('\n', pos - 1);
      if (pos > 0) ++pos;
      shown = logs.tail == 0 ? std::string_view() : shown.substr(pos);
    }
    emit(files[i].first, shown, partial[i]);
  }
  if (!logs.follow) {
    for (std::size_t i = 0; i < files.size(); ++i)
      if (!partial[i].empty()) out((prefix ? files[i].first + " | " : "") + partial[i] + "\n");
    return 0;
  }
  base::InterruptScope interrupt_scope;
  while (base::sleep_unless_interrupted(std::chrono::milliseconds(200))) {
    for (std::size_t i = 0; i < files.size(); ++i) {
      auto text = base::read_file(files[i].second, 1ull << 32).value_or("");
      if (text.size() < offsets[i]) offsets[i] = 0;  // truncated or replaced: start over
      if (text.size() == offsets[i]) continue;
      emit(files[i].first, std::string_view(text).substr(offsets[i]), partial[i]);
      offsets[i] = text.size();
    }
  }
  return 0;  // Ctrl-C is how one stops following
}

int Runtime::State::list_components() {
  json doc = {{"plugin", info.name},
              {"version", info.version},
              {"default_topology", topologies.empty() ? json(nullptr) : json(topologies.front().name)}};
  json ts = json::array();
  for (const auto& t : topologies)
    ts.push_back({{"name", t.name}, {"description", t.description}, {"capabilities", t.capabilities}});
  doc["topologies"] = ts;
  json cs = json::array();
  std::vector<std::vector<std::string>> rows{{"COMPONENT", "TOPOLOGIES", "DESCRIPTION"}};
  for (const auto& c : components) {
    std::vector<std::string> able;
    json unsupported = json::object();
    for (std::size_t i = 0; i < topologies.size(); ++i) {
      if (c.realisations[i].supported)
        able.push_back(topologies[i].name);
      else
        unsupported[topologies[i].name] = c.realisations[i].missing;
    }
    json fields = json::array();
    for (const auto& f : c.fields(settings::Node()))
      fields.push_back({{"key", f.key}, {"type", f.type}, {"help", f.help}, {"default", f.value}, {"secret", f.secret}});
    cs.push_back({{"name", c.name},
                  {"description", c.description},
                  {"after", c.after},
                  {"capabilities", c.capabilities},
                  {"topologies", able},
                  {"unsupported", unsupported},
                  {"only_when_named", c.only_when_named},
                  {"settings", fields}});
    rows.push_back({c.name, able.empty() ? "(none)" : join(able, ", "),
                    c.description + (c.only_when_named ? " (deployed only when named)" : "")});
  }
  doc["components"] = cs;
  json gs = json::array();
  for (const auto& g : groups) gs.push_back({{"name", g.name}, {"description", g.description}, {"members", g.members}});
  doc["groups"] = gs;
  if (json_output()) {
    out(dump(doc));
    return 0;
  }
  std::string text = components.empty() ? "harmony-" + info.name + " has no components\n" : base::format_table(rows);
  if (!groups.empty()) {
    text += "\ngroups:\n";
    for (const auto& g : groups) text += "  " + g.name + " = " + join(g.members, ", ") + "  (" + g.description + ")\n";
  }
  text += "\ntopologies:\n";
  for (std::size_t i = 0; i < topologies.size(); ++i)
    text += "  " + topologies[i].name + (i == 0 ? " (default)" : "") + ": " + topologies[i].description + "\n";
  if (!components.empty()) text += "\nsettings: 'harmony-" + info.name + " components -o json' lists each, with its type and default\n";
  out(text);
  return 0;
}

int Runtime::State::descriptor(const std::string& file) const {
  plugin::Descriptor d;
  d.name = info.name;
  d.version = info.version;
  d.description = info.description;
  d.sdk_version = harmony::version;
  d.requires_harmony = harmony::oldest_compatible_dispatcher;
  if (!components.empty()) {
    d.verbs = {"deploy", "destroy", "status", "plan"};
    for (const auto& c : components) d.components.push_back(c.name);
    for (const auto& g : groups) d.components.push_back(g.name);
    d.components.emplace_back("all");
  }
  for (const auto& t : topologies) d.topologies.push_back(t.name);
  if (!topologies.empty()) d.default_topology = topologies.front().name;
  d.completion = true;
  const std::string text = plugin::descriptor_to_json(d) + "\n";
  if (file.empty()) {
    out(text);
    return 0;
  }
  if (auto written = base::write_file_atomically(file, text, 0644, false); !written) throw written.error();
  return 0;
}


namespace {

struct Candidates {
  std::string current;
  std::vector<std::string> lines;
  void add(const std::string& value, std::string_view description = {}) {
    if (!value.starts_with(current)) return;
    lines.push_back(base::printable(value) + (description.empty() ? "" : "\t" + base::printable(description)));
  }
};

}  // namespace

int Runtime::State::complete(const std::vector<std::string>& words) {
  Candidates c;
  if (words.empty()) return 0;
  c.current = words.back();
  const std::vector<std::string> prior(words.begin(), words.end() - 1);
  const bool lifecycle_verbs = !components.empty();
  static const std::vector<std::pair<std::string, std::string>> common_flags{
      {"--output", "text or json"}, {"--verbose", "more output"}, {"--no-color", "no colors"}, {"--help", "show help"}};
  auto add_flags = [&](const std::vector<std::pair<std::string, std::string>>& flags) {
    for (const auto& [f, d] : flags) c.add(f, d);
    for (const auto& [f, d] : common_flags) c.add(f, d);
  };
  auto add_components = [&](bool with_groups) {
    for (const auto& comp : components)
      if (std::find(prior.begin() + 1, prior.end(), comp.name) == prior.end()) c.add(comp.name, comp.description);
    if (with_groups) {
      for (const auto& g : groups) c.add(g.name, g.description);
      c.add("all", "every component the topology can run");
    }
  };
  const std::string previous = prior.empty() ? "" : prior.back();
  auto add_topology_completions = [&](std::vector<std::pair<std::string, std::string>>& flags) {
    if (any_flags().kubernetes) {
      flags.emplace_back("--kubeconfig", "the kubeconfig file");
      flags.emplace_back("--context", "the kubeconfig context");
      flags.emplace_back("--namespace", "the Kubernetes namespace");
    }
    if (any_flags().cluster) flags.emplace_back("--cluster", "the k3d cluster");
  };

  if (prior.empty()) {
    if (c.current.starts_with("-")) {
      add_flags({});
    } else {
      if (lifecycle_verbs) {
        c.add("deploy", "deploy components and wait for their smoke tests");
        c.add("destroy", "undo a deploy");
        c.add("status", "the state of what was deployed");
        c.add("plan", "what a deploy would change");
        c.add("logs", "a component's log");
        c.add("components", "components, topologies and settings");
      }
      for (const auto& cmd : commands) c.add(cmd.name, cmd.app->get_description());
    }
  } else if (previous == "-o" || previous == "--output") {
    c.add("text", "plain text");
    c.add("json", "JSON");
  } else if (previous == "--topology") {
    for (const auto& t : topologies) c.add(t.name, t.description);
  } else if (previous == "--context" && any_flags().kubernetes) {
    // The contexts of the kubeconfig the command would read.
    kube::LoadOptions load = kube::LoadOptions::from_environment();
    for (std::size_t i = 0; i + 1 < prior.size(); ++i)
      if (prior[i] == "--kubeconfig") load.explicit_path = prior[i + 1];
    if (auto contexts = kube::list_contexts(load))
      for (const auto& name : *contexts) c.add(name, "kubeconfig context");
  } else if (previous == "--kubeconfig") {
    c.lines.emplace_back(":files");
  } else if (previous == "-n" || previous == "--namespace" || previous == "--cluster") {
    // a name the user types (listing them would mean a request to the cluster)
  } else if (lifecycle_verbs && (previous == "--set")) {
    for (const auto& comp : components)
      for (const auto& f : comp.fields(settings::Node())) c.add(f.key + "=", f.help);
    c.lines.emplace_back(":nospace");
  } else if (lifecycle_verbs && (previous == "-f" || previous == "--values") && prior.front() != "logs") {
    c.lines.emplace_back(":files");
  } else if (previous == "--timeout" || previous == "--check-timeout" || previous == "--tail") {
    // a value the user types
  } else if (prior.front() == "deploy" || prior.front() == "destroy" || prior.front() == "status" ||
             prior.front() == "plan") {
    if (c.current.starts_with("-")) {
      std::vector<std::pair<std::string, std::string>> flags{{"--topology", "where to deploy"}, {"--timeout", "how long to wait"}};
      add_topology_completions(flags);
      if (prior.front() == "deploy" && any_flags().kubernetes)
        flags.emplace_back("--force-conflicts", "take over fields another field manager owns");
      if (prior.front() == "destroy" && any_flags().cluster)
        flags.emplace_back("--delete-cluster", "also delete the k3d cluster harmony created");
      if (prior.front() == "deploy" || prior.front() == "plan") {
        flags.emplace_back("--set", "a setting: component.key=value");
        flags.emplace_back("--values", "a YAML file of settings");
      }
      if (prior.front() == "destroy") {
        flags.emplace_back("--yes", "do not ask");
        flags.emplace_back("--purge", "also remove credentials and data");
      }
      add_flags(flags);
    } else {
      add_components(true);
    }
  } else if (prior.front() == "logs") {
    if (c.current.starts_with("-")) {
      std::vector<std::pair<std::string, std::string>> flags{
          {"--follow", "keep printing"}, {"--tail", "only the last N lines"}, {"--topology", "where it runs"}};
      add_topology_completions(flags);
      add_flags(flags);
    } else if (prior.size() == 1)
      add_components(false);
  } else if (prior.front() == "components") {
    add_flags({});
  } else {
    for (const auto& cmd : commands) {
      if (cmd.name != prior.front()) continue;
      if (c.current.starts_with("-"))
        for (const CLI::Option* o : cmd.app->get_options()) {
          for (const auto& name : o->get_lnames()) c.add("--" + name, o->get_description());
        }
    }
  }
  if (!c.lines.empty()) out(join(c.lines, "\n") + "\n");
  return 0;
}

Runtime::Runtime(PluginInfo info) : state_(std::make_unique<State>(std::move(info))) {
  State& s = *state_;
  s.app.set_help_all_flag();
  s.app.require_subcommand(0, 1);
  // Also before the command: harmony-myapp -o json status.
  s.app.add_option("-o,--output", s.common.output, "text or json (default: $HARMONY_OUTPUT, else text)")
      ->check(CLI::IsMember({"text", "json"}));
  s.app.add_flag("-v,--verbose", s.common.verbose, "more output; repeat for more");
  s.app.add_flag("--no-color", s.common.no_color, "no colors (NO_COLOR is honoured too)");
}

// The lifecycle verbs exist only for plugins with components; a plugin of
// commands only (harmony-agent) may use their names for its own commands.
void Runtime::State::add_lifecycle() {
  State& s = *this;
  for (const auto& cmd : commands)
    for (const char* verb : {"deploy", "plan", "status", "destroy", "logs", "components"})
      if (cmd.name == verb)
        throw std::logic_error("harmony-" + info.name + ": the command '" + cmd.name +
                               "' clashes with a lifecycle verb of a plugin with components");
  auto common_flags = [&s](CLI::App* sub) {
    sub->add_option("-o,--output", s.common.output, "text or json (default: $HARMONY_OUTPUT, else text)")
        ->check(CLI::IsMember({"text", "json"}));
    sub->add_flag("-v,--verbose", s.common.verbose, "more output; repeat for more");
    sub->add_flag("--no-color", s.common.no_color, "no colors (NO_COLOR is honoured too)");
  };
  auto lifecycle_flags = [&s, common_flags](CLI::App* sub, bool settings_flags) {
    common_flags(sub);
    sub->add_option("components", s.lifecycle.components, "components or groups (default: all)");
    s.add_topology_flags(sub);
    if (settings_flags) {
      sub->add_option("--set", s.lifecycle.sets, "a setting: component.key=value (repeatable)");
      sub->add_option("-f,--values", s.lifecycle.values, "a YAML file of settings (repeatable)");
    }
  };
  auto* deploy = s.app.add_subcommand("deploy", "deploy components and wait until their smoke tests pass");
  lifecycle_flags(deploy, true);
  deploy->add_option("--timeout", s.lifecycle.timeout, "how long to wait for everything (default 5m)");
  if (s.any_flags().kubernetes)
    deploy->add_flag("--force-conflicts", s.lifecycle.force_conflicts,
                     "take over fields another field manager owns (server-side apply)");
  auto* plan = s.app.add_subcommand("plan", "show what a deploy would change (secrets redacted)");
  lifecycle_flags(plan, true);
  plan->add_option("--timeout", s.lifecycle.timeout, "how long the dry run may take (default 5m)");
  auto* status = s.app.add_subcommand("status", "show the state of what was deployed; checks health");
  lifecycle_flags(status, false);
  status->add_option("--check-timeout", s.lifecycle.check_timeout, "how long each smoke test may take (default 2s)");
  auto* destroy = s.app.add_subcommand("destroy", "undo a deploy (keeps credentials and data unless --purge)");
  lifecycle_flags(destroy, false);
  destroy->add_flag("-y,--yes", s.lifecycle.yes, "do not ask for confirmation");
  destroy->add_flag("--purge", s.lifecycle.purge, "also remove credentials and data");
  destroy->add_option("--timeout", s.lifecycle.timeout, "how long to wait (default 5m)");
  if (s.any_flags().cluster)
    destroy->add_flag("--delete-cluster", s.lifecycle.delete_cluster,
                      "also delete the cluster (k3d), if harmony created it");
  auto* logs_cmd = s.app.add_subcommand("logs", "print a component's log");
  common_flags(logs_cmd);
  logs_cmd->add_option("component", s.logs.component, "the component")->required();
  logs_cmd->add_flag("-f,--follow", s.logs.follow, "keep printing what is added, until Ctrl-C");
  logs_cmd->add_option("--tail", s.logs.tail, "only the last N lines");
  s.add_topology_flags(logs_cmd);
  auto* components_cmd = s.app.add_subcommand("components", "list components, topologies and settings");
  common_flags(components_cmd);
}

Runtime::~Runtime() = default;

void Runtime::add_topology(TopologyEntry entry) { state_->topologies.push_back(std::move(entry)); }
void Runtime::add_component(ComponentEntry entry) { state_->components.push_back(std::move(entry)); }
void Runtime::add_group(std::string name, std::string description, std::vector<std::string> members) {
  state_->groups.push_back({std::move(name), std::move(description), std::move(members)});
}
void Runtime::only_when_named(const std::string& component) {
  auto& cs = state_->components;
  auto it = std::find_if(cs.begin(), cs.end(), [&](const ComponentEntry& c) { return c.name == component; });
  if (it == cs.end()) throw std::logic_error("harmony-" + state_->info.name + ": only_when_named: no component '" + component + "'");
  it->only_when_named = true;
}
void Runtime::unless_set(const std::string& component, const std::string& key, std::string why) {
  auto& cs = state_->components;
  auto it = std::find_if(cs.begin(), cs.end(), [&](const ComponentEntry& c) { return c.name == component; });
  const auto dot = key.find('.');
  if (it == cs.end() || dot == std::string::npos ||
      std::none_of(cs.begin(), cs.end(), [&](const ComponentEntry& c) { return c.name == key.substr(0, dot); }))
    throw std::logic_error("harmony-" + state_->info.name + ": unless_set: no component '" + component + "' or setting '" + key + "'");
  it->unless_key = key;
  it->unless_why = std::move(why);
}
const PluginInfo& Runtime::info() const { return state_->info; }

CLI::App& Runtime::add_command(std::string name, std::string description, std::function<int(const CommandContext&)>** action) {
  State& s = *state_;
  CLI::App* app = s.app.add_subcommand(name, description);
  app->add_option("-o,--output", s.common.output, "text or json (default: $HARMONY_OUTPUT, else text)")
      ->check(CLI::IsMember({"text", "json"}));
  app->add_flag("-v,--verbose", s.common.verbose, "more output; repeat for more");
  app->add_flag("--no-color", s.common.no_color, "no colors (NO_COLOR is honoured too)");
  if (!s.topologies.empty()) s.add_topology_flags(app);
  s.commands.push_back({std::move(name), app, {}});
  *action = &s.commands.back().action;
  return *app;
}

int Runtime::run(int argc, char** argv) {
  State& s = *state_;
  const std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  auto render = [&](const base::Error& e) {
    const bool color = !s.common.no_color && !env("NO_COLOR") && ::isatty(STDERR_FILENO);
    std::string text = base::render_error(e, s.label(), color);
    std::fputs(text.c_str(), stderr);
    return e.status;
  };
  try {
    if (!args.empty() && args.front() == "__descriptor") return s.descriptor(args.size() > 1 ? args[1] : "");
    if (!args.empty() && args.front() == "__complete") return s.complete({args.begin() + 1, args.end()});
    if (!s.components.empty()) s.add_lifecycle();
    // Completion of the plugin run directly (`harmony-fleet <TAB>`); through
    // the dispatcher, `harmony completion` covers it.
    std::string shell;
    for (const auto& cmd : s.commands)
      if (cmd.name == "completion")
        throw std::logic_error("harmony-" + s.info.name + ": the command 'completion' is the SDK's");
    s.app.add_subcommand("completion", "print a shell completion script for harmony-" + s.info.name)
        ->add_option("shell", shell, "bash, zsh or fish")
        ->required()
        ->check(CLI::IsMember({"bash", "zsh", "fish"}));

    // An unknown command gets a suggestion, not CLI11's "not expected".
    if (!args.empty() && !args.front().starts_with("-")) {
      std::vector<std::string> known;
      for (const CLI::App* sub : s.app.get_subcommands([](CLI::App*) { return true; })) known.push_back(sub->get_name());
      if (std::find(known.begin(), known.end(), args.front()) == known.end()) {
        auto close = base::suggest(args.front(), known, 1);
        throw base::usage_error("unknown command '" + base::printable(args.front()) + "'",
                                "harmony-" + s.info.name + " has: " + join(known, ", "),
                                close.empty() ? "run 'harmony " + s.info.name + " --help'" : "did you mean '" + close.front() + "'?");
      }
    }
    try {
      s.app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
      out(s.app.help());
      return 0;
    } catch (const CLI::CallForAllHelp&) {
      out(s.app.help("", CLI::AppFormatMode::All));
      return 0;
    } catch (const CLI::ParseError& e) {
      throw base::usage_error(e.what(), {}, "run 'harmony " + s.info.name + " --help'");
    }
    // The global flags' parsing may have found a bad HARMONY_OUTPUT.
    (void)s.json_output();

    if (!s.components.empty()) {
      if (s.app.got_subcommand("deploy")) return s.deploy();
      if (s.app.got_subcommand("destroy")) return s.destroy();
      if (s.app.got_subcommand("status")) return s.status();
      if (s.app.got_subcommand("plan")) return s.plan();
      if (s.app.got_subcommand("logs")) return s.show_logs();
      if (s.app.got_subcommand("components")) return s.list_components();
    }
    if (s.app.got_subcommand("completion")) {
      out(*plugin::completion_script(shell, "harmony-" + s.info.name));
      return 0;
    }
    for (const auto& cmd : s.commands) {
      if (!cmd.app->parsed()) continue;
      if (!cmd.action) throw std::logic_error("command '" + cmd.name + "' has no action");
      CommandContext ctx{s.info.name, s.json_output(), s.verbose(), s.color()};
      if (!s.topologies.empty()) {
        const std::size_t t = s.topology_index();
        ctx.topology = s.topologies[t].name;
        ctx.environment = s.environment(t);
      }
      return cmd.action(ctx);
    }
    out(s.app.help());
    return 0;
  } catch (const base::Error& e) {
    return render(e);
  } catch (const std::exception& e) {
    return render(base::make_error(std::string("internal error: ") + e.what(), {}, "please report this"));
  }
}

}  // namespace runner
}  // namespace harmony
