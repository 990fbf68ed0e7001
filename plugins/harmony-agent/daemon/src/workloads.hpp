#pragma once
// The workloads the fleet asks this device to run (docs/fleet-operator.md):
// supervised processes, and containers through podman where it is installed.
//
// Desired state comes in (put, remove, or a complete view after each
// resync); one supervisor thread converges on it and reports every change
// of a workload's state. Processes are started detached, through
// `fleet-agent --run-workload`, which waits for the program and writes how
// it ended: they outlive the agent, and an agent that starts again adopts
// them from their records in workloads.directory instead of starting them
// twice. Containers are podman's to keep; the agent names and labels them,
// so it finds them again the same way.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <harmony/base/process.hpp>
#include <harmony/fleet/contract.hpp>

#include "config.hpp"

namespace spdlog {
class logger;
}

namespace harmony::agent::daemon {

namespace contract = harmony::fleet::contract;

// The podman command lines, for the supervisor and the tests.
std::string container_name(const contract::DesiredState& desired);  // fleet_<namespace>_<name>
std::vector<std::string> podman_run_argv(const std::string& podman, const std::string& device,
                                         const contract::DesiredState& desired);

// `fleet-agent --run-workload EXIT_FILE -- PROGRAM ARGS...`: runs the program
// (stdout and stderr are already the workload's log), then writes how it
// ended into EXIT_FILE and exits with its status.
int run_workload(const std::string& exit_file, const std::vector<std::string>& argv);

class Workloads {
 public:
  using Report = std::function<void(const contract::ReportedState&)>;
  using Forget = std::function<void(const contract::Key&)>;

  Workloads(const Config& config, std::shared_ptr<spdlog::logger> log, Report report, Forget forget);
  ~Workloads();
  Workloads(const Workloads&) = delete;
  Workloads& operator=(const Workloads&) = delete;

  // Creates the directory, adopts the processes recorded there, starts the
  // supervisor. Fails when the directory cannot be used.
  base::expected<void> start();
  // Stops supervising; the workloads keep running (the next start adopts them).
  void stop();

  // Everything this device should run (after a resync): workloads not in it
  // stop. Until the first complete view, adopted workloads are left alone.
  void replace_all(const std::vector<contract::DesiredState>& all);
  void put(const contract::DesiredState& desired);
  void remove(const std::string& namespace_, const std::string& name);
  // Reports every workload's state again (after a reconnect).
  void report_all();
  // True once after a full read lacked a running workload: it stops only
  // when a second full read, `confirm` later, agrees (a NATS that lost its
  // store and is being refilled must not stop the whole fleet).
  bool wants_resync();

  // What runs now: for status and the tests.
  [[nodiscard]] std::vector<contract::ReportedState> states();

 private:
  struct Workload {
    contract::DesiredState desired;
    std::optional<base::ProcessIdentity> process;  // a running process workload
    bool container_started = false;
    contract::WorkloadPhase phase = contract::WorkloadPhase::pending;
    std::string message;
    std::int64_t restarts = 0;
    bool terminal = false;  // ended and its policy says not to start it again
    int backoff = 0;        // restarts in a row that ended quickly
    std::chrono::steady_clock::time_point restart_at{};
    std::chrono::steady_clock::time_point started{};
    std::chrono::steady_clock::time_point checked{};
    bool dirty = true;  // to report
  };

  void supervise();
  void converge(std::map<std::string, contract::DesiredState> desired, bool complete, std::uint64_t snapshot,
                std::set<std::string> removed);
  void step(Workload& w);
  void start_workload(Workload& w);
  void stop_workload(Workload& w);
  void ended(Workload& w, bool succeeded, const std::string& how);
  void adopt();
  void set_phase(Workload& w, contract::WorkloadPhase phase, std::string message);
  static std::chrono::milliseconds min_ready(const Workload& w);
  [[nodiscard]] std::string path(const contract::DesiredState& d, std::string_view suffix) const;
  [[nodiscard]] contract::ReportedState state_of(const Workload& w) const;

  Config config_;
  std::shared_ptr<spdlog::logger> log_;
  Report report_;
  Forget forget_;
  std::string self_;  // this program, for --run-workload

  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, contract::DesiredState> desired_;  // under mutex_
  bool complete_ = false;                                  // under mutex_: a complete view arrived
  bool changed_ = false;                                   // under mutex_
  bool report_all_ = false;                                // under mutex_
  bool stopping_ = false;                                  // under mutex_
  std::uint64_t snapshots_ = 0;                            // under mutex_: full reads so far
  std::set<std::string> removed_;                          // under mutex_: deleted keys, not yet acted on
  bool resync_wanted_ = false;                             // under mutex_
  std::vector<contract::ReportedState> states_;            // under mutex_: the supervisor's last view

  std::map<std::string, Workload> running_;  // the supervisor's own
  struct Missing {
    std::uint64_t snapshot = 0;
    std::chrono::steady_clock::time_point since{};
  };
  std::map<std::string, Missing> missing_;  // the supervisor's own: running, absent from a full read
  std::thread supervisor_;
};

}  // namespace harmony::agent::daemon
