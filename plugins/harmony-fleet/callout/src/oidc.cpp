#include <harmony/callout/oidc.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <harmony/callout/jwt.hpp>

namespace harmony::callout {

struct KeySet::Key {
  enum class Algorithm { rs256, es256 } algorithm;
  EVP_PKEY* pkey = nullptr;
  Key(Algorithm a, EVP_PKEY* p) : algorithm(a), pkey(p) {}
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;
  ~Key() { EVP_PKEY_free(pkey); }
};

namespace {

using nlohmann::json;
using Algorithm = KeySet::Key::Algorithm;

template <class T, void (*Free)(T*)>
struct Freer {
  void operator()(T* p) const { Free(p); }
};
using Bignum = std::unique_ptr<BIGNUM, Freer<BIGNUM, BN_free>>;
using ParamBuilder = std::unique_ptr<OSSL_PARAM_BLD, Freer<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Freer<OSSL_PARAM, OSSL_PARAM_free>>;
using PkeyContext = std::unique_ptr<EVP_PKEY_CTX, Freer<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using DigestContext = std::unique_ptr<EVP_MD_CTX, Freer<EVP_MD_CTX, EVP_MD_CTX_free>>;
using EcdsaSignature = std::unique_ptr<ECDSA_SIG, Freer<ECDSA_SIG, ECDSA_SIG_free>>;

std::string text(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Bignum bignum(std::string_view bytes) {
  return Bignum(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr));
}

EVP_PKEY* from_params(const char* type, OSSL_PARAM_BLD* builder) {
  Params params(OSSL_PARAM_BLD_to_param(builder));
  PkeyContext ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0)
    return nullptr;
  return pkey;
}

EVP_PKEY* rsa_key(const json& jwk) {
  auto n = base64url_decode(text(jwk, "n"));
  auto e = base64url_decode(text(jwk, "e"));
  if (!n || !e || n->size() < 256) return nullptr;  // 2048 bits at least
  Bignum bn_n = bignum(*n), bn_e = bignum(*e);
  ParamBuilder builder(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !builder || !OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()))
    return nullptr;
  return from_params("RSA", builder.get());
}

EVP_PKEY* ec_key(const json& jwk) {
  if (text(jwk, "crv") != "P-256") return nullptr;
  auto x = base64url_decode(text(jwk, "x"));
  auto y = base64url_decode(text(jwk, "y"));
  if (!x || !y || x->size() != 32 || y->size() != 32) return nullptr;
  std::string point = "\x04" + *x + *y;  // uncompressed
  ParamBuilder builder(OSSL_PARAM_BLD_new());
  if (!builder || !OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()))
    return nullptr;
  return from_params("EC", builder.get());
}

// ES256 signatures are r and s, 32 bytes each; OpenSSL verifies DER.
std::optional<std::string> der_of(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  EcdsaSignature signature(ECDSA_SIG_new());
  Bignum r = bignum(raw.substr(0, 32)), s = bignum(raw.substr(32));
  if (!signature || !r || !s || ECDSA_SIG_set0(signature.get(), r.get(), s.get()) != 1) return std::nullopt;
  (void)r.release();  // owned by the signature now
  (void)s.release();
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(signature.get(), &der);
  if (length <= 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

bool verified(const KeySet::Key& key, std::string_view data, std::string_view signature) {
  std::string der;
  if (key.algorithm == Algorithm::es256) {
    auto converted = der_of(signature);
    if (!converted) return false;
    der = std::move(*converted);
    signature = der;
  }
  DigestContext ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.pkey) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

tl::unexpected<TokenError> refused(TokenProblem problem, std::string reason) {
  return tl::unexpected<TokenError>(TokenError{problem, std::move(reason)});
}

}  // namespace

KeySet::KeySet(KeySet&&) noexcept = default;
KeySet& KeySet::operator=(KeySet&&) noexcept = default;
KeySet::~KeySet() = default;

base::expected<KeySet> KeySet::parse(std::string_view jwks_json) {
  const auto doc = json::parse(jwks_json, nullptr, false);
  if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array())
    return base::fail(base::make_error("cannot read the issuer's keys", "the JWKS is not an object with a \"keys\" array"));
  KeySet set;
  for (const auto& jwk : doc["keys"]) {
    if (!jwk.is_object()) continue;
    const std::string kid = text(jwk, "kid"), kty = text(jwk, "kty"), use = text(jwk, "use");
    const std::string name = kid.empty() ? "(no kid)" : kid;
    if (kid.empty() || (!use.empty() && use != "sig")) {
      set.skipped_.push_back(name + ": not a signing key with an id");
      continue;
    }
    EVP_PKEY* pkey = nullptr;
    Algorithm algorithm = Algorithm::rs256;
    if (kty == "RSA") {
      pkey = rsa_key(jwk);
    } else if (kty == "EC") {
      pkey = ec_key(jwk);
      algorithm = Algorithm::es256;
    }
    if (pkey == nullptr) {
      set.skipped_.push_back(name + ": not an RSA (2048 bits or more) or P-256 key that parses");
      continue;
    }
    set.keys_[kid] = std::make_unique<Key>(algorithm, pkey);
  }
  return set;
}

