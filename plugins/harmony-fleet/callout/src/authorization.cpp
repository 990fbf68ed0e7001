#include <harmony/callout/authorization.hpp>

#include <array>

#include <nlohmann/json.hpp>

#include <harmony/callout/jwt.hpp>

namespace harmony::callout {
namespace {

using nlohmann::json;

std::string text(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json permission(const std::vector<std::string>& allow, const std::vector<std::string>& deny) {
  json p = json::object();
  if (!allow.empty()) p["allow"] = allow;
  if (!deny.empty()) p["deny"] = deny;
  return p;
}

long long seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

base::expected<std::string> respond(const AuthRequest& request, json nats, const KeyPair& issuer, const XKey* xkey,
                                    std::chrono::system_clock::time_point now) {
  nats["type"] = "authorization_response";
  nats["version"] = 2;
  json claims = {{"sub", request.user_nkey}, {"aud", request.server_id}, {"nats", std::move(nats)}};
  const std::string token = encode_jwt(std::move(claims), issuer, now);
  if (request.server_xkey.empty()) return token;
  if (xkey == nullptr)
    return base::fail(base::make_error("cannot answer a sealed request", "the callout has no xkey to seal the response with"));
  return xkey->seal(token, request.server_xkey);
}

}  // namespace

base::expected<AuthRequest> read_request(std::string_view payload, std::string_view header_xkey, const XKey* xkey,
                                         std::size_t max_bytes) {
  if (payload.size() > max_bytes)
    return base::fail(base::make_error("refused an authorization request", "it is longer than " + std::to_string(max_bytes) + " bytes"));
  std::string token(payload);
  if (!header_xkey.empty()) {
    if (xkey == nullptr)
      return base::fail(base::make_error("cannot read a sealed authorization request", "the callout has no xkey; configure the same one as the server's auth_callout xkey"));
    auto opened = xkey->open(payload, header_xkey);
    if (!opened) return base::fail(base::make_error("cannot read a sealed authorization request", opened.error().reason));
    token = std::move(*opened);
  }
  static constexpr std::array kinds{KeyKind::server};
  auto jwt = decode_jwt(token, kinds, std::chrono::system_clock::now(), max_bytes);
  if (!jwt) return base::fail(base::make_error("refused an authorization request", jwt.error().reason));
  const json& claims = jwt->claims;
  const auto nats = claims.find("nats");
  if (nats == claims.end() || !nats->is_object() || text(*nats, "type") != "authorization_request")
    return base::fail(base::make_error("refused an authorization request", "it is not an authorization_request claim"));
  AuthRequest out;
  const json server = nats->value("server_id", json::object());
  const json client = nats->value("client_info", json::object());
  const json connect = nats->value("connect_opts", json::object());
  if (!server.is_object() || !client.is_object() || !connect.is_object())
    return base::fail(base::make_error("refused an authorization request", "its server, client or connect fields are not objects"));
  out.server_id = text(server, "id");
  out.server_name = text(server, "name");
  out.server_xkey = std::string(header_xkey);
  out.user_nkey = text(*nats, "user_nkey");
  out.user = text(connect, "user");
  out.password = text(connect, "pass");
  out.token = text(connect, "auth_token");
  out.client_host = text(client, "host");
  out.client_name = text(connect, "name");
  if (out.server_id.empty()) return base::fail(base::make_error("refused an authorization request", "it names no server"));
  // The request must come from the server it names.
  if (out.server_id != jwt->issuer)
    return base::fail(base::make_error("refused an authorization request", "it is not signed by the server it names"));
  if (!is_public(out.user_nkey, KeyKind::user))
    return base::fail(base::make_error("refused an authorization request", "its user_nkey is not a user public key"));
  return out;
}

base::expected<std::string> admit(const AuthRequest& request, const Grant& grant, const KeyPair& issuer, const XKey* xkey,
                                  std::chrono::system_clock::time_point now) {
  const UserPermissions& p = grant.permissions;
  json nats = {{"pub", permission(p.publish_allow, p.publish_deny)},
               {"sub", permission(p.subscribe_allow, p.subscribe_deny)},
               {"subs", -1},
               {"data", -1},
               {"payload", -1},
               {"type", "user"},
               {"version", 2}};
  if (p.allow_responses) nats["resp"] = {{"max", 1}, {"ttl", 0}};
  json user = {{"sub", request.user_nkey},
               {"aud", grant.account},
               {"name", grant.name},
               {"exp", seconds(now + grant.lifetime)},
               {"nats", std::move(nats)}};
  return respond(request, {{"jwt", encode_jwt(std::move(user), issuer, now)}}, issuer, xkey, now);
}

base::expected<std::string> refuse(const AuthRequest& request, std::string_view reason, const KeyPair& issuer,
                                   const XKey* xkey, std::chrono::system_clock::time_point now) {
  return respond(request, {{"error", std::string(reason)}}, issuer, xkey, now);
}

}  // namespace harmony::callout
