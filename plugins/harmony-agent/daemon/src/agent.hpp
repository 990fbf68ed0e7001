#pragma once
// The agent: serves the verbs of docs/agent-protocol.md on its own subjects,
// publishes heartbeats, and survives NATS going away. libnats reconnects a
// dropped connection by itself; when libnats gives a connection up (the
// server refused the credentials, say) or the first connect fails, the
// agent's own supervisor connects again, for ever, with backoff. Nothing a
// peer sends can crash it: every request is decoded by the wire contract's
// codec and every failure is a typed reply.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config.hpp"

struct __natsConnection;
struct __natsSubscription;
struct __natsOptions;
struct __natsStatistics;

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
  // Stops taking requests, answers the ones in flight, and disconnects.
  void stop();

 private:
  struct Link;  // one NATS connection with its subscription and JetStream handles

  void supervise();
  bool connect_once(int& attempts);
  void serve(__natsConnection* nc, const std::string& subject, const std::string& reply, const std::string& payload);
  void run_exec(std::string reply, ExecRequest request);
  void send(__natsConnection* nc, const std::string& reply, const std::string& payload);
  void send_current(const std::string& reply, const std::string& payload);
  void heartbeat_loop();
  bool publish_heartbeat();
  bool wait_stopping(std::chrono::milliseconds delay);

  Config config_;
  std::string password_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink<std::mutex>> recent_;
  const std::chrono::steady_clock::time_point started_;
  const std::string started_at_;
  __natsOptions* options_ = nullptr;

  // The connection and what hangs off it. Connections libnats gave up are
  // kept (closed) until the agent stops: a callback of theirs may still run.
  std::mutex link_mutex_;
  std::unique_ptr<Link> link_;
  std::vector<std::unique_ptr<Link>> retired_;

  // Lock order: link_mutex_ before mutex_.
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  bool link_closed_ = false;
  bool beat_now_ = false;  // a new connection: heartbeat at once
  int exec_running_ = 0;
  std::int64_t reconnects_ = 0;  // new connections after the first
  std::string last_heartbeat_;
  std::string heartbeat_mode_ = "subject";
  std::thread supervisor_;
  std::thread heartbeat_;
};

}  // namespace harmony::agent::daemon
