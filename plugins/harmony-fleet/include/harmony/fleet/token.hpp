#pragma once
// A device's access token from its Zitadel machine key: the JWT profile
// grant (RFC 7523). fleet-agent has no HTTP client (ADR 0017) and reads its
// token file at every connection; `harmony fleet token` keeps that file
// fresh (docs/fleet-callout.md).

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include <harmony/base/expected.hpp>

namespace harmony::fleet {

// Zitadel's JSON key of a machine user, as it shows it once:
// {"type":"serviceaccount","keyId":...,"key":"-----BEGIN RSA PRIVATE KEY-----...","userId":...}
struct MachineKey {
  std::string key_id;
  std::string user_id;
  std::string private_key_pem;  // a secret
};
// Errors name the field that is wrong, never the key.
base::expected<MachineKey> parse_machine_key(std::string_view json_text);

// The grant's assertion: a JWT signed with the key (RS256, its key id),
// from and about its user, for `audience` (the issuer), valid `lifetime`.
base::expected<std::string> jwt_profile_assertion(const MachineKey& key, const std::string& audience,
                                                  std::chrono::system_clock::time_point now,
                                                  std::chrono::seconds lifetime = std::chrono::minutes(5));

struct TokenSource {
  std::string issuer;   // https://... (plain http on loopback only)
  std::string project;  // Zitadel's project id: asked for as the token's audience (may be empty)
  std::string ca_file;  // the issuer's CA (default: the system's)
};

struct IssuedToken {
  std::string access_token;  // a secret
  std::chrono::seconds expires_in{0};
};

// One HTTP exchange: method, URL, form body (POST) -> status and body.
struct HttpAnswer {
  int status = 0;
  std::string body;
};
using HttpExchange = std::function<base::expected<HttpAnswer>(const std::string& method, const std::string& url,
                                                              const std::string& form)>;
// Over HTTPS with the system's CAs or `ca_file`'s (plain HTTP to loopback only).
HttpExchange https_exchange(const std::string& ca_file);

// Finds the token endpoint in the issuer's discovery document and exchanges
// an assertion for an access token. A refused key is exit 15 (unauthorized),
// an issuer that cannot be reached exit 11; nothing secret is in an error.
base::expected<IssuedToken> fetch_token(const MachineKey& key, const TokenSource& source, const HttpExchange& http,
                                        std::chrono::system_clock::time_point now);

// When to fetch again: two thirds into the token's life, at least 1 s on.
std::chrono::seconds refresh_after(std::chrono::seconds expires_in);

}  // namespace harmony::fleet
