#pragma once
// An OIDC issuer for tests: RSA and P-256 signing keys made here, their
// JWKS, and tokens minted with them (RS256, ES256), as an identity provider
// such as Zitadel issues them. Never a production component.

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace harmony::callout::testing {

class TestIssuer {
 public:
  explicit TestIssuer(std::string url);
  ~TestIssuer();
  TestIssuer(const TestIssuer&) = delete;
  TestIssuer& operator=(const TestIssuer&) = delete;

  [[nodiscard]] const std::string& url() const { return url_; }
  // A new signing key; its kid.
  std::string add_rsa_key();
  std::string add_ec_key();
  void remove_key(const std::string& kid);
  // {"keys": [...]} with every key.
  [[nodiscard]] std::string jwks() const;
  // The discovery document (`/.well-known/openid-configuration`).
  [[nodiscard]] std::string discovery() const;
  // A token with `claims` signed by `kid` (its algorithm unless `alg` says
  // otherwise: the header then lies).
  [[nodiscard]] std::string mint(const nlohmann::json& claims, const std::string& kid, const std::string& alg = {}) const;

 private:
  struct Key;
  std::string url_;
  std::map<std::string, std::unique_ptr<Key>> keys_;
  int next_ = 1;
};

}  // namespace harmony::callout::testing
