#pragma once
// The agent: serves the verbs of docs/agent-protocol.md on its own subjects,
// publishes heartbeats, and survives NATS going away. libnats reconnects a
// dropped connection by itself; when libnats gives a connection up (the
// server refused the credentials, say) or the first connect fails, the
// agent's own supervisor connects again, for ever, with backoff. Nothing a
// peer sends can crash it: every request is decoded by the wire contract's
// codec and every failure is a typed reply.
//
// Threads: libnats's (requests, connection events), the supervisor, the
// heartbeat loop, and one joinable worker per exec. No lock is held across
// a network round trip: the heartbeat's JetStream requests may take seconds
// when JetStream does not answer, and requests must not wait for them.

#include <atomic>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config.hpp"
#include "workloads.hpp"

struct __natsConnection;
struct __natsSubscription;
struct __natsOptions;
struct __natsStatistics;
struct __natsMsg;

namespace spdlog {
class logger;
namespace sinks {
template <typename Mutex>
class ringbuffer_sink;
}
}  // namespace spdlog

namespace harmony::agent::daemon {

class Agent {
 public:
  Agent(Config config, std::string password, std::shared_ptr<spdlog::logger> log,
        std::shared_ptr<spdlog::sinks::ringbuffer_sink<std::mutex>> recent);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Sets up and starts connecting in the background; fails only when the
  // options themselves are unusable.
  base::expected<void> start();
  // Drains: answers every exec in flight (its result, or timed_out at its
  // deadline) and every request that arrives meanwhile (busy: the agent is
  // stopping), then disconnects.
  void stop();

 private:
  struct Link;  // one NATS connection with its subscription and JetStream handles
  struct Worker {
    std::jthread thread;
    bool done = false;  // under mutex_: run_exec returned, joining is immediate
  };

  void supervise();
  bool connect_once(int& attempts);
  void retire(std::shared_ptr<Link> link);
  std::shared_ptr<Link> current_link();
  void serve(__natsConnection* nc, const std::string& subject, const std::string& reply, const std::string& payload);
  void run_exec(const std::string& reply, const ExecRequest& request);
  void send(__natsConnection* nc, const std::string& reply, const std::string& payload);
  void send_current(const std::string& reply, const std::string& payload);
  void heartbeat_loop();
  bool publish_heartbeat();
  bool put_into_kv(Link& link, const std::string& payload);
  bool wait_stopping(std::chrono::milliseconds delay);
  // Desired state (docs/fleet-operator.md): a JetStream consumer filtered to
  // this device's keys, read by one thread; made again on every connection
  // and every workloads.resync.
  void desired_loop();
  struct Watch;
  bool watch_desired(const std::shared_ptr<Link>& link, Watch& watch);
  void take_desired(Watch& watch, __natsMsg* msg);
  void report_workload(const fleet::contract::ReportedState& state);
  void forget_workload(const fleet::contract::Key& key);

  Config config_;
  std::string password_;
  std::string token_;  // the token file's content at the last connection (libnats keeps a pointer)
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink<std::mutex>> recent_;
  const std::chrono::steady_clock::time_point started_;
  const std::string started_at_;
  __natsOptions* options_ = nullptr;

  // The connection and what hangs off it; threads that talk over it hold a
  // copy of the pointer, so that no lock is held while they do. Connections
  // libnats gave up are kept (closed) until their subscription says its
  // message handler will not run again, then freed.
  std::mutex link_mutex_;
  std::shared_ptr<Link> link_;
  std::vector<std::shared_ptr<Link>> retired_;

  // The heartbeat thread's own: when to use JetStream again after it failed
  // or did not answer on that connection.
  const Link* kv_link_ = nullptr;
  std::chrono::steady_clock::time_point kv_retry_at_{};
  int kv_failures_ = 0;

  // Lock order: link_mutex_ before mutex_.
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  bool link_closed_ = false;
  // Connections made whose closed callback has not run yet: libnats calls
  // back with `this` until then, so stop() waits for it to reach zero.
  int open_connections_ = 0;
  bool beat_now_ = false;  // a new connection: heartbeat at once
  int exec_running_ = 0;
  std::list<Worker> workers_;
  std::int64_t reconnects_ = 0;  // new connections after the first
  std::string last_heartbeat_;
  std::string heartbeat_mode_ = "subject";
  std::thread supervisor_;
  std::thread heartbeat_;
  std::atomic<bool> resync_desired_{false};  // reconnected: the server may have lost the consumer
  std::unique_ptr<Workloads> workloads_;
  std::thread desired_;
};

}  // namespace harmony::agent::daemon
