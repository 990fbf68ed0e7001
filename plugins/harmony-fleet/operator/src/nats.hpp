#pragma once
// The operator's NATS: one connection as its own least-privilege user
// (replies under _INBOX_fleet-operator), a watcher thread per KV bucket, and
// the writes into desired-state and device-state.
//
// A watch reports every key's latest value, then "synced", then changes. It
// starts over (reset, values, synced) after a reconnection, when the watcher
// fails, and every `resync`: the server may have lost the consumer, and a
// full read costs little next to acting on a stale view.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <harmony/base/expected.hpp>

struct __natsConnection;
struct __natsOptions;
struct __kvStore;

namespace harmony::fleet::op {

struct NatsOptions {
  std::vector<std::string> urls{"nats://127.0.0.1:4222"};
  std::string user = "fleet-operator";
  std::string password;
  std::string ca_file;
  std::chrono::milliseconds resync{std::chrono::minutes(5)};
};

struct BucketEvents {
  std::function<void()> reset;                                                       // forget this bucket's keys
  std::function<void(const std::string& key, const std::optional<std::string>& value)> change;  // nullopt: deleted
  std::function<void()> synced;                                                      // every key reported
};

using Log = std::function<void(const std::string& level, const std::string& message)>;

class Nats {
 public:
  Nats(NatsOptions options, Log log);
  ~Nats();
  Nats(const Nats&) = delete;
  Nats& operator=(const Nats&) = delete;

  // Connects (libnats reconnects by itself for ever afterwards).
  base::expected<void> connect();
  // Starts a watcher thread for `bucket`. With `create`, a bucket that does
  // not exist is made (history 1), as the fleet's deploy makes it.
  void watch(const std::string& bucket, BucketEvents events, bool create = false);
  base::expected<void> put(const std::string& bucket, const std::string& key, const std::string& value);
  base::expected<void> remove(const std::string& bucket, const std::string& key);
  [[nodiscard]] bool connected() const;
  void stop();

 private:
  void watch_loop(const std::string& bucket, const BucketEvents& events, bool create);
  base::expected<__kvStore*> store(const std::string& bucket);

  NatsOptions options_;
  Log log_;
  __natsOptions* nats_options_ = nullptr;
  __natsConnection* connection_ = nullptr;
  std::atomic<bool> stopping_{false};
  std::atomic<int> generation_{0};  // bumped by each reconnection: watchers start over
  std::vector<std::thread> watchers_;
  struct Stores;
  std::unique_ptr<Stores> stores_;
};

}  // namespace harmony::fleet::op
