#pragma once
// A long-running process, supervised by the topology: started, restarted when
// its command, environment, input files or program change, left alone
// otherwise. On `local` it is a detached process with its log in a file.
//
// argv and env values may name files the topology keeps for the component:
// {file:NAME} (a config file), {credential:NAME}, {data:NAME} (a data
// directory, created), {work} (the component's work directory).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <harmony/capabilities.hpp>
#include <harmony/score.hpp>
#include <harmony/settings.hpp>

namespace harmony::scores {

// Expands the placeholders above; an unknown one is an error (a plugin bug).
base::expected<std::string> expand_placeholders(std::string_view text, FileStore& files, RunContext& ctx);
// "4222" or "0.0.0.0:4222" -> a port binding named `name`.
base::expected<PortBinding> parse_port_binding(const std::string& name, const std::string& text);

class LocalProcess {
 public:
  struct Settings {
    std::string name;                            // empty: the component's name
    std::string command;                         // absolute path, or a program found in PATH
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::map<std::string, std::string> ports;   // name -> "4222" or "0.0.0.0:4222"
    std::vector<std::string> inputs;            // files (placeholders allowed) that configure it

    template <class V>
    void describe(V& v) {
      v("name", name, "the process's name within its component");
      v("command", command, "the program to run");
      v("args", args, "its arguments");
      v("env", env, "environment variables added to harmony's");
      v("ports", ports, "ports it listens on: name -> port or address:port");
      v("inputs", inputs, "files whose content is part of its configuration");
    }
  };
  using capabilities = needs<capability::ProcessSupervision, capability::FileStorage>;

  explicit LocalProcess(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "process " + settings_.command; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
    requires SupervisesProcesses<T> && StoresFiles<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return std::make_unique<Run<T>>(settings_);
  }

  // The process must still be running.
  template <Topology T>
    requires SupervisesProcesses<T> && StoresFiles<T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    return std::make_unique<Alive<T>>();
  }

 private:
  template <class T>
  struct Run final : Interpret<T> {
    explicit Run(Settings s) : settings(std::move(s)) {}
    Outcome execute(T& topology, const Inventory&, RunContext& ctx) override {
      ProcessDefinition def;
      def.name = settings.name.empty() ? ctx.component : settings.name;
      FileStore& files = topology.files();
      auto expand = [&](const std::string& text) { return expand_placeholders(text, files, ctx); };
      auto command = expand(settings.command);
      if (!command) return Outcome::failure(command.error());
      def.argv.push_back(*command);
      for (const auto& a : settings.args) {
        auto arg = expand(a);
        if (!arg) return Outcome::failure(arg.error());
        def.argv.push_back(*arg);
      }
      for (const auto& [k, v] : settings.env) {
        auto value = expand(v);
        if (!value) return Outcome::failure(value.error());
        def.env[k] = *value;
      }
      for (const auto& [port_name, text] : settings.ports) {
        auto binding = parse_port_binding(port_name, text);
        if (!binding) return Outcome::failure(binding.error());
        def.ports.push_back(*binding);
      }
      for (const auto& input : settings.inputs) {
        auto path = expand(input);
        if (!path) return Outcome::failure(path.error());
        def.inputs.push_back(*path);
      }
      return topology.processes().ensure_process(ctx, def);
    }
    Settings settings;
  };

  template <class T>
  struct Alive final : SmokeTest<T> {
    base::expected<void> run(T& topology, RunContext& ctx) override {
      if (topology.processes().processes_running(ctx.component)) return {};
      base::Error e = base::make_error("'" + ctx.component + "' is not running",
                                       "its process exited; the end of its log:\n" +
                                           topology.processes().log_tail(ctx.component, 10),
                                       "see the whole log: harmony " + ctx.plugin + " logs " + ctx.component);
      e.status = base::exit_status::smoke_test_failed;
      return base::fail(std::move(e));
    }
  };

  Settings settings_;
};

}  // namespace harmony::scores
