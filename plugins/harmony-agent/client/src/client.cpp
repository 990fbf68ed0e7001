#include <harmony/agent/client.hpp>

#include <algorithm>
#include <map>
#include <mutex>

#include <nats/nats.h>

#include <harmony/agent/tunnel.hpp>
#include <harmony/base/exit_status.hpp>
#include <harmony/kube/kubeconfig.hpp>

namespace harmony::agent {
namespace {

base::Error with_status(int status, std::string message, std::string reason = {}, std::string hint = {}) {
  base::Error e = base::make_error(std::move(message), std::move(reason), std::move(hint));
  e.status = status;
  return e;
}

template <class T>
base::expected<T> typed(std::string_view id, const base::expected<std::string>& raw,
                        base::expected<T, Failure> (*decode)(std::string_view)) {
  if (!raw) return base::fail(raw.error());
  auto decoded = decode(*raw);
  if (!decoded) return base::fail(remote_failure(id, decoded.error()));
  return std::move(*decoded);
}

base::expected<std::unique_ptr<Tunnel>> open_tunnel(const Connection::Tunnel& t) {
  auto load = kube::LoadOptions::from_environment();
  if (!t.kubeconfig.empty()) load.kubeconfig_env = t.kubeconfig;
  load.context = t.context;
  auto config = kube::load_client_config(load);
  if (!config) return base::fail(config.error());
  return Tunnel::open(*config, {t.namespace_, t.pod, t.port});
}

}  // namespace

struct Client::Impl {
  std::unique_ptr<Tunnel> tunnel;  // destroyed last: the connection runs through it
  natsOptions* options = nullptr;
  natsConnection* connection = nullptr;
  ~Impl() {
    if (connection) {
      natsConnection_Close(connection);
      natsConnection_Destroy(connection);
    }
    if (options) natsOptions_Destroy(options);
  }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

base::Error remote_failure(std::string_view id, const Failure& failure) {
  if (failure.kind == ErrorKind::bad_reply)
    return with_status(base::exit_status::remote_error, "agent " + std::string(id) + " sent a reply harmony cannot read",
                       base::printable(failure.message),
                       "the agent may speak another protocol version; check it with 'harmony agent list'");
  return with_status(base::exit_status::remote_error, "agent " + std::string(id) + " refused the request",
                     std::string(error_kind_name(failure.kind)) + ": " + base::printable(failure.message));
}

base::expected<Client> Client::connect(const Connection& given, std::chrono::milliseconds timeout) {
  // Servers first; when none answers and the connection file also names the
  // way through the API server, that way.
  if (!given.servers.empty() && given.tunnel) {
    Connection direct = given;
    direct.tunnel.reset();
    auto client = connect(direct, timeout);
    if (client || client.error().status != base::exit_status::unreachable) return client;
    Connection through = given;
    through.servers.clear();
    auto tunnelled = connect(through, timeout);
    if (tunnelled) return tunnelled;
    base::Error both = tunnelled.error();
    both.reason = "directly: " + client.error().reason + "; through the API server: " + both.reason;
    return base::fail(std::move(both));
  }
  auto impl = std::make_unique<Impl>();
  Connection connection = given;
  // NATS only in the cluster: a port-forward to its pod, for as long as this client lives.
  if (connection.servers.empty() && connection.tunnel) {
    auto opened = open_tunnel(*connection.tunnel);
    if (!opened) return base::fail(opened.error());
    impl->tunnel = std::move(*opened);
    const bool tls = !connection.ca_file.empty() || !connection.ca_pem.empty();
    connection.servers = {(tls ? "tls://127.0.0.1:" : "nats://127.0.0.1:") + std::to_string(impl->tunnel->local_port())};
  }
  if (natsOptions_Create(&impl->options) != NATS_OK) return base::fail(base::make_error("cannot set up a NATS client"));
  std::vector<const char*> servers;
  for (const auto& s : connection.servers) servers.push_back(s.c_str());
  natsOptions_SetServers(impl->options, servers.data(), static_cast<int>(servers.size()));
  if (!connection.user.empty()) natsOptions_SetUserInfo(impl->options, connection.user.c_str(), connection.password.c_str());
  if (!connection.token.empty()) natsOptions_SetToken(impl->options, connection.token.c_str());
  if (!connection.ca_file.empty() || !connection.ca_pem.empty()) {
    const natsStatus loaded = connection.ca_pem.empty()
                                  ? natsOptions_LoadCATrustedCertificates(impl->options, connection.ca_file.c_str())
                                  : natsOptions_SetCATrustedCertificates(impl->options, connection.ca_pem.c_str());
    if (loaded != NATS_OK)
      return base::fail(with_status(base::exit_status::failure,
                                    "cannot read the CA certificate " + (connection.ca_pem.empty() ? connection.ca_file : "given"),
                                    nats_GetLastError(nullptr) ? nats_GetLastError(nullptr) : "",
                                    "check the connection's ca_file (" + connection.source + ")"));
    natsOptions_SetSecure(impl->options, true);
    const std::string host = connection.server_name.empty() ? verifiable_host(connection.servers.front()) : connection.server_name;
    if (!host.empty()) natsOptions_SetExpectedHostname(impl->options, host.c_str());
  }
  natsOptions_SetTimeout(impl->options, static_cast<int64_t>(timeout.count()));
  natsOptions_SetMaxReconnect(impl->options, 0);
  natsOptions_SetName(impl->options, connection.client_name.empty() ? "harmony agent" : connection.client_name.c_str());
  natsStatus s = natsConnection_Connect(&impl->connection, impl->options);
  if (s == NATS_OK) return Client(std::move(impl));
  const std::string where = impl->tunnel ? "pod " + given.tunnel->namespace_ + "/" + given.tunnel->pod + " (through the API server)"
                            : servers.size() == 1 ? connection.servers.front()
                                                  : std::to_string(servers.size()) + " servers";
  std::string detail = nats_GetLastError(nullptr) ? nats_GetLastError(nullptr) : natsStatus_GetText(s);
  // The tunnel knows better than NATS why its connection closed.
  if (impl->tunnel)
    if (auto why = impl->tunnel->last_error(); !why.empty()) detail = why;
  std::string lower = detail;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("authorization") != std::string::npos || lower.find("authentication") != std::string::npos)
    return base::fail(with_status(base::exit_status::failure,
                                  connection.token.empty() ? "NATS at " + where + " refused the user '" + connection.user + "'"
                                                           : "NATS at " + where + " refused the token",
                                  detail,
                                  connection.token.empty() ? "check the user and its password file (" + connection.source + ")"
                                                           : "the token may have expired: fetch a fresh one from the identity provider"));
  return base::fail(with_status(base::exit_status::unreachable, "cannot reach NATS at " + where, detail,
                                "is the fleet deployed? harmony fleet status; or pass --server"));
}

bool Client::connected() const {
  return impl_ && impl_->connection && natsConnection_Status(impl_->connection) == NATS_CONN_STATUS_CONNECTED;
}

std::string Client::server() const {
  char url[256] = {};
  natsConnection_GetConnectedUrl(impl_->connection, url, sizeof url);
  return url;
}

base::expected<std::string> Client::request(std::string_view id, Verb verb, const std::string& body,
                                            std::chrono::milliseconds timeout) {
  if (auto valid = validate_device_id(id); !valid) {
    base::Error e = valid.error();
    e.status = base::exit_status::usage;
    return base::fail(std::move(e));
  }
  const std::string subject = command_subject(id, verb);
  natsMsg* reply = nullptr;
  natsStatus s = natsConnection_Request(&reply, impl_->connection, subject.c_str(), body.data(),
                                        static_cast<int>(body.size()), static_cast<int64_t>(timeout.count()));
  if (s == NATS_NO_RESPONDERS)
    return base::fail(with_status(base::exit_status::unreachable, "agent " + std::string(id) + " is offline",
                                  "nothing answers on " + subject,
                                  "check that fleet-agent runs on the device and reaches NATS; "
                                  "'harmony agent list' shows when it was last seen"));
  if (s == NATS_TIMEOUT)
    return base::fail(with_status(base::exit_status::timed_out,
                                  "agent " + std::string(id) + " did not answer within " + std::to_string(timeout.count()) + "ms",
                                  "the request was sent on " + subject, "try again, or allow more with --timeout"));
  if (s != NATS_OK)
    return base::fail(with_status(base::exit_status::unreachable, "cannot ask agent " + std::string(id),
                                  nats_GetLastError(nullptr) ? nats_GetLastError(nullptr) : natsStatus_GetText(s)));
  std::string payload(natsMsg_GetData(reply), static_cast<std::size_t>(natsMsg_GetDataLength(reply)));
  natsMsg_Destroy(reply);
  return payload;
}

base::expected<std::string> Client::request_subject(const std::string& subject, const std::string& body,
                                                    std::chrono::milliseconds timeout) {
  natsMsg* reply = nullptr;
  natsStatus s = natsConnection_Request(&reply, impl_->connection, subject.c_str(), body.data(),
                                        static_cast<int>(body.size()), static_cast<int64_t>(timeout.count()));
  if (s == NATS_NO_RESPONDERS)
    return base::fail(with_status(base::exit_status::unreachable, "nothing answers on " + subject,
                                  "no subscriber, or this user may not publish there"));
  if (s == NATS_TIMEOUT)
    return base::fail(with_status(base::exit_status::timed_out, "no answer on " + subject,
                                  "within " + std::to_string(timeout.count()) + "ms"));
  if (s != NATS_OK)
    return base::fail(with_status(base::exit_status::unreachable, "cannot send a request on " + subject,
                                  nats_GetLastError(nullptr) ? nats_GetLastError(nullptr) : natsStatus_GetText(s)));
  std::string payload(natsMsg_GetData(reply), static_cast<std::size_t>(natsMsg_GetDataLength(reply)));
  natsMsg_Destroy(reply);
  return payload;
}

base::expected<PingReply> Client::ping(std::string_view id, std::chrono::milliseconds timeout) {
  return typed<PingReply>(id, request(id, Verb::ping, "", timeout), decode_ping_reply);
}
base::expected<StatusReply> Client::status(std::string_view id, std::chrono::milliseconds timeout) {
  return typed<StatusReply>(id, request(id, Verb::status, "", timeout), decode_status_reply);
}
base::expected<ExecReply> Client::exec(std::string_view id, const ExecRequest& r, std::chrono::milliseconds timeout) {
  return typed<ExecReply>(id, request(id, Verb::exec, encode_request(r), timeout), decode_exec_reply);
}
base::expected<LogsReply> Client::logs(std::string_view id, const LogsRequest& r, std::chrono::milliseconds timeout) {
  return typed<LogsReply>(id, request(id, Verb::logs, encode_request(r), timeout), decode_logs_reply);
}

base::expected<bool> Client::ensure_status_bucket() {
  return ensure_bucket(status_bucket, "fleet agents' heartbeats, one key per device id");
}

base::expected<bool> Client::ensure_bucket(std::string_view name, std::string_view description) {
  jsCtx* js = nullptr;
  if (natsConnection_JetStream(&js, impl_->connection, nullptr) != NATS_OK)
    return base::fail(base::make_error("cannot use JetStream", "the NATS connection refused a JetStream context"));
  kvStore* kv = nullptr;
  const std::string bucket(name), text(description);
  natsStatus s = js_KeyValue(&kv, js, bucket.c_str());
  const bool existed = s == NATS_OK;
  if (!existed) {
    kvConfig config;
    kvConfig_Init(&config);
    config.Bucket = bucket.c_str();
    config.History = 1;
    config.Description = text.c_str();
    s = js_CreateKeyValue(&kv, js, &config);
  }
  if (kv) kvStore_Destroy(kv);
  jsCtx_Destroy(js);
  if (s != NATS_OK)
    return base::fail(base::make_error("cannot create the KV bucket " + bucket,
                                       nats_GetLastError(nullptr) ? nats_GetLastError(nullptr) : natsStatus_GetText(s),
                                       "JetStream must be on in the NATS server, and the user allowed to create streams"));
  return !existed;
}

base::expected<std::vector<Heartbeat>> Client::heartbeats(std::chrono::milliseconds wait) {
  std::map<std::string, Heartbeat> latest;
  jsCtx* js = nullptr;
  kvStore* kv = nullptr;
  bool from_kv = false;
  if (natsConnection_JetStream(&js, impl_->connection, nullptr) == NATS_OK &&
      js_KeyValue(&kv, js, std::string(status_bucket).c_str()) == NATS_OK) {
    kvKeysList keys{};
    if (kvStore_Keys(&keys, kv, nullptr) == NATS_OK) {
      from_kv = true;
      for (int i = 0; i < keys.Count; ++i) {
        kvEntry* entry = nullptr;
        if (kvStore_Get(&entry, kv, keys.Keys[i]) != NATS_OK) continue;
        std::string value(static_cast<const char*>(kvEntry_Value(entry)), static_cast<std::size_t>(kvEntry_ValueLen(entry)));
        kvEntry_Destroy(entry);
        if (auto h = decode_heartbeat(value)) latest[h->id] = *h;
      }
      kvKeysList_Destroy(&keys);
    } else {
      from_kv = true;  // an empty bucket has no keys
    }
  }
  if (kv) kvStore_Destroy(kv);
  if (js) jsCtx_Destroy(js);
  if (from_kv) {
    std::vector<Heartbeat> out;
    for (auto& [id, h] : latest) out.push_back(std::move(h));
    return out;
  }
  // No bucket: listen to the plain subject for one heartbeat interval.
  natsSubscription* sub = nullptr;
  const std::string subject = std::string(heartbeat_prefix) + ".*";
  if (natsConnection_SubscribeSync(&sub, impl_->connection, subject.c_str()) != NATS_OK)
    return base::fail(base::make_error("cannot subscribe to " + subject));
  const auto until = std::chrono::steady_clock::now() + wait;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;
    natsMsg* msg = nullptr;
    if (natsSubscription_NextMsg(&msg, sub, left) != NATS_OK) break;
    std::string value(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    natsMsg_Destroy(msg);
    if (auto h = decode_heartbeat(value)) latest[h->id] = *h;
  }
  natsSubscription_Destroy(sub);
  std::vector<Heartbeat> out;
  for (auto& [id, h] : latest) out.push_back(std::move(h));
  return out;
}

}  // namespace harmony::agent
