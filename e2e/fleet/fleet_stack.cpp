#include "fleet_stack.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <harmony/base/files.hpp>

namespace harmony::e2e {

namespace fs = std::filesystem;

namespace {

// Runs `harmony destroy fleet --purge` against a sandbox's state, with the
// same binary: harmony's own records say what to stop.
void destroy_in(const std::string& root) {
  base::ProcessSpec spec;
  spec.argv = {harmony_binary(), "destroy", "fleet", "--yes", "--purge"};
  base::Environment env;
  env.set("PATH", root + "/hbin:" + root + "/bin:/usr/bin:/bin");
  env.set("HOME", root + "/home");
  env.set("XDG_STATE_HOME", root + "/state");
  env.set("XDG_CACHE_HOME", root + "/cache");
  spec.env = env;
  spec.timeout = std::chrono::seconds(60);
  (void)base::run_process(spec);
}

}  // namespace

void FleetStack::clean_leftovers() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("harmony-fleet-e2e-")) continue;
    auto owner = base::read_file(entry.path().string() + "/owner.json", 4096);
    if (owner) {
      auto doc = nlohmann::json::parse(*owner, nullptr, false);
      if (!doc.is_discarded()) {
        base::ProcessIdentity id{doc.value("pid", 0), doc.value("start_ticks", std::uint64_t{0}), doc.value("boot_id", std::string())};
        if (base::check_process(id) == base::Liveness::running) continue;  // another run, still going
      }
    }
    if (fs::exists(entry.path() / "hbin")) destroy_in(entry.path().string());
    fs::remove_all(entry.path(), ec);
  }
}

FleetStack::FleetStack() : client_port(Sandbox::free_port()), monitor_port(Sandbox::free_port()) {
  auto me = base::identify_process(static_cast<int>(::getpid()));
  REQUIRE(me);
  box.write(".", "owner.json",
            nlohmann::json{{"pid", me->pid}, {"start_ticks", me->start_ticks}, {"boot_id", me->boot_id}}.dump(),
            fs::perms(0644));
  box.make_dir("hbin");
  fs::create_symlink(harmony_binary(), box.path("hbin/harmony"));
  for (const auto& program : {harmony_fleet_binary(), harmony_agent_binary(), fleet_agent_binary()})
    box.install_program(program);
  box.path_dirs = {"hbin", "bin", "/usr/bin", "/bin"};
}

FleetStack::~FleetStack() {
  try {
    destroy_in(box.root());
  } catch (...) {
  }
}

FleetStack& FleetStack::shared() {
  static FleetStack* stack = [] {
    clean_leftovers();
    auto* s = new FleetStack();
    s->first_deploy = s->deploy();
    return s;
  }();
  // Destroyed at exit, so that nothing outlives the test binary.
  static struct Reaper {
    ~Reaper() { delete stack; }
  } reaper;
  return *stack;
}

FleetStack& FleetStack::ready() {
  FleetStack& stack = shared();
  auto r = stack.deploy();
  INFO("deploy fleet, to start from a healthy stack:\nstdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  return stack;
}

base::ProcessResult FleetStack::harmony(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"harmony"};
  argv.insert(argv.end(), args.begin(), args.end());
  return box.run(argv);
}

std::vector<std::string> FleetStack::settings() const {
  return {"--set", "nats.client_port=" + std::to_string(client_port), "--set",
          "nats.monitor_port=" + std::to_string(monitor_port), "--set", "agent.count=2", "--set",
          "agent.exec_allow={/bin/echo,/bin/sh}", "--set", "agent.heartbeat=500ms"};
}

base::ProcessResult FleetStack::deploy(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"deploy", "fleet"};
  argv.insert(argv.end(), args.begin(), args.end());
  for (const auto& s : settings()) argv.push_back(s);
  return harmony(argv);
}

std::string FleetStack::state(const std::string& relative) const { return box.path("state/harmony/fleet/local/" + relative); }

std::string FleetStack::secret(const std::string& name) const {
  auto text = base::read_file(state("credentials/nats/" + name), 4096);
  REQUIRE(text);
  std::string s = *text;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

int FleetStack::pid_of(const std::string& component, const std::string& process) const {
  auto text = base::read_file(state("components/" + component + "/processes/" + process + ".json"), 1 << 16);
  if (!text) return 0;
  return nlohmann::json::parse(*text).value("pid", 0);
}

}  // namespace harmony::e2e
