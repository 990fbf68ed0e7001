#include <catch2/catch.hpp>

#include <random>

#include <harmony/callout/jwt.hpp>
#include <harmony/callout/oidc.hpp>

#include "test_issuer.hpp"

using namespace harmony::callout;
using harmony::callout::testing::TestIssuer;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const auto now = std::chrono::system_clock::now();
long long at(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

json claims(const std::string& issuer, json aud = "fleet-nats") {
  return {{"iss", issuer}, {"sub", "device-edge-1"}, {"aud", std::move(aud)}, {"iat", at(now)}, {"exp", at(now + 1h)}};
}

TokenProblem problem(const tl::expected<json, TokenError>& r) {
  REQUIRE_FALSE(r);
  return r.error().problem;
}

}  // namespace

TEST_CASE("tokens signed with the issuer's RSA and P-256 keys are valid, their claims come back") {
  TestIssuer issuer("https://id.test");
  const std::string rsa = issuer.add_rsa_key(), ec = issuer.add_ec_key();
  auto keys = KeySet::parse(issuer.jwks());
  REQUIRE(keys);
  CHECK(keys->size() == 2);
  const TokenRules rules{.issuer = "https://id.test", .audience = "fleet-nats"};
  for (const auto& kid : {rsa, ec}) {
    INFO(kid);
    const std::string token = issuer.mint(claims("https://id.test"), kid);
    CHECK(key_id_of(token) == kid);
    auto valid = validate_token(token, *keys, rules, now);
    REQUIRE(valid);
    CHECK((*valid)["sub"] == "device-edge-1");
  }
  // aud may be a list holding ours.
  CHECK(validate_token(issuer.mint(claims("https://id.test", json::array({"other", "fleet-nats"})), rsa), *keys, rules, now));
}

TEST_CASE("tokens are refused for their issuer, audience, time, algorithm, key and signature, each with its reason") {
  TestIssuer issuer("https://id.test");
  const std::string rsa = issuer.add_rsa_key(), ec = issuer.add_ec_key();
  auto keys = KeySet::parse(issuer.jwks()).value();
  const TokenRules rules{.issuer = "https://id.test", .audience = "fleet-nats"};
  CHECK(problem(validate_token(issuer.mint(claims("https://evil.test"), rsa), keys, rules, now)) == TokenProblem::wrong_issuer);
  CHECK(problem(validate_token(issuer.mint(claims("https://id.test", "another-app"), rsa), keys, rules, now)) ==
        TokenProblem::wrong_audience);
  json old = claims("https://id.test");
  old["exp"] = at(now - 2min);
  CHECK(problem(validate_token(issuer.mint(old, rsa), keys, rules, now)) == TokenProblem::expired);
  old["exp"] = at(now - 30s);  // within the skew
  CHECK(validate_token(issuer.mint(old, rsa), keys, rules, now));
  json early = claims("https://id.test");
  early["nbf"] = at(now + 5min);
  CHECK(problem(validate_token(issuer.mint(early, rsa), keys, rules, now)) == TokenProblem::not_yet_valid);
  json no_exp = claims("https://id.test");
  no_exp.erase("exp");
  CHECK(problem(validate_token(issuer.mint(no_exp, rsa), keys, rules, now)) == TokenProblem::malformed);
  // The header cannot choose a weaker algorithm, nor another key's.
  CHECK(problem(validate_token(issuer.mint(claims("https://id.test"), rsa, "none"), keys, rules, now)) ==
        TokenProblem::unsupported_algorithm);
  CHECK(problem(validate_token(issuer.mint(claims("https://id.test"), rsa, "HS256"), keys, rules, now)) ==
        TokenProblem::unsupported_algorithm);
  CHECK(problem(validate_token(issuer.mint(claims("https://id.test"), ec, "RS256"), keys, rules, now)) ==
        TokenProblem::unsupported_algorithm);
  // Claims changed after signing.
  const std::string token = issuer.mint(claims("https://id.test"), rsa);
  const auto dot = token.find('.'), dot2 = token.find('.', dot + 1);
  json forged = claims("https://id.test");
  forged["sub"] = "device-edge-2";
  CHECK(problem(validate_token(token.substr(0, dot + 1) + base64url_encode(forged.dump()) + token.substr(dot2), keys, rules,
                               now)) == TokenProblem::bad_signature);
  // A key of another issuer with the same kid.
  TestIssuer other("https://id.test");
  other.add_rsa_key();
  CHECK(problem(validate_token(other.mint(claims("https://id.test"), "rsa-1"), keys, rules, now)) == TokenProblem::bad_signature);
  // No reason repeats the token.
  auto refused = validate_token(token.substr(0, dot2) + ".AAAA", keys, rules, now);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().reason.find(token.substr(dot + 1, 20)) == std::string::npos);
}

TEST_CASE("a rotated key: tokens of the new key are unknown until the JWKS is read again, then valid, the old key's are refused") {
  TestIssuer issuer("https://id.test");
  const std::string first = issuer.add_rsa_key();
  auto cached = KeySet::parse(issuer.jwks()).value();
  const TokenRules rules{.issuer = "https://id.test", .audience = "fleet-nats"};
  const std::string old_token = issuer.mint(claims("https://id.test"), first);
  const std::string second = issuer.add_ec_key();
  issuer.remove_key(first);
  const std::string new_token = issuer.mint(claims("https://id.test"), second);
  CHECK(problem(validate_token(new_token, cached, rules, now)) == TokenProblem::unknown_key);
  auto fresh = KeySet::parse(issuer.jwks()).value();
  CHECK(validate_token(new_token, fresh, rules, now));
  CHECK(problem(validate_token(old_token, fresh, rules, now)) == TokenProblem::unknown_key);
}

TEST_CASE("a JWKS keeps the keys it can use and says which it skipped") {
  const std::string jwks = R"({"keys":[
    {"kty":"oct","kid":"hmac","k":"c2VjcmV0"},
    {"kty":"RSA","kid":"small","n":"AQAB","e":"AQAB"},
    {"kty":"EC","kid":"p384","crv":"P-384","x":"AA","y":"AA"},
    {"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"},
    {"kty":"RSA","n":"AQAB","e":"AQAB"}]})";
  auto keys = KeySet::parse(jwks);
  REQUIRE(keys);
  CHECK(keys->size() == 0);
  CHECK(keys->skipped().size() == 5);
  CHECK_FALSE(KeySet::parse("[]"));
  CHECK_FALSE(KeySet::parse("not json"));
}

TEST_CASE("the token decoder survives 3000 mangled tokens without crashing or admitting one") {
  TestIssuer issuer("https://id.test");
  const std::string rsa = issuer.add_rsa_key(), ec = issuer.add_ec_key();
  auto keys = KeySet::parse(issuer.jwks()).value();
  const TokenRules rules{.issuer = "https://id.test", .audience = "fleet-nats"};
  const std::string seeds[] = {issuer.mint(claims("https://id.test"), rsa), issuer.mint(claims("https://id.test"), ec)};
  std::mt19937 random(20261201);
  int admitted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string token = seeds[i % 2];
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at_byte = random() % token.size();
      switch (random() % 4) {
        case 0: token[at_byte] = static_cast<char>(random() % 256); break;
        case 1: token.erase(at_byte, 1 + random() % 8); break;
        case 2: token.insert(at_byte, 1, "._-=A"[random() % 5]); break;
        default: token = token.substr(0, at_byte); break;
      }
      if (token.empty()) token = ".";
    }
    if (token != seeds[i % 2] && validate_token(token, keys, rules, now)) ++admitted;
  }
  CHECK(admitted == 0);
}
