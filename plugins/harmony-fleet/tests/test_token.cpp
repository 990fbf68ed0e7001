// harmony fleet token's parts: Zitadel's JSON machine key, the JWT profile
// assertion (checked with OpenSSL against the key's public half), and the
// exchange against a scripted provider (the real exchange, over HTTP with a
// real fleet-agent logging in, is e2e/fleet/callout/test_callout_local.cpp).

#include <catch2/catch.hpp>

#include <map>
#include <memory>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/text.hpp>
#include <harmony/callout/jwt.hpp>
#include <harmony/fleet/token.hpp>

using namespace harmony;
using namespace harmony::fleet;
using nlohmann::json;

namespace {

struct RsaKey {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey{EVP_RSA_gen(2048), &EVP_PKEY_free};
  [[nodiscard]] std::string private_pem() const {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return {data, static_cast<std::size_t>(n)};
  }
  [[nodiscard]] bool verifies(const std::string& jwt) const {
    const auto dot = jwt.rfind('.');
    const std::string input = jwt.substr(0, dot);
    const auto signature = callout::base64url_decode(jwt.substr(dot + 1));
    if (!signature) return false;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    return EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey.get()) == 1 &&
           EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
                            reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  }
};

json part(const std::string& jwt, int index) {
  std::size_t from = 0;
  for (int i = 0; i < index; ++i) from = jwt.find('.', from) + 1;
  return json::parse(*callout::base64url_decode(jwt.substr(from, jwt.find('.', from) - from)));
}

std::string key_json(const RsaKey& key) {
  return json{{"type", "serviceaccount"}, {"keyId", "300200100"}, {"key", key.private_pem()}, {"userId", "299000001"}}.dump();
}

// A scripted provider: discovery, then the token endpoint's answer; it
// keeps the requests it was sent.
struct Provider {
  std::string issuer = "https://auth.example.test";
  std::string token_endpoint = "https://auth.example.test/oauth/v2/token";
  HttpAnswer token_answer{200, R"({"access_token":"eyJ.access.token","token_type":"Bearer","expires_in":43199})"};
  std::vector<std::pair<std::string, std::string>> sent;  // URL, form
  HttpExchange exchange() {
    return [this](const std::string& method, const std::string& url, const std::string& form) -> base::expected<HttpAnswer> {
      sent.emplace_back(url, form);
      if (method == "GET" && url == issuer + "/.well-known/openid-configuration")
        return HttpAnswer{200, json{{"issuer", issuer}, {"token_endpoint", token_endpoint}}.dump()};
      if (method == "POST" && url == token_endpoint) return token_answer;
      return HttpAnswer{404, "{}"};
    };
  }
};

