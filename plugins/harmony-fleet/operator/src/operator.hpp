#pragma once
// The fleet operator runtime (docs/fleet-operator.md): it watches the
// FleetDeployments (Kubernetes) and the agent-status, desired-state and
// device-state buckets (NATS), and, while it leads, makes desired-state,
// the FleetDeployments' status and the FleetDevices follow from them
// (reconcile.hpp decides; this file only reads and writes).
//
// Threads: one per watch (a Kubernetes watch, three bucket watchers), the
// leader election, the HTTP endpoints, and the reconciler, which alone
// writes. Every source starts over from a complete read now and then
// (resync), so nothing depends on having seen every event.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <harmony/kube/client.hpp>

#include "leader.hpp"
#include "nats.hpp"
#include "reconcile.hpp"

namespace harmony::fleet::op {

struct OperatorOptions {
  kube::LoadOptions kube;
  std::string watch_namespace;  // empty: every namespace
  LeaseOptions lease;
  NatsOptions nats;
  std::string listen_address = "0.0.0.0";
  std::uint16_t listen_port = 8080;
  std::chrono::milliseconds status_interval{500};  // at most one status write per object this often
  std::chrono::milliseconds resync{std::chrono::minutes(5)};
};

// One line to stderr: "<time> <level> <message>".
void log_line(const std::string& level, const std::string& message);

class Operator {
 public:
  explicit Operator(OperatorOptions options);
  ~Operator();
  Operator(const Operator&) = delete;
  Operator& operator=(const Operator&) = delete;

  // Connects and starts every thread; fails when the configuration is unusable.
  base::expected<void> start();
  // Stops writing, hands the Lease over, stops every thread.
  void stop();
  [[nodiscard]] std::uint16_t http_port() const;

 private:
  struct Sources {
    bool deployments = false;
    bool devices = false;
    bool desired = false;
    bool reported = false;
    [[nodiscard]] bool all() const { return deployments && devices && desired && reported; }
  };
  struct Metrics {
    std::atomic<std::uint64_t> desired_puts{0}, desired_deletes{0}, status_writes{0}, device_writes{0}, reconciles{0},
        write_errors{0};
    std::atomic<double> reconcile_seconds{0};
  };

  void watch_deployments();
  void lead();
  void reconcile_loop();
  void apply(const Actions& actions);
  void apply_finalizer(const DeploymentId& id, bool add);
  void write_status(const DeploymentId& id, const contract::FleetDeploymentStatus& status);
  bool write_device(const std::string& id, const contract::FleetDeviceStatus& status);  // true: it wrote (or tried)
  void mark_dirty();
  [[nodiscard]] std::string metrics();
  [[nodiscard]] std::string not_ready_reason();
  bool wait_stopping(std::chrono::milliseconds delay);

  OperatorOptions options_;
  std::unique_ptr<kube::Client> writer_;  // the reconciler's
  std::unique_ptr<kube::Client> elector_client_;
  std::unique_ptr<LeaderElector> elector_;
  std::unique_ptr<Nats> nats_;

  std::mutex mutex_;
  std::condition_variable changed_;
  World world_;       // under mutex_
  Sources synced_;    // under mutex_
  bool dirty_ = true; // under mutex_
  bool stopping_ = false;
  std::atomic<bool> stop_flag_{false};

  // The reconciler's own: what it wrote (or saw) last, to write only changes.
  std::map<DeploymentId, contract::FleetDeploymentStatus> written_status_;
  std::map<DeploymentId, std::chrono::steady_clock::time_point> status_written_at_;
  std::map<DeploymentId, contract::FleetDeploymentStatus> observed_status_;  // under mutex_: from the watch
  std::map<std::string, contract::FleetDeviceStatus> written_devices_;
  bool devices_listed_ = false;

  Metrics metrics_;
  std::unique_ptr<class HttpServer> http_;
  std::thread deployments_thread_, leader_thread_, reconciler_thread_;
};

}  // namespace harmony::fleet::op
