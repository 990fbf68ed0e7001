#include <harmony/callout/service.hpp>

#include <algorithm>

#include <sodium.h>

#include <harmony/agent/protocol.hpp>
#include <harmony/base/secrets.hpp>
#include <harmony/callout/jwt.hpp>
#include <harmony/fleet/roles.hpp>

namespace harmony::callout {
namespace {

UserPermissions user_permissions(const fleet::Permissions& p) {
  UserPermissions out;
  out.publish_allow = p.publish;
  out.subscribe_allow = p.subscribe;
  out.allow_responses = p.allow_responses;
  return out;
}

constexpr std::string_view agent_user_prefix = "agent-";

}  // namespace

Service::Service(ServiceConfig config, Fetch fetch) : config_(std::move(config)), fetch_(std::move(fetch)) {}

Service::~Service() {
  if (refresher_.joinable()) refresher_.join();
}

base::expected<KeySet> Service::fetch_keys() const {
  const std::string discovery_url = config_.token.issuer + "/.well-known/openid-configuration";
  auto discovery = fetch_(discovery_url);
  if (!discovery) return base::fail(discovery.error());
  const auto doc = nlohmann::json::parse(*discovery, nullptr, false);
  if (!doc.is_object() || !doc.contains("issuer") || doc["issuer"] != config_.token.issuer || !doc.contains("jwks_uri") ||
      !doc["jwks_uri"].is_string())
    return base::fail(base::make_error("cannot use the identity provider's discovery document",
                                       discovery_url + " does not name this issuer and a jwks_uri"));
  auto jwks = fetch_(doc["jwks_uri"].get<std::string>());
  if (!jwks) return base::fail(jwks.error());
  return KeySet::parse(*jwks);
}

base::expected<void> Service::refresh_keys() {
  auto keys = fetch_keys();
  std::lock_guard lock(mutex_);
  fetched_ = std::chrono::steady_clock::now();
  if (!keys) return base::fail(keys.error());
  keys_ = std::move(*keys);
  return {};
}

tl::expected<nlohmann::json, TokenError> Service::validate(const std::string& token) {
  std::unique_lock lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  const bool may_fetch = !keys_ || now - fetched_ >= config_.refetch_interval;
  if (!keys_ || (!keys_->find(key_id_of(token)) && may_fetch)) {
    if (!may_fetch) return tl::unexpected(TokenError{TokenProblem::unknown_key, "the issuer's keys are not known yet"});
    // This login needs the new keys, so it waits for them; the fetch runs
    // without the lock, and fetched_ keeps others from fetching meanwhile.
    fetched_ = now;
    lock.unlock();
    auto fresh = fetch_keys();
    lock.lock();
    if (fresh) {
      keys_ = std::move(*fresh);
    } else if (!keys_) {
      return tl::unexpected(TokenError{TokenProblem::unknown_key, "cannot read the issuer's keys: " + fresh.error().message +
                                                                      (fresh.error().reason.empty() ? "" : ": " + fresh.error().reason)});
    }
  } else if (now - fetched_ >= std::max(config_.keys_max_age, config_.refetch_interval) && !refreshing_.exchange(true)) {
    // Old keys are fetched again in the background: logins go on with the
    // keys in hand rather than wait for a provider that may be slow.
    fetched_ = now;
    if (refresher_.joinable()) refresher_.join();  // finished: it cleared refreshing_
    refresher_ = std::thread([this] {
      auto fresh = fetch_keys();
      std::lock_guard guard(mutex_);
      if (fresh) keys_ = std::move(*fresh);
      refreshing_ = false;
    });
  }
  return validate_token(token, *keys_, config_.token);
}

base::expected<std::string> Service::password_device(const AuthRequest& request) const {
  const std::string id = request.user.substr(agent_user_prefix.size());
  if (!agent::valid_device_id(id)) return base::fail(base::make_error("'" + shown(request.user, 80) + "' is no agent's user"));
  auto expected = base::read_secret_file(config_.agent_passwords_dir + "/" + request.user + ".password", "an agent's password file");
  if (!expected) return base::fail(base::make_error("agent " + id + " has no password login (it logs in with a token now)"));
  if (expected->size() != request.password.size() ||
      sodium_memcmp(expected->data(), request.password.data(), expected->size()) != 0)
    return base::fail(base::make_error("wrong password for agent " + id));
  return id;
}

Service::Answer Service::handle(std::string_view payload, std::string_view header_xkey) {
  Answer out;
  const XKey* xkey = config_.xkey ? &*config_.xkey : nullptr;
  auto request = read_request(payload, header_xkey, xkey);
  if (!request) {
    out.log = "unreadable request: " + request.error().reason;
    return out;
  }
  const std::string client = (request->client_name.empty() ? "" : "'" + shown(request->client_name, 64) + "' ") + "from " +
                             (request->client_host.empty() ? "?" : shown(request->client_host, 64));
  auto refuse_with = [&](const std::string& why) {
    out.log = "refused " + client + ": " + why;
    auto response = refuse(*request, why, config_.issuer, xkey);
    if (response) out.response = std::move(*response);
    return out;
  };
  Grant grant;
  grant.account = config_.account;
  grant.lifetime = config_.user_lifetime;
  if (!config_.agent_passwords_dir.empty() && request->token.empty() && request->user.starts_with(agent_user_prefix)) {
    // An agent not yet moved to a token (migration from user_password).
    auto device = password_device(*request);
    if (!device) return refuse_with(device.error().message);
    grant.name = "device " + *device + " (password)";
    grant.permissions = user_permissions(fleet::agent_permissions(*device));
  } else {
    // A token is presented as the connection's token, or as its password
    // (clients that only send user and password).
    const std::string& token = !request->token.empty() ? request->token : request->password;
    if (token.empty()) return refuse_with("no token presented");
    auto claims = validate(token);
    if (!claims) return refuse_with(std::string(to_string(claims.error().problem)) + " (" + claims.error().reason + ")");
    auto identity = identify(*claims, config_.identity);
    if (!identity) return refuse_with(identity.error());
    grant.name = identity->name;
    grant.permissions = user_permissions(identity->role == Role::device ? fleet::agent_permissions(identity->device_id)
                                                                        : fleet::fleet_ops_permissions());
    // The user JWT ends with the token: nats-server disconnects the user
    // then, and the client logs in again with a fresh token.
    const auto seconds_now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    const auto token_left = std::chrono::seconds(claims->value("exp", 0LL)) - seconds_now;
    grant.lifetime = std::max(std::chrono::seconds(1), std::min(config_.user_lifetime, token_left));
  }
  auto response = admit(*request, grant, config_.issuer, xkey);
  if (!response) return refuse_with("cannot answer: " + response.error().message);
  out.response = std::move(*response);
  out.admitted = true;
  out.log = "admitted " + client + " as " + grant.name;
  return out;
}

}  // namespace harmony::callout