std::map<std::string, std::string> form_fields(const std::string& form) {
  std::map<std::string, std::string> out;
  for (const auto& pair : base::split_list(form, '&')) {
    const auto eq = pair.find('=');
    out[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return out;
}

}  // namespace

TEST_CASE("Zitadel's JSON machine key is read, and a wrong one is refused naming the field, never the key") {
  RsaKey rsa;
  auto key = parse_machine_key(key_json(rsa));
  REQUIRE(key);
  CHECK(key->key_id == "300200100");
  CHECK(key->user_id == "299000001");
  CHECK_THAT(key->private_key_pem, Catch::StartsWith("-----BEGIN PRIVATE KEY-----"));
  auto no_user = parse_machine_key(json{{"keyId", "1"}, {"key", rsa.private_pem()}}.dump());
  REQUIRE_FALSE(no_user);
  CHECK_THAT(no_user.error().reason, Catch::Contains("userId"));
  CHECK(no_user.error().reason.find("PRIVATE") == std::string::npos);
  CHECK_FALSE(parse_machine_key("not json"));
  CHECK_FALSE(parse_machine_key(json{{"type", "application"}, {"keyId", "1"}, {"key", "k"}, {"userId", "2"}}.dump()));
  auto not_rsa = jwt_profile_assertion({"1", "2", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}, "https://x",
                                       std::chrono::system_clock::now());
  REQUIRE_FALSE(not_rsa);
  CHECK_THAT(not_rsa.error().reason, Catch::Contains("not an RSA private key"));
}

TEST_CASE("the JWT profile assertion is RS256 by the machine key, from and about its user, for the issuer") {
  RsaKey rsa, other;
  const auto key = *parse_machine_key(key_json(rsa));
  const auto now = std::chrono::system_clock::now();
  auto assertion = jwt_profile_assertion(key, "https://auth.example.test", now);
  REQUIRE(assertion);
  CHECK(rsa.verifies(*assertion));
  CHECK_FALSE(other.verifies(*assertion));
  const json header = part(*assertion, 0), claims = part(*assertion, 1);
  CHECK(header == json{{"alg", "RS256"}, {"kid", "300200100"}, {"typ", "JWT"}});
  CHECK(claims["iss"] == "299000001");
  CHECK(claims["sub"] == "299000001");
  CHECK(claims["aud"] == "https://auth.example.test");
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  CHECK(claims["iat"] == seconds);
  CHECK(claims["exp"] == seconds + 300);
}

TEST_CASE("a token is fetched from the discovered endpoint with the grant, the assertion and the project's audience scope") {
  RsaKey rsa;
  const auto key = *parse_machine_key(key_json(rsa));
  Provider provider;
  auto token = fetch_token(key, {provider.issuer + "/", "288000001", ""}, provider.exchange(), std::chrono::system_clock::now());
  REQUIRE(token);
  CHECK(token->access_token == "eyJ.access.token");
  CHECK(token->expires_in == std::chrono::seconds(43199));
  CHECK(refresh_after(token->expires_in) == std::chrono::seconds(28799));
  CHECK(refresh_after(std::chrono::seconds(1)) == std::chrono::seconds(1));
  REQUIRE(provider.sent.size() == 2);
  const auto form = form_fields(provider.sent[1].second);
  CHECK(form.at("grant_type") == "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer");
  CHECK(form.at("scope") == "openid%20urn%3Azitadel%3Aiam%3Aorg%3Aproject%3Aid%3A288000001%3Aaud");
  CHECK(rsa.verifies(form.at("assertion")));  // base64url and dots need no escaping
  CHECK(part(form.at("assertion"), 1)["aud"] == provider.issuer);
}

TEST_CASE("the provider's refusals and odd answers are typed errors that carry no secret") {
  RsaKey rsa;
  const auto key = *parse_machine_key(key_json(rsa));
  const auto now = std::chrono::system_clock::now();
  Provider provider;
  provider.token_answer = {400, R"({"error":"invalid_grant","error_description":"key not found"})"};
  auto refused = fetch_token(key, {provider.issuer, "", ""}, provider.exchange(), now);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().status == base::exit_status::unauthorized);
  CHECK_THAT(refused.error().message, Catch::Contains("300200100") && Catch::Contains("299000001"));
  CHECK_THAT(refused.error().reason, Catch::Contains("invalid_grant") && Catch::Contains("key not found"));
  CHECK_THAT(refused.error().hint, Catch::Contains("new key"));
  const std::string everything = refused.error().message + refused.error().reason + refused.error().hint;
  CHECK(everything.find("PRIVATE") == std::string::npos);
  CHECK(everything.find(provider.sent.back().second.substr(provider.sent.back().second.find("assertion=") + 10, 20)) ==
        std::string::npos);

  provider.token_answer = {503, "busy"};
  auto down = fetch_token(key, {provider.issuer, "", ""}, provider.exchange(), now);
  REQUIRE_FALSE(down);
  CHECK(down.error().status == base::exit_status::remote_error);

  provider.token_answer = {200, R"({"token_type":"Bearer"})"};
  CHECK_FALSE(fetch_token(key, {provider.issuer, "", ""}, provider.exchange(), now));
  provider.token_answer = {200, R"({"access_token":"x","expires_in":0})"};
  CHECK(fetch_token(key, {provider.issuer, "", ""}, provider.exchange(), now)->expires_in == std::chrono::seconds(10));
  provider.token_answer = {200, R"({"access_token":"x","expires_in":9223372036854775807})"};
  CHECK(fetch_token(key, {provider.issuer, "", ""}, provider.exchange(), now)->expires_in == std::chrono::hours(366 * 24));
  provider.token_answer = {200, R"({"access_token":"two\nlines"})"};
  CHECK_FALSE(fetch_token(key, {provider.issuer, "", ""}, provider.exchange(), now));

  // A discovery document that sends the assertion elsewhere is not followed.
  provider.token_endpoint = "https://collector.example.test/oauth/v2/token";
  provider.token_answer = {200, R"({"access_token":"x"})"};
  const std::size_t before = provider.sent.size();
  auto elsewhere = fetch_token(key, {provider.issuer, "", ""}, provider.exchange(), now);
  REQUIRE_FALSE(elsewhere);
  CHECK_THAT(elsewhere.error().reason, Catch::Contains("not at the issuer's address"));
  CHECK(provider.sent.size() == before + 1);  // the discovery only

  // No discovery document at that address.
  auto wrong = fetch_token(key, {"https://nowhere.example.test", "", ""}, provider.exchange(), now);
  REQUIRE_FALSE(wrong);
  CHECK_THAT(wrong.error().reason, Catch::Contains("HTTP 404"));
}

TEST_CASE("the HTTP exchange refuses plain http except to loopback") {
  auto exchange = https_exchange("");
  auto plain = exchange("GET", "http://auth.example.test/.well-known/openid-configuration", "");
  REQUIRE_FALSE(plain);
  CHECK_THAT(plain.error().reason, Catch::Contains("https"));
  // Loopback plain http is allowed; nothing listens on port 1, so it is unreachable (exit 11).
  auto loop = exchange("GET", "http://127.0.0.1:1/.well-known/openid-configuration", "");
  REQUIRE_FALSE(loop);
  CHECK(loop.error().status == base::exit_status::unreachable);
}
