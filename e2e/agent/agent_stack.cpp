#include "agent_stack.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <nats/nats.h>

#include <nlohmann/json.hpp>

#include <harmony/base/files.hpp>

#include "eventually.hpp"

namespace harmony::e2e {

namespace {
void pause() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }
}  // namespace

// ---- AgentProcess ------------------------------------------------------------

AgentProcess::AgentProcess(const Sandbox& box, std::string id, std::string config_path,
                           std::vector<std::pair<std::string, std::string>> env)
    : box_(box), id_(std::move(id)), dir_(box.path("agents/" + id_)), config_path_(std::move(config_path)), env_(std::move(env)) {}

AgentProcess::~AgentProcess() {
  if (running()) ::kill(pid(), SIGKILL);
  if (wrapper_) (void)base::terminate_process(*wrapper_, std::chrono::seconds(1));
}

void AgentProcess::start() {
  std::filesystem::remove(dir_ + "/pid");
  std::filesystem::remove(dir_ + "/status");
  base::Environment env = box_.environment();
  for (const auto& [k, v] : env_) env.set(k, v);
  base::DetachedSpec spec;
  // The wrapper records the daemon's pid and, when it ends, its status; the
  // daemon itself is an ordinary child that gets signals sent to its pid.
  spec.argv = {"/bin/sh", "-c",
               "pidfile=$1 statusfile=$2; shift 2; \"$@\" & echo $! > \"$pidfile.tmp\"; mv \"$pidfile.tmp\" \"$pidfile\"; wait $!; "
               "echo $? > \"$statusfile.tmp\"; mv \"$statusfile.tmp\" \"$statusfile\"",
               "sh", dir_ + "/pid", dir_ + "/status", fleet_agent_binary(), "--config", config_path_};
  spec.env = env;
  spec.log_path = dir_ + "/agent.log";
  auto started = base::spawn_detached(spec, [](const base::ProcessIdentity&) { return base::expected<void>{}; });
  REQUIRE(started);
  wrapper_ = *started;
  REQUIRE(testing::eventually([&] { return pid() > 0; }));
}

int AgentProcess::pid() const {
  auto text = base::read_file(dir_ + "/pid", 64);
  if (!text || text->empty()) return 0;
  return std::atoi(text->c_str());
}

void AgentProcess::signal(int signal) const {
  REQUIRE(pid() > 0);
  REQUIRE(::kill(pid(), signal) == 0);
}

bool AgentProcess::running() const {
  if (pid() <= 0 || std::filesystem::exists(dir_ + "/status")) return false;
  auto identity = base::identify_process(pid());
  return identity && base::check_process(*identity) == base::Liveness::running;
}

std::optional<int> AgentProcess::exit_status(std::chrono::milliseconds wait) const {
  const auto until = std::chrono::steady_clock::now() + wait;
  do {
    if (auto text = base::read_file(dir_ + "/status", 64); text && !text->empty()) return std::atoi(text->c_str());
    pause();
  } while (std::chrono::steady_clock::now() < until);
  return std::nullopt;
}

std::string AgentProcess::log() const { return base::read_file(dir_ + "/agent.log", 1 << 22).value_or(""); }

// ---- AgentStack ----------------------------------------------------------------

AgentStack::AgentStack(NatsServer::Options options) : nats(box, std::move(options)) {
  box.make_dir("hbin");
  std::filesystem::create_symlink(harmony_binary(), box.path("hbin/harmony"));
  box.install_program(harmony_agent_binary());
  box.path_dirs = {"hbin", "bin", "/usr/bin", "/bin"};
  nats.start();
}

