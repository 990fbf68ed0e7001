#pragma once
// The operator's own endpoints: /healthz (the process serves), /readyz
// (connected, and its view of the cluster and the buckets is complete),
// /metrics (Prometheus text). One thread, one request at a time, with
// deadlines so that a slow client cannot hold it.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <harmony/base/expected.hpp>

namespace harmony::fleet::op {

struct Endpoints {
  std::function<bool()> ready;          // /readyz: 200 or 503
  std::function<std::string()> why_not;  // /readyz's body when not ready
  std::function<std::string()> metrics;  // /metrics
};

class HttpServer {
 public:
  HttpServer(Endpoints endpoints);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Listens on address:port (port 0: a free one) and serves in a thread.
  base::expected<void> start(const std::string& address, std::uint16_t port);
  [[nodiscard]] std::uint16_t port() const { return port_; }
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Endpoints endpoints_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace harmony::fleet::op
