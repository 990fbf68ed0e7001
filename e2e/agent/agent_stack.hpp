#pragma once
// End-to-end support for the agent: a real nats-server with an operator and
// an agent user, fleet-agent daemons run through a tiny shell wrapper (so a
// test can signal the daemon and read how it ended), the harmony-agent
// plugin behind the real dispatcher, and raw NATS requests for what the
// plugin never sends.

#include <chrono>
#include <list>
#include <optional>
#include <string>
#include <vector>

#include <harmony/agent/client.hpp>

#include "nats.hpp"
#include "sandbox.hpp"

namespace harmony::e2e {

struct AgentSetup {
  std::string id = "edge-1";
  std::string user = "agent";
  std::string password_file;  // empty: the agent user's
  std::vector<std::string> allow{"/bin/echo", "/bin/sh", "/bin/sleep", "/nonexistent/program"};
  // exec.allow_args: programs that run only with these argument vectors.
  std::vector<std::pair<std::string, std::vector<std::vector<std::string>>>> allow_args;
  std::vector<std::pair<std::string, std::string>> exec_env;  // exec.env
  std::string exec_timeout = "20s";
  std::size_t output_limit = 256 * 1024;
  int max_concurrent = 4;
  std::string heartbeat = "300ms";
  std::vector<std::pair<std::string, std::string>> env;  // the daemon's environment: FLEET_AGENT_* overrides, or anything
};

class AgentProcess {
 public:
  AgentProcess(const Sandbox& box, std::string id, std::string config_path,
               std::vector<std::pair<std::string, std::string>> env);
  ~AgentProcess();
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  void start();
  [[nodiscard]] int pid() const;  // the daemon's, not the wrapper's
  void signal(int signal) const;
  [[nodiscard]] bool running() const;
  // The daemon's exit status (128+N for signal N), once it ended within `wait`.
  [[nodiscard]] std::optional<int> exit_status(std::chrono::milliseconds wait) const;
  [[nodiscard]] std::string log() const;
  [[nodiscard]] const std::string& id() const { return id_; }

 private:
  const Sandbox& box_;
  std::string id_;
  std::string dir_;
  std::string config_path_;
  std::vector<std::pair<std::string, std::string>> env_;
  std::optional<base::ProcessIdentity> wrapper_;
};

class AgentStack {
 public:
  explicit AgentStack(NatsServer::Options options = {});

  Sandbox box;
  NatsServer nats;

  [[nodiscard]] std::string config(const AgentSetup& setup) const;
  // Starts fleet-agent; with `wait_ready`, returns once it answers a ping.
  AgentProcess& start_agent(const AgentSetup& setup = {}, bool wait_ready = true);

  // The operator's connection flags.
  [[nodiscard]] std::vector<std::string> flags() const;
  // `harmony <args>` in the sandbox, through the real dispatcher.
  [[nodiscard]] base::ProcessResult harmony(const std::vector<std::string>& args) const;
  // `harmony agent <verb> <args> <operator flags>`.
  [[nodiscard]] base::ProcessResult agent(const std::vector<std::string>& args) const;

  [[nodiscard]] agent::Client client() const;
  // A request on any subject with any payload: the reply, or nullopt on no
  // responders or no answer within `timeout`. Safe to call from a thread of
  // the test's own (it throws rather than fail a Catch assertion).
  [[nodiscard]] std::optional<std::string> raw_request(const std::string& subject, const std::string& payload,
                                                       std::chrono::milliseconds timeout = std::chrono::seconds(3)) const;
  bool wait_for_ping(const std::string& id, std::chrono::milliseconds wait = std::chrono::seconds(10)) const;
  // Waits until the agent's status says `count` execs run; false if it never does.
  bool wait_for_execs(const std::string& id, int count, std::chrono::milliseconds wait = std::chrono::seconds(5)) const;

 private:
  std::list<AgentProcess> agents_;
};

}  // namespace harmony::e2e
