#pragma once
// HTTP to one API server, authenticated as the ClientConfig says.
//
// - Connections are kept and reused: each request borrows an idle handle
//   (which keeps its TLS connection alive) from a pool; a watch holds one for
//   as long as it streams, so several watches run at once. HTTP/2 is used
//   where the server offers it (ALPN); the server decides.
// - TLS: the cluster's CA (file or data), or none with
//   insecure-skip-tls-verify; `tls-server-name` is both the SNI and the name
//   the certificate must carry. Client certificates from files or data.
//   Proxies from the environment are ignored (kubectl honours them; a test
//   cluster on loopback must not be sent through one) unless the caller
//   opts in.
// - A 401 refreshes refreshable credentials (exec plugin, token file) once
//   and retries. 429 and 5xx answers are retried with exponential backoff
//   (honouring Retry-After) while the request's deadline allows; a request
//   that cannot have reached the server (connection refused, DNS) is retried
//   the same way. Other failures are returned at once.
// - With HARMONY_KUBE_TRACE=FILE, each request appends a line to FILE:
//   method, path, HTTP status, milliseconds (never headers or bodies).
// - Every request carries `User-Agent: harmony/<version> (<os>/<arch>)`.
// - Errors: a cluster that cannot be reached is exit_status::unreachable,
//   naming the server, the context and how to check; an HTTP answer >= 400
//   is returned as a Response for the caller to turn into a typed error
//   (errors.hpp), since only the caller knows what it was doing.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <harmony/base/expected.hpp>
#include <harmony/kube/credentials.hpp>
#include <harmony/kube/kubeconfig.hpp>

namespace harmony::kube {

struct Request {
  std::string method = "GET";
  std::string path;                       // "/api/v1/namespaces/x/pods?limit=500", absolute
  std::string body;
  std::string content_type;               // for bodies
  std::string accept = "application/json";
  std::chrono::milliseconds timeout{30000};  // the whole request, retries included
  bool retry = true;                      // false: one attempt only
  // More headers, "Name: value" (a Host for a server reached through a
  // port-forward, its own Authorization); never logged or traced.
  std::vector<std::string> headers{};
};

struct Response {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string retry_after;                // the header, if any
  std::string warnings;                   // Warning headers, joined
};

struct TransportOptions {
  std::chrono::milliseconds connect_timeout{5000};
  int max_attempts = 5;                   // per request, for retryable answers
  std::chrono::milliseconds first_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  bool use_proxy_from_environment = false;
};

// Counters a benchmark or a test can read.
struct TransportStats {
  std::atomic<int> requests{0};           // HTTP requests sent (each attempt counts)
  std::atomic<int> retries{0};
  std::atomic<int> connections{0};        // new connections made
};

class Transport {
 public:
  explicit Transport(ClientConfig config, TransportOptions options = {});
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // One request; an HTTP error status is a Response, not an Error.
  base::expected<Response> send(const Request& request);

  // A streaming GET (watch): `on_line` gets each newline-terminated line of
  // the body as it arrives and returns false to stop. Returns when the server
  // ends the stream, `on_line` stops it, `stop` becomes true, or the
  // request's timeout (the longest the stream may stay open) passes. A
  // response >= 400 comes back whole, with its body.
  base::expected<Response> stream(const Request& request, const std::function<bool(std::string_view)>& on_line,
                                  const std::atomic<bool>* stop = nullptr);

  [[nodiscard]] const ClientConfig& config() const { return config_; }
  [[nodiscard]] const TransportStats& stats() const { return stats_; }

  // The error for a cluster that cannot be reached, for callers that learn it
  // some other way.
  [[nodiscard]] base::Error unreachable(const std::string& why) const;

 private:
  struct Handle;
  struct Pool;
  base::expected<Response> perform(const Request& request, const std::function<bool(std::string_view)>* on_line,
                                   const std::atomic<bool>* stop);

  ClientConfig config_;
  TransportOptions options_;
  CredentialSource credentials_;
  std::unique_ptr<Pool> pool_;
  TransportStats stats_;
  std::string trace_file_;  // $HARMONY_KUBE_TRACE: one line per request, for benchmarks and debugging
};

// "harmony/0.3.0 (linux/amd64)"
std::string user_agent();

// Whether `url` is plain http to this machine's loopback: http://, then
// 127.x.y.z (four numbers), localhost or [::1], an optional :port, and
// nothing before the host (no user info, which would make curl connect to
// whatever follows the '@').
bool is_loopback_http_url(std::string_view url);

// Whether `url` is plain http to a Service of a cluster, by its cluster
// name: http://NAME.NAMESPACE.svc[.cluster.local][:PORT][/...].
bool is_cluster_service_http_url(std::string_view url);

// One request to a web server that is not a cluster (an identity provider):
// `url` is absolute, `request.path` is ignored. https verifies the server
// with `ca_pem`, else the system's CAs; plain http is refused except to
// loopback, so that nothing secret crosses a network in clear, unless the
// caller has decided otherwise (`plain_http_allowed`: fleet-callout fetching
// public keys from a Service of its own cluster). Two attempts.
base::expected<Response> send_to_url(const std::string& url, Request request, const std::string& ca_pem = {},
                                     bool plain_http_allowed = false);

}  // namespace harmony::kube
