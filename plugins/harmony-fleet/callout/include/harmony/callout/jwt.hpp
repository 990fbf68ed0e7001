#pragma once
// NATS JWTs: a JSON header {"typ":"JWT","alg":"ed25519-nkey"}, JSON claims,
// and an Ed25519 signature by the issuer's nkey (the `iss` claim), each part
// base64url without padding. Used for the auth callout's requests (issued
// by the server's N key), its responses and the user JWTs it issues (by the
// auth account's A key).

#include <chrono>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <harmony/base/expected.hpp>
#include <harmony/callout/nkeys.hpp>

namespace harmony::callout {

std::string base64url_encode(std::string_view bytes);
// Text a client sent (a key id, a user or client name), for a refusal's
// reason or a log line: printable ASCII only, every other byte '?', at most
// `max` bytes. Reasons go into JWTs, whose JSON must be valid UTF-8, and log
// lines must not be forged with newlines.
std::string shown(std::string_view text, std::size_t max);
std::optional<std::string> base64url_decode(std::string_view text);

struct Jwt {
  nlohmann::json claims;  // the payload, as signed
  std::string issuer;     // `iss`, whose key verified the signature
};

// Decodes and verifies a token: three parts, a NATS header, claims that are
// an object, `iss` a public key of one of `issuers`' kinds whose signature
// verifies, and `exp` (when present) not passed at `now`. At most
// `max_bytes` of token. Errors name what is wrong, never the token's text.
base::expected<Jwt> decode_jwt(std::string_view token, std::span<const KeyKind> issuers,
                               std::chrono::system_clock::time_point now = std::chrono::system_clock::now(),
                               std::size_t max_bytes = 64 * 1024);

// Signs `claims` as `issuer`: sets `iss`, `iat` (now) and `jti` (a hash of
// the claims).
std::string encode_jwt(nlohmann::json claims, const KeyPair& issuer,
                       std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace harmony::callout
