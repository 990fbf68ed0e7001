#pragma once
// Where a Kubernetes client connects and as whom, read as kubectl reads it.
//
// Sources, in kubectl's order of precedence:
// - `--kubeconfig FILE` (LoadOptions::explicit_path): that file alone; it must
//   exist.
// - else `$KUBECONFIG`, a ':'-separated list: every file that exists is read
//   and merged (missing ones are skipped; an empty list means the default).
//   For clusters, users and contexts the first file that defines a name wins;
//   `current-context` is the first non-empty one.
// - else ~/.kube/config.
// - with no file at all, the in-cluster service account
//   (KUBERNETES_SERVICE_HOST/PORT and /var/run/secrets/kubernetes.io/serviceaccount).
//
// Relative file references inside a kubeconfig (certificate-authority,
// client-certificate, client-key, tokenFile, and an exec plugin's command when
// it contains a '/') are resolved against the directory of the file that
// defines them, as kubectl does.
//
// `--context` picks a context other than the current one; the namespace is
// `--namespace`, else the context's, else "default". Errors name the file and
// line, and an unknown context gets "did you mean".

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <harmony/base/expected.hpp>

namespace harmony::kube {

struct ClusterConfig {
  std::string server;                   // https://host:port
  std::string certificate_authority;    // a file, or empty
  std::string certificate_authority_data;  // PEM (already base64-decoded), or empty
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;          // SNI and certificate name override, or empty
};

// A `client.authentication.k8s.io` exec credential plugin.
struct ExecConfig {
  std::string api_version;              // client.authentication.k8s.io/v1 (or v1beta1)
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string install_hint;
  bool provide_cluster_info = false;
  std::string interactive_mode;         // Never, IfAvailable, Always
};

struct UserConfig {
  std::string token;                    // a bearer token, or empty
  std::string token_file;               // re-read on each use (rotated service-account tokens)
  std::string client_certificate;       // files, or empty
  std::string client_key;
  std::string client_certificate_data;  // PEM, or empty
  std::string client_key_data;
  std::string username;                 // basic auth (rare; kept for completeness)
  std::string password;
  std::optional<ExecConfig> exec;
};

// The result of loading: one cluster and one user, ready to connect.
struct ClientConfig {
  std::string context;                  // the context's name ("" in-cluster)
  std::string cluster_name;
  std::string user_name;
  std::string namespace_;               // never empty
  ClusterConfig cluster;
  UserConfig user;
  std::vector<std::string> files;       // the kubeconfig files that were read (for messages)
  bool in_cluster = false;

  // "context 'kind-dev' (cluster https://127.0.0.1:6443, from ~/.kube/config)"
  [[nodiscard]] std::string describe() const;
};

struct LoadOptions {
  std::string explicit_path;            // --kubeconfig
  std::string context;                  // --context
  std::string namespace_;               // -n/--namespace
  // The environment's values, passed in so tests and callers decide;
  // `from_environment()` fills them from this process.
  std::optional<std::string> kubeconfig_env;  // $KUBECONFIG
  std::string home;                            // $HOME
  std::optional<std::string> service_host;     // $KUBERNETES_SERVICE_HOST
  std::optional<std::string> service_port;     // $KUBERNETES_SERVICE_PORT
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";

  static LoadOptions from_environment();
};

// Loads and resolves the configuration. Errors (exit status usage for a
// missing --kubeconfig or unknown context, failure for malformed files) name
// the file and line and say what to do.
base::expected<ClientConfig> load_client_config(const LoadOptions& options);

// Every context name the kubeconfig files define (for completion and hints).
base::expected<std::vector<std::string>> list_contexts(const LoadOptions& options);

}  // namespace harmony::kube
