#include <harmony/agent/connection.hpp>

#include <cstdlib>

#include <nlohmann/json.hpp>

#include <harmony/base/files.hpp>
#include <harmony/base/paths.hpp>
#include <harmony/base/secrets.hpp>
#include <harmony/base/text.hpp>

namespace harmony::agent {
namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && v[0] != '\0' ? v : nullptr;
}

base::expected<std::string> read_secret(const std::string& path, const std::string& source) {
  auto password = base::read_secret_file(path, "the NATS password file");
  if (password) return *password;
  base::Error e = password.error();
  if (e.hint.empty()) e.hint = "check " + source;
  return base::fail(std::move(e));
}

}  // namespace

std::optional<std::string> default_connection_file() {
  auto state = base::xdg_home(base::XdgDir::state);
  if (!state) return std::nullopt;
  return *state + "/harmony/fleet/local/connection.json";
}

std::string connection_file_text(const std::vector<std::string>& servers, const std::string& user,
                                 const std::string& password_file, const std::string& ca_file,
                                 const std::string& server_name) {
  nlohmann::json doc = {{"format", 1}, {"servers", servers}, {"user", user}, {"password_file", password_file}};
  if (!ca_file.empty()) doc["ca_file"] = ca_file;
  if (!server_name.empty()) doc["server_name"] = server_name;
  return doc.dump(2) + "\n";
}

base::expected<void> write_connection_file(const std::string& path, const std::vector<std::string>& servers,
                                           const std::string& user, const std::string& password_file,
                                           const std::string& ca_file, const std::string& server_name,
                                           const std::optional<Connection::Tunnel>& tunnel) {
  if (auto slash = path.rfind('/'); slash != std::string::npos && slash > 0)
    if (auto made = base::make_directories(path.substr(0, slash), 0700); !made) return made;
  std::string text = connection_file_text(servers, user, password_file, ca_file, server_name);
  if (tunnel) {
    auto doc = nlohmann::json::parse(text);
    doc["format"] = 2;
    doc["tunnel"] = {{"kubeconfig", tunnel->kubeconfig},
                     {"context", tunnel->context},
                     {"namespace", tunnel->namespace_},
                     {"pod", tunnel->pod},
                     {"port", tunnel->port}};
    text = doc.dump(2) + "\n";
  }
  return base::write_file_atomically(path, text, 0600);
}

base::expected<Connection> resolve_connection(const ConnectionFlags& flags) {
  Connection c;
  std::string password_file;
  std::string token_file;
  // Flags first, then variables, then the connection file: each field on its own.
  if (!flags.servers.empty()) {
    for (const auto& s : flags.servers)
      for (auto& part : base::split_list(s, ',')) c.servers.push_back(part);
    c.source = "--server";
  } else if (const char* v = env("HARMONY_NATS_URL")) {
    c.servers = base::split_list(v, ',');
    c.source = "HARMONY_NATS_URL";
  }
  c.user = !flags.user.empty() ? flags.user : (env("HARMONY_NATS_USER") ? env("HARMONY_NATS_USER") : "");
  password_file = !flags.password_file.empty() ? flags.password_file
                                                : (env("HARMONY_NATS_PASSWORD_FILE") ? env("HARMONY_NATS_PASSWORD_FILE") : "");
  token_file = !flags.token_file.empty() ? flags.token_file
                                          : (env("HARMONY_NATS_TOKEN_FILE") ? env("HARMONY_NATS_TOKEN_FILE") : "");
  c.ca_file = !flags.ca_file.empty() ? flags.ca_file : (env("HARMONY_NATS_CA_FILE") ? env("HARMONY_NATS_CA_FILE") : "");
  c.server_name = !flags.server_name.empty() ? flags.server_name
                                             : (env("HARMONY_NATS_SERVER_NAME") ? env("HARMONY_NATS_SERVER_NAME") : "");

  if (c.servers.empty()) {
    std::string file = flags.connection_file;
    if (file.empty() && env("HARMONY_NATS_CONNECTION")) file = env("HARMONY_NATS_CONNECTION");
    const bool explicit_file = !file.empty();
    if (!explicit_file) file = default_connection_file().value_or("");
    auto text = file.empty() ? base::expected<std::string>(base::fail(base::make_error("no home")))
                             : base::read_file(file, 1 << 20);
    if (!text) {
      if (explicit_file) return base::fail(text.error());
      return base::fail(base::make_error(
          "no NATS connection configured",
          "no --server, no HARMONY_NATS_URL, and no connection file at " + (file.empty() ? std::string("(no home directory)") : file),
          "deploy the fleet first (harmony deploy fleet --topology local), or pass --server nats://HOST:PORT"));
    }
    auto doc = nlohmann::json::parse(*text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("servers") || !doc["servers"].is_array())
      return base::fail(base::make_error("invalid connection file " + file, "it is not the JSON object described in docs/agent-protocol.md",
                                         "deploy the fleet again to rewrite it"));
    for (const auto& s : doc["servers"])
      if (s.is_string()) c.servers.push_back(s.get<std::string>());
    if (c.user.empty() && doc.contains("user") && doc["user"].is_string()) c.user = doc["user"].get<std::string>();
    if (password_file.empty() && doc.contains("password_file") && doc["password_file"].is_string())
      password_file = doc["password_file"].get<std::string>();
    if (token_file.empty() && password_file.empty() && doc.contains("token_file") && doc["token_file"].is_string())
      token_file = doc["token_file"].get<std::string>();
    if (c.ca_file.empty() && doc.contains("ca_file") && doc["ca_file"].is_string()) c.ca_file = doc["ca_file"].get<std::string>();
    if (c.server_name.empty() && doc.contains("server_name") && doc["server_name"].is_string())
      c.server_name = doc["server_name"].get<std::string>();
    if (const auto& t = doc.value("tunnel", nlohmann::json()); t.is_object()) {
      Connection::Tunnel tunnel;
      tunnel.kubeconfig = t.value("kubeconfig", "");
      tunnel.context = t.value("context", "");
      tunnel.namespace_ = t.value("namespace", "");
      tunnel.pod = t.value("pod", "");
      tunnel.port = t.value("port", std::uint16_t{0});
      if (tunnel.namespace_.empty() || tunnel.pod.empty() || tunnel.port == 0)
        return base::fail(base::make_error("invalid connection file " + file, "its tunnel lacks a namespace, pod or port",
                                           "deploy the fleet again to rewrite it"));
      c.tunnel = std::move(tunnel);
    }
    c.source = file;
  }
  if (c.servers.empty() && !c.tunnel) return base::fail(base::make_error("no NATS server to connect to", "checked " + c.source));
  if (!token_file.empty() && !c.user.empty())
    return base::fail(base::usage_error("a token file and a user together", "a token stands for its user",
                                        "pass either --token-file or --user with --password-file"));
  if (!token_file.empty()) {
    auto token = base::read_secret_file(token_file, "the token file");
    if (!token) return base::fail(base::make_error(token.error().message, token.error().reason, token.error().hint));
    c.token = *token;
  }
  if (!password_file.empty()) {
    auto password = read_secret(password_file, c.source);
    if (!password) return base::fail(password.error());
    c.password = *password;
  }
  return c;
}

}  // namespace harmony::agent
