#pragma once
// Validating an identity provider's access tokens (OIDC JWTs, as Zitadel
// issues them) against the issuer's signing keys (its JWKS): RS256 and
// ES256 only, `iss`, `aud`, `exp` and `nbf` with a clock skew. The keys come
// from the issuer's discovery document's `jwks_uri`; fetching them is the
// caller's (the callout caches them and fetches again on an unknown key id,
// which is how a rotation shows).

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <harmony/base/expected.hpp>

namespace harmony::callout {

// A JWKS's public keys by key id. Keys of other types or curves, or that do
// not parse, are left out (listed in `skipped`).
class KeySet {
 public:
  struct Key;  // an OpenSSL public key, with the algorithm it verifies

  static base::expected<KeySet> parse(std::string_view jwks_json);
  KeySet(KeySet&&) noexcept;
  KeySet& operator=(KeySet&&) noexcept;
  ~KeySet();

  [[nodiscard]] const Key* find(std::string_view kid) const;
  [[nodiscard]] std::size_t size() const { return keys_.size(); }
  [[nodiscard]] const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  KeySet() = default;
  std::map<std::string, std::unique_ptr<Key>, std::less<>> keys_;
  std::vector<std::string> skipped_;
};

struct TokenRules {
  std::string issuer;    // `iss` must be exactly this
  std::string audience;  // `aud` (a string or an array) must hold this
  std::chrono::seconds skew{60};
  std::size_t max_bytes = 16 * 1024;
};

// Why a token was refused, for the log (never the token itself).
enum class TokenProblem {
  malformed,
  unsupported_algorithm,
  unknown_key,
  bad_signature,
  wrong_issuer,
  wrong_audience,
  expired,
  not_yet_valid
};
std::string_view to_string(TokenProblem problem);

struct TokenError {
  TokenProblem problem;
  std::string reason;
};

// The token's claims when it is valid under `rules` and signed by a key of
// `keys`.
tl::expected<nlohmann::json, TokenError> validate_token(std::string_view token, const KeySet& keys, const TokenRules& rules,
                                                        std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// The key id (`kid`) in a token's header, to look up before validating.
std::string key_id_of(std::string_view token);

}  // namespace harmony::callout
