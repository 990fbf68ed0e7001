#include <harmony/kube/credentials.hpp>

#include <nlohmann/json.hpp>

#include <harmony/base/files.hpp>
#include <harmony/base/process.hpp>
#include <harmony/base/text.hpp>
#include <harmony/base/time.hpp>

namespace harmony::kube {
namespace {

using base::expected;
using base::fail;
using nlohmann::json;

// A token is refreshed this long before it expires, so one that is valid
// when a request starts is still valid when the server reads it.
constexpr auto expiry_margin = std::chrono::seconds(10);

// The ends of a plugin's stderr, which usually say why it failed.
std::string last_lines(const std::string& text, std::size_t count) {
  auto lines = base::split_lines(text);
  if (lines.size() > count) lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(count));
  return base::printable_lines(base::join(lines, "\n"));
}

base::Error plugin_error(const ExecConfig& exec, std::string what, std::string reason) {
  std::string hint = exec.install_hint.empty()
                         ? "run the plugin by hand to see what it needs: " + exec.command
                         : exec.install_hint;
  return base::make_error("the kubeconfig's credential plugin '" + base::printable(exec.command) + "' " + what,
                          std::move(reason), std::move(hint));
}

std::string exec_info(const ClientConfig& config, const ExecConfig& exec) {
  json spec = {{"interactive", false}};
  if (exec.provide_cluster_info) {
    json cluster = {{"server", config.cluster.server}, {"insecure-skip-tls-verify", config.cluster.insecure_skip_tls_verify}};
    if (!config.cluster.tls_server_name.empty()) cluster["tls-server-name"] = config.cluster.tls_server_name;
    if (!config.cluster.certificate_authority_data.empty()) {
      cluster["certificate-authority-data"] = base::base64_encode(config.cluster.certificate_authority_data);
    }
    spec["cluster"] = std::move(cluster);
  }
  return json{{"apiVersion", exec.api_version}, {"kind", "ExecCredential"}, {"spec", spec}}.dump();
}

}  // namespace

CredentialSource::CredentialSource(ClientConfig config, std::chrono::milliseconds exec_timeout)
    : config_(std::move(config)), exec_timeout_(exec_timeout) {}

int CredentialSource::exec_runs() const {
  std::lock_guard lock(mutex_);
  return exec_runs_;
}

bool CredentialSource::invalidate() {
  std::lock_guard lock(mutex_);
  // Only exec credentials and token files can change under us; a static
  // token that was refused stays refused.
  const bool refreshable = config_.user.exec.has_value() || !config_.user.token_file.empty();
  cached_.reset();
  return refreshable;
}

expected<Credentials> CredentialSource::get() {
  std::lock_guard lock(mutex_);
  if (cached_ && (!cached_->expires || std::chrono::system_clock::now() + expiry_margin < *cached_->expires)) {
    return *cached_;
  }
  const UserConfig& user = config_.user;
  Credentials c;
  c.username = user.username;
  c.password = user.password;
  c.client_certificate_pem = user.client_certificate_data;
  c.client_key_pem = user.client_key_data;
  c.client_certificate_file = user.client_certificate;
  c.client_key_file = user.client_key;
  c.token = user.token;
  if (!user.token_file.empty()) {
    // Re-read on every refresh: projected service-account tokens rotate.
    auto token = base::read_file(user.token_file, 64 * 1024);
    if (!token) {
      return fail(base::make_error("cannot read the token file '" + base::printable(user.token_file) + "'",
                                   token.error().reason,
                                   config_.in_cluster ? "check the pod's service account token mount"
                                                      : "check the user's tokenFile in " + base::join(config_.files, ", ")));
    }
    std::string t = *token;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    c.token = std::move(t);
  }
  if (user.exec) {
    auto fresh = run_exec_plugin();
    if (!fresh) return fail(fresh.error());
    // The plugin's answer wins over static fields, as in client-go.
    if (!fresh->token.empty()) c.token = fresh->token;
    if (!fresh->client_certificate_pem.empty()) {
      c.client_certificate_pem = fresh->client_certificate_pem;
      c.client_key_pem = fresh->client_key_pem;
      c.client_certificate_file.clear();
      c.client_key_file.clear();
    }
    c.expires = fresh->expires;
  }
  cached_ = c;
  return c;
}

expected<Credentials> CredentialSource::run_exec_plugin() {
  const ExecConfig& exec = *config_.user.exec;
  ++exec_runs_;
  base::ProcessSpec spec;
  spec.argv.push_back(exec.command);
  spec.argv.insert(spec.argv.end(), exec.args.begin(), exec.args.end());
  base::Environment env = base::Environment::current();
  for (const auto& [name, value] : exec.env) env.set(name, value);
  env.set("KUBERNETES_EXEC_INFO", exec_info(config_, exec));
  spec.env = std::move(env);
  spec.timeout = exec_timeout_;
  spec.output_limit = 1024 * 1024;
  auto result = base::run_process(spec);
  if (!result) {
    return fail(plugin_error(exec, "could not be started", result.error().message + (result.error().reason.empty() ? "" : ": " + result.error().reason)));
  }
  if (!result->ok()) {
    std::string reason = result->describe();
    if (const std::string tail = last_lines(result->err, 5); !tail.empty()) reason += "; it said:\n" + tail;
    return fail(plugin_error(exec, result->end == base::ProcessResult::End::timed_out ? "did not answer in time" : "failed",
                             std::move(reason)));
  }
  json doc;
  try {
    doc = json::parse(result->out);
  } catch (const json::exception&) {
    return fail(plugin_error(exec, "printed something that is not an ExecCredential", "its output is not JSON"));
  }
  if (!doc.is_object() || doc.value("kind", "") != "ExecCredential" || !doc.contains("status") || !doc["status"].is_object()) {
    return fail(plugin_error(exec, "printed something that is not an ExecCredential",
                             "expected {\"kind\": \"ExecCredential\", \"status\": {...}}"));
  }
  if (const std::string api = doc.value("apiVersion", ""); api != exec.api_version) {
    return fail(plugin_error(exec, "answered in the wrong version",
                             "the kubeconfig asks for " + exec.api_version + ", the plugin answered " + base::printable(api)));
  }
  const json& status = doc["status"];
  Credentials c;
  auto text = [&](const char* key) { return status.contains(key) && status[key].is_string() ? status[key].get<std::string>() : std::string(); };
  c.token = text("token");
  c.client_certificate_pem = text("clientCertificateData");
  c.client_key_pem = text("clientKeyData");
  if (c.token.empty() && c.client_certificate_pem.empty()) {
    return fail(plugin_error(exec, "gave no credentials", "its ExecCredential has neither status.token nor status.clientCertificateData"));
  }
  if (c.client_certificate_pem.empty() != c.client_key_pem.empty()) {
    return fail(plugin_error(exec, "gave half a client certificate", "clientCertificateData and clientKeyData come together"));
  }
  if (const std::string expiry = text("expirationTimestamp"); !expiry.empty()) {
    auto at = base::parse_rfc3339(expiry);
    if (!at) return fail(plugin_error(exec, "gave a bad expirationTimestamp", "'" + base::printable(expiry) + "' is not RFC 3339"));
    c.expires = *at;
  }
  return c;
}

}  // namespace harmony::kube
