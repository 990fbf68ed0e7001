#pragma once
// What fleet-callout does with one authorization request, apart from NATS
// itself (run.cpp): read it, validate the presented token against the
// identity provider's keys, map the identity to a role, and answer with a
// user JWT carrying that role's permissions, or a refusal with the reason.
// The issuer's keys are fetched through `Fetch` (HTTPS in the service, a
// function in tests), cached, and fetched again when a token names a key id
// the cache lacks (a rotation), at most once per `refetch_interval`.

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <harmony/base/expected.hpp>
#include <harmony/callout/authorization.hpp>
#include <harmony/callout/identity.hpp>
#include <harmony/callout/nkeys.hpp>
#include <harmony/callout/oidc.hpp>

namespace harmony::callout {

struct ServiceConfig {
  KeyPair issuer;               // the auth account's key, as in the server's auth_callout `issuer`
  std::optional<XKey> xkey;     // the callout's xkey, as in the server's auth_callout `xkey`
  TokenRules token;             // the identity provider and the audience of NATS's application
  IdentityRules identity;
  std::string account = "FLEET";              // where admitted users go
  std::chrono::seconds user_lifetime{3600};   // at most; never past the token's own expiry
  std::chrono::seconds refetch_interval{30};  // the fewest seconds between two fetches of the keys
  // Keys older than this are fetched again, in the background, from the
  // next login on, so that a key the provider removed (rotated out, or
  // compromised) stops verifying without a restart. A failed fetch keeps
  // the old keys.
  std::chrono::seconds keys_max_age{600};
  // Moving a fleet from nats.auth=user_password: while set, agent-<id> may
  // still log in with the password harmony generated, read from
  // <dir>/agent-<id>.password at each login (docs/fleet-callout.md,
  // "Migrating"). Empty: tokens only.
  std::string agent_passwords_dir;
};

// GETs a URL; the body.
using Fetch = std::function<base::expected<std::string>(const std::string& url)>;

class Service {
 public:
  Service(ServiceConfig config, Fetch fetch);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  struct Answer {
    std::optional<std::string> response;  // what to reply; none: the request was unreadable
    bool admitted = false;
    std::string log;  // one line: who, and why not; never a token or password
  };
  Answer handle(std::string_view payload, std::string_view header_xkey);

  // Reads the discovery document and the JWKS now.
  base::expected<void> refresh_keys();

 private:
  base::expected<KeySet> fetch_keys() const;
  tl::expected<nlohmann::json, TokenError> validate(const std::string& token);
  // The device an agent-<id> user's password admits, or why not.
  base::expected<std::string> password_device(const AuthRequest& request) const;

  ServiceConfig config_;
  Fetch fetch_;
  std::mutex mutex_;
  std::optional<KeySet> keys_;
  std::chrono::steady_clock::time_point fetched_{};
  // The background fetch of keys past their maximum age.
  std::atomic<bool> refreshing_{false};
  std::thread refresher_;
};

}  // namespace harmony::callout
