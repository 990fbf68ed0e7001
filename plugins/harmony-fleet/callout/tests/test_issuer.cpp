#include "test_issuer.hpp"

#include <stdexcept>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <harmony/callout/jwt.hpp>

namespace harmony::callout::testing {

struct TestIssuer::Key {
  bool ec = false;
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

namespace {

std::string bn_param(EVP_PKEY* pkey, const char* name, int pad) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) throw std::runtime_error(std::string("no ") + name);
  std::string out(static_cast<std::size_t>(pad > 0 ? pad : BN_num_bytes(bn)), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

}  // namespace

TestIssuer::TestIssuer(std::string url) : url_(std::move(url)) {}
TestIssuer::~TestIssuer() = default;

std::string TestIssuer::add_rsa_key() {
  auto key = std::make_unique<Key>();
  key->pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  if (key->pkey == nullptr) throw std::runtime_error("cannot make an RSA key");
  const std::string kid = "rsa-" + std::to_string(next_++);
  keys_[kid] = std::move(key);
  return kid;
}

std::string TestIssuer::add_ec_key() {
  auto key = std::make_unique<Key>();
  key->ec = true;
  key->pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (key->pkey == nullptr) throw std::runtime_error("cannot make a P-256 key");
  const std::string kid = "ec-" + std::to_string(next_++);
  keys_[kid] = std::move(key);
  return kid;
}

void TestIssuer::remove_key(const std::string& kid) { keys_.erase(kid); }

std::string TestIssuer::jwks() const {
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& [kid, key] : keys_) {
    if (key->ec)
      keys.push_back({{"kty", "EC"}, {"crv", "P-256"}, {"use", "sig"}, {"alg", "ES256"}, {"kid", kid},
                      {"x", base64url_encode(bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32))},
                      {"y", base64url_encode(bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32))}});
    else
      keys.push_back({{"kty", "RSA"}, {"use", "sig"}, {"alg", "RS256"}, {"kid", kid},
                      {"n", base64url_encode(bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_N, 0))},
                      {"e", base64url_encode(bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_E, 0))}});
  }
  return nlohmann::json{{"keys", keys}}.dump();
}

std::string TestIssuer::discovery() const {
  return nlohmann::json{{"issuer", url_},
                        {"jwks_uri", url_ + "/oauth/v2/keys"},
                        {"token_endpoint", url_ + "/oauth/v2/token"},
                        {"id_token_signing_alg_values_supported", {"RS256", "ES256"}}}
      .dump();
}

std::string TestIssuer::mint(const nlohmann::json& claims, const std::string& kid, const std::string& alg) const {
  const auto& key = *keys_.at(kid);
  const std::string header = nlohmann::json{{"alg", alg.empty() ? (key.ec ? "ES256" : "RS256") : alg}, {"kid", kid}, {"typ", "JWT"}}.dump();
  const std::string input = base64url_encode(header) + "." + base64url_encode(claims.dump());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t length = 0;
  if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.pkey) != 1 ||
      EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    throw std::runtime_error("cannot sign");
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    throw std::runtime_error("cannot sign");
  EVP_MD_CTX_free(ctx);
  signature.resize(length);
  if (key.ec) {
    // DER to r||s, as JWS wants it.
    const auto* der = reinterpret_cast<const unsigned char*>(signature.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data() + 32), 32);
    ECDSA_SIG_free(sig);
    signature = raw;
  }
  return input + "." + base64url_encode(signature);
}

}  // namespace harmony::callout::testing