const KeySet::Key* KeySet::find(std::string_view kid) const {
  const auto it = keys_.find(kid);
  return it == keys_.end() ? nullptr : it->second.get();
}

std::string_view to_string(TokenProblem problem) {
  switch (problem) {
    case TokenProblem::malformed: return "malformed";
    case TokenProblem::unsupported_algorithm: return "unsupported algorithm";
    case TokenProblem::unknown_key: return "unknown signing key";
    case TokenProblem::bad_signature: return "bad signature";
    case TokenProblem::wrong_issuer: return "wrong issuer";
    case TokenProblem::wrong_audience: return "wrong audience";
    case TokenProblem::expired: return "expired";
    case TokenProblem::not_yet_valid: return "not yet valid";
  }
  return "refused";
}

std::string key_id_of(std::string_view token) {
  const auto dot = token.find('.');
  if (dot == std::string_view::npos) return {};
  auto header = base64url_decode(token.substr(0, dot));
  if (!header) return {};
  const auto doc = json::parse(*header, nullptr, false);
  return doc.is_object() ? text(doc, "kid") : std::string();
}

tl::expected<json, TokenError> validate_token(std::string_view token, const KeySet& keys, const TokenRules& rules,
                                              std::chrono::system_clock::time_point now) {
  if (token.size() > rules.max_bytes)
    return refused(TokenProblem::malformed, "longer than " + std::to_string(rules.max_bytes) + " bytes");
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return refused(TokenProblem::malformed, "not three parts");
  auto header_text = base64url_decode(token.substr(0, first));
  auto claims_text = base64url_decode(token.substr(first + 1, second - first - 1));
  auto signature = base64url_decode(token.substr(second + 1));
  if (!header_text || !claims_text || !signature) return refused(TokenProblem::malformed, "a part is not base64url");
  const auto header = json::parse(*header_text, nullptr, false);
  if (!header.is_object()) return refused(TokenProblem::malformed, "its header is not a JSON object");
  const std::string alg = text(header, "alg");
  if (alg != "RS256" && alg != "ES256")
    return refused(TokenProblem::unsupported_algorithm, "alg '" + shown(alg, 16) + "' (RS256 and ES256 are accepted)");
  const std::string kid = text(header, "kid");
  const KeySet::Key* key = keys.find(kid);
  if (key == nullptr) return refused(TokenProblem::unknown_key, "no key '" + shown(kid, 64) + "' in the issuer's JWKS");
  if ((key->algorithm == Algorithm::rs256) != (alg == "RS256"))
    return refused(TokenProblem::unsupported_algorithm, "alg " + alg + " does not match key '" + shown(kid, 64) + "'");
  if (!verified(*key, token.substr(0, second), *signature))
    return refused(TokenProblem::bad_signature, "the signature does not verify with key '" + shown(kid, 64) + "'");

  auto claims = json::parse(*claims_text, nullptr, false);
  if (!claims.is_object()) return refused(TokenProblem::malformed, "its claims are not a JSON object");
  if (text(claims, "iss") != rules.issuer) return refused(TokenProblem::wrong_issuer, "issued by another issuer");
  const auto aud = claims.find("aud");
  bool audience = aud != claims.end() && aud->is_string() && aud->get<std::string>() == rules.audience;
  if (aud != claims.end() && aud->is_array())
    for (const auto& a : *aud) audience = audience || (a.is_string() && a.get<std::string>() == rules.audience);
  if (!audience) return refused(TokenProblem::wrong_audience, "not for audience '" + rules.audience + "'");
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const auto exp = claims.find("exp");
  if (exp == claims.end() || !exp->is_number()) return refused(TokenProblem::malformed, "it has no exp");
  if (exp->get<double>() + static_cast<double>(rules.skew.count()) < static_cast<double>(seconds))
    return refused(TokenProblem::expired, "it expired");
  const auto nbf = claims.find("nbf");
  if (nbf != claims.end() && nbf->is_number() &&
      nbf->get<double>() - static_cast<double>(rules.skew.count()) > static_cast<double>(seconds))
    return refused(TokenProblem::not_yet_valid, "it is not valid yet");
  return claims;
}

}  // namespace harmony::callout
