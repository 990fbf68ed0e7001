#pragma once
// The agent: serves the verbs of docs/agent-protocol.md on its own subjects,
// publishes heartbeats, and survives NATS going away (it reconnects for
// ever, with backoff). Nothing a peer sends can crash it: every request is
// decoded by the wire contract's codec and every failure is a typed reply.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "config.hpp"

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

  // Connects (retrying in the background when NATS is not there yet),
  // subscribes and starts the heartbeats.
  base::expected<void> start();
  // Stops taking requests, finishes the ones in flight, and disconnects.
  void stop();

 private:
  struct Nats;
  void serve(const std::string& subject, const std::string& reply, const std::string& payload);
  void run_exec(std::string reply, ExecRequest request);
  void send(const std::string& reply, const std::string& payload);
  void heartbeat_loop();
  void publish_heartbeat();

  Config config_;
  std::string password_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink<std::mutex>> recent_;
  std::unique_ptr<Nats> nats_;
  const std::chrono::steady_clock::time_point started_;
  const std::string started_at_;

  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  int exec_running_ = 0;
  std::string last_heartbeat_;
  std::string heartbeat_mode_ = "subject";
  std::thread heartbeat_;
};

}  // namespace harmony::agent::daemon
