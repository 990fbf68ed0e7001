#pragma once
// A port-forward to a pod through the Kubernetes API server, as kubectl
// port-forward makes one: a listener on 127.0.0.1, and for each connection
// accepted there a WebSocket to the pod's `portforward` subresource
// (subprotocol v4.channel.k8s.io: channel 0 carries the data, channel 1 the
// kubelet's errors, each opened by the port number), authenticated exactly
// as harmony's Kubernetes client is, from the same kubeconfig.
//
// Used by harmony agent when a fleet's NATS is reachable only in the cluster,
// and by `harmony fleet port-forward`. The WebSocket and TLS code (Boost.Beast,
// OpenSSL) stays behind this header.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <harmony/base/expected.hpp>
#include <harmony/kube/kubeconfig.hpp>

namespace harmony::agent {

struct TunnelTarget {
  std::string namespace_;
  std::string pod;
  std::uint16_t port = 0;
};

class Tunnel {
 public:
  // Starts listening on 127.0.0.1:local_port (0: a free port) and serving in
  // a thread of its own until destroyed. `on_error` hears what went wrong
  // with a connection (the connection is closed; the tunnel goes on).
  static base::expected<std::unique_ptr<Tunnel>> open(const kube::ClientConfig& config, TunnelTarget target,
                                                      std::uint16_t local_port = 0,
                                                      std::function<void(const std::string&)> on_error = {});
  ~Tunnel();
  Tunnel(const Tunnel&) = delete;
  Tunnel& operator=(const Tunnel&) = delete;

  [[nodiscard]] std::uint16_t local_port() const;
  // Connections served so far (for tests and messages).
  [[nodiscard]] int connections() const;
  // What went wrong with the last connection that failed ("" when none did).
  [[nodiscard]] std::string last_error() const;

 private:
  struct Impl;
  explicit Tunnel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace harmony::agent
