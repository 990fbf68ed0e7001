#pragma once
// What a request presents to the API server, from a ClientConfig's user:
// a bearer token (inline, from a file re-read as it rotates, or from an exec
// credential plugin) and/or a client certificate.
//
// Exec plugins (`client.authentication.k8s.io/v1` and v1beta1) run through
// base::run_process with KUBERNETES_EXEC_INFO set, stdin closed (harmony never
// prompts on a plugin's behalf) and a deadline; their ExecCredential is cached
// until its `expirationTimestamp` (kept a little early, so a token never
// expires in flight), or, without one, until the server answers 401 and the
// caller calls `invalidate()`.

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include <harmony/base/expected.hpp>
#include <harmony/kube/kubeconfig.hpp>

namespace harmony::kube {

struct Credentials {
  std::string token;                    // empty: no bearer token
  std::string client_certificate_pem;   // empty: no client certificate
  std::string client_key_pem;
  std::string client_certificate_file;  // set instead of the PEMs when the kubeconfig names files
  std::string client_key_file;
  std::string username, password;       // basic auth, if the kubeconfig says so
  std::optional<std::chrono::system_clock::time_point> expires;  // exec plugins only
};

class CredentialSource {
 public:
  explicit CredentialSource(ClientConfig config,
                            std::chrono::milliseconds exec_timeout = std::chrono::seconds(60));

  // The credentials for the next request; runs the exec plugin when nothing
  // valid is cached. Thread-safe.
  base::expected<Credentials> get();

  // Forget cached exec credentials (the server said 401): the next `get()`
  // runs the plugin again. Returns whether there was anything to refresh, so
  // a caller retries a request at most once.
  bool invalidate();

  // How many times the exec plugin ran (for tests and the client's counters).
  [[nodiscard]] int exec_runs() const;

 private:
  base::expected<Credentials> run_exec_plugin();

  ClientConfig config_;
  std::chrono::milliseconds exec_timeout_;
  mutable std::mutex mutex_;
  std::optional<Credentials> cached_;
  int exec_runs_ = 0;
};

}  // namespace harmony::kube