std::string AgentStack::config(const AgentSetup& s) const {
  std::string yaml = "device_id: " + s.id + "\n";
  yaml += "nats:\n  urls: [\"" + nats.url() + "\"]\n";
  if (!s.user.empty()) {
    yaml += "  user: " + s.user + "\n";
    yaml += "  password_file: \"" + (s.password_file.empty() ? nats.password_file(s.user) : s.password_file) + "\"\n";
  }
  yaml += "labels:\n  site: lab\n  role: test\n";
  yaml += "exec:\n  allow:" + std::string(s.allow.empty() ? " []" : "") + "\n";
  for (const auto& program : s.allow) yaml += "    - \"" + program + "\"\n";
  if (!s.allow_args.empty()) yaml += "  allow_args:\n";
  for (const auto& [program, vectors] : s.allow_args) {
    yaml += "    \"" + program + "\":\n";
    for (const auto& args : vectors) {
      std::string quoted;
      for (const auto& arg : args) quoted += (quoted.empty() ? "\"" : ", \"") + arg + "\"";
      yaml += "      - [" + quoted + "]\n";
    }
  }
  if (!s.exec_env.empty()) yaml += "  env:\n";
  for (const auto& [name, value] : s.exec_env) yaml += "    " + name + ": \"" + value + "\"\n";
  yaml += "  timeout: " + s.exec_timeout + "\n";
  yaml += "  output_limit: " + std::to_string(s.output_limit) + "\n";
  yaml += "  max_concurrent: " + std::to_string(s.max_concurrent) + "\n";
  yaml += "heartbeat:\n  interval: " + s.heartbeat + "\n";
  return yaml;
}

AgentProcess& AgentStack::start_agent(const AgentSetup& setup, bool wait_ready) {
  const std::string path = box.write("agents/" + setup.id, "agent.yaml", config(setup), std::filesystem::perms(0600));
  auto& agent = agents_.emplace_back(box, setup.id, path, setup.env);
  agent.start();
  if (wait_ready && !wait_for_ping(setup.id)) FAIL("fleet-agent " << setup.id << " never answered a ping:\n" << agent.log());
  return agent;
}

std::vector<std::string> AgentStack::flags() const {
  return {"--server", nats.url(), "--user", "operator", "--password-file", nats.password_file("operator")};
}

base::ProcessResult AgentStack::harmony(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"harmony"};
  argv.insert(argv.end(), args.begin(), args.end());
  return box.run(argv);
}

base::ProcessResult AgentStack::agent(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"agent"};
  argv.insert(argv.end(), args.begin(), args.end());
  // Flags after `--` would be the remote command's: put them before it.
  auto dashes = std::find(argv.begin(), argv.end(), "--");
  auto f = flags();
  argv.insert(dashes, f.begin(), f.end());
  return harmony(argv);
}

agent::Client AgentStack::client() const {
  agent::Connection c{{nats.url()}, "operator", "", "the test"};
  c.password = base::read_file(nats.password_file("operator"), 4096).value_or("");
  while (!c.password.empty() && c.password.back() == '\n') c.password.pop_back();
  auto client = agent::Client::connect(c, std::chrono::seconds(3));
  REQUIRE(client);
  return std::move(*client);
}

std::optional<std::string> AgentStack::raw_request(const std::string& subject, const std::string& payload,
                                                   std::chrono::milliseconds timeout) const {
  std::string password = base::read_file(nats.password_file("operator"), 4096).value_or("");
  natsConnection* nc = nats_connect(nats.url(), "operator", password.substr(0, password.find('\n')));
  // Thrown, not REQUIREd: tests call this from their own threads, where a
  // Catch assertion is a data race; the exception reaches the test's thread.
  if (nc == nullptr) throw std::runtime_error("cannot connect to nats-server as the operator");
  natsMsg* reply = nullptr;
  natsStatus s = natsConnection_Request(&reply, nc, subject.c_str(), payload.data(), static_cast<int>(payload.size()),
                                        static_cast<int64_t>(timeout.count()));
  std::optional<std::string> out;
  if (s == NATS_OK) out = std::string(natsMsg_GetData(reply), static_cast<std::size_t>(natsMsg_GetDataLength(reply)));
  natsMsg_Destroy(reply);
  natsConnection_Destroy(nc);
  return out;
}

bool AgentStack::wait_for_ping(const std::string& id, std::chrono::milliseconds wait) const {
  agent::Client c = client();
  const auto until = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < until) {
    if (c.ping(id, std::chrono::milliseconds(500))) return true;
    pause();
  }
  return false;
}

bool AgentStack::wait_for_execs(const std::string& id, int count, std::chrono::milliseconds wait) const {
  return testing::eventually(
      [&] {
        auto status = raw_request("device-commands." + id + ".status", "");
        if (!status) return false;
        auto doc = nlohmann::json::parse(*status, nullptr, false);
        return doc.is_object() && doc["exec"]["running"] == count;
      },
      wait);
}

}  // namespace harmony::e2e
