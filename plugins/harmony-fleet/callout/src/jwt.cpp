#include <harmony/callout/jwt.hpp>

#include <algorithm>

#include <sodium.h>

#include <harmony/base/text.hpp>

namespace harmony::callout {
namespace {

base::Error bad_token(std::string why) { return base::make_error("not a valid NATS JWT", std::move(why)); }

}  // namespace

std::string shown(std::string_view text, std::size_t max) {
  std::string out(text.substr(0, max));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  return out;
}

// libsodium's codec: every login decodes three JWTs and encodes two, and a
// character-by-character codec was a tenth of the callout's time.
std::string base64url_encode(std::string_view bytes) {
  constexpr int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), variant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  // libsodium refuses characters outside the alphabet, padding, and spare
  // bits set in the last character (which would let two texts stand for the
  // same bytes): one text per value. But Debian's libsodium 1.0.18 reads any
  // byte above 0x7f as '_' (a signed char in its comparisons), which would
  // let a forged signature text decode to a real one: such bytes are refused
  // here first (the fuzzer found it).
  if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) > 0x7f; }))
    return std::nullopt;
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &length, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size())
    return std::nullopt;
  out.resize(length);
  return out;
}

base::expected<Jwt> decode_jwt(std::string_view token, std::span<const KeyKind> issuers,
                               std::chrono::system_clock::time_point now, std::size_t max_bytes) {
  if (token.size() > max_bytes) return base::fail(bad_token("it is longer than " + std::to_string(max_bytes) + " bytes"));
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return base::fail(bad_token("it does not have three parts"));
  auto header_text = base64url_decode(token.substr(0, first));
  auto claims_text = base64url_decode(token.substr(first + 1, second - first - 1));
  auto signature = base64url_decode(token.substr(second + 1));
  if (!header_text || !claims_text || !signature) return base::fail(bad_token("a part is not base64url"));
  const auto header = nlohmann::json::parse(*header_text, nullptr, false);
  // value() would throw on a non-string member: compare JSON values instead.
  if (!header.is_object() || !header.contains("typ") || header["typ"] != "JWT" || !header.contains("alg") ||
      (header["alg"] != "ed25519-nkey" && header["alg"] != "ed25519"))
    return base::fail(bad_token("its header is not a NATS JWT's (typ JWT, alg ed25519-nkey)"));
  Jwt out;
  out.claims = nlohmann::json::parse(*claims_text, nullptr, false);
  if (!out.claims.is_object()) return base::fail(bad_token("its claims are not a JSON object"));
  const auto iss = out.claims.find("iss");
  if (iss == out.claims.end() || !iss->is_string()) return base::fail(bad_token("it has no issuer"));
  out.issuer = iss->get<std::string>();
  if (std::none_of(issuers.begin(), issuers.end(), [&](KeyKind k) { return is_public(out.issuer, k); }))
    return base::fail(bad_token("its issuer is not a key of the expected kind"));
  if (auto verified = verify(out.issuer, token.substr(0, second), *signature); !verified)
    return base::fail(bad_token(verified.error().reason));
  if (const auto exp = out.claims.find("exp"); exp != out.claims.end()) {
    if (!exp->is_number_integer()) return base::fail(bad_token("its exp is not a number"));
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    if (exp->get<long long>() != 0 && exp->get<long long>() < seconds) return base::fail(bad_token("it has expired"));
  }
  return out;
}

std::string encode_jwt(nlohmann::json claims, const KeyPair& issuer, std::chrono::system_clock::time_point now) {
  claims["iss"] = issuer.public_key();
  claims["iat"] = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  // An identifier derived from the content, as NATS's own libraries make
  // it (the server does not check how).
  claims["jti"] = "";
  // Replacing invalid UTF-8 rather than throwing: whatever a client slipped
  // into a claim, the answer is still made.
  constexpr auto replace = nlohmann::json::error_handler_t::replace;
  const std::string content = claims.dump(-1, ' ', false, replace);
  std::array<unsigned char, crypto_hash_sha256_BYTES> hash{};
  crypto_hash_sha256(hash.data(), reinterpret_cast<const unsigned char*>(content.data()), content.size());
  claims["jti"] = base32_encode(std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
  const std::string signing_input = base64url_encode(R"({"typ":"JWT","alg":"ed25519-nkey"})") + "." + base64url_encode(claims.dump(-1, ' ', false, replace));
  return signing_input + "." + base64url_encode(issuer.sign(signing_input));
}

}  // namespace harmony::callout
