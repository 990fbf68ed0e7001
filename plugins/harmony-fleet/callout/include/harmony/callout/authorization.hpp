#pragma once
// The auth callout exchange (nats-server >= 2.10): the server sends an
// authorization request, a JWT it signed with its N key (sealed for the
// callout's xkey when one is configured), on $SYS.REQ.USER.AUTH; the callout
// answers with an authorization response JWT, signed by the auth account's
// key, that carries a user JWT (the identity's account and permissions) or
// an error. docs/fleet-callout.md describes what harmony's callout decides.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <harmony/base/expected.hpp>
#include <harmony/callout/nkeys.hpp>

namespace harmony::callout {

// The header in which the server sends its xkey with a sealed request.
inline constexpr std::string_view server_xkey_header = "Nats-Server-Xkey";

struct AuthRequest {
  std::string server_id;    // the response's audience
  std::string server_name;
  std::string server_xkey;  // empty unless the request was sealed
  std::string user_nkey;    // the connection's key: the response's and the user JWT's subject
  // What the client presented.
  std::string user;
  std::string password;  // a secret
  std::string token;     // a secret (auth_token)
  std::string client_host;
  std::string client_name;
};

// Reads a request as it arrives: `payload` is the JWT, or its xkv1 box when
// `header_xkey` (the Nats-Server-Xkey header) is set, then opened with
// `xkey`. Verifies the server's signature, the claim type, the expiry and
// the user nkey. At most `max_bytes`.
base::expected<AuthRequest> read_request(std::string_view payload, std::string_view header_xkey, const XKey* xkey,
                                         std::size_t max_bytes = 64 * 1024);

struct UserPermissions {
  std::vector<std::string> publish_allow, publish_deny;
  std::vector<std::string> subscribe_allow, subscribe_deny;
  bool allow_responses = false;  // may reply to requests it receives (one reply each)
};

struct Grant {
  std::string name;     // who the user is, for the server's logs: "device edge-1"
  std::string account;  // the account it is placed in (the user JWT's audience)
  UserPermissions permissions;
  std::chrono::seconds lifetime{3600};  // the user JWT's expiry; the server disconnects then
};

// The response that admits the request's user as `grant` says, signed by
// `issuer` (the auth account's key the server trusts) and sealed for the
// server when its request was.
base::expected<std::string> admit(const AuthRequest& request, const Grant& grant, const KeyPair& issuer, const XKey* xkey,
                                  std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
// The response that refuses it; `reason` goes to the server's log (never a
// token or password).
base::expected<std::string> refuse(const AuthRequest& request, std::string_view reason, const KeyPair& issuer,
                                   const XKey* xkey,
                                   std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace harmony::callout
