#include <harmony/fleet/token.hpp>

#include <algorithm>
#include <memory>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <harmony/base/error.hpp>
#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/text.hpp>
#include <harmony/callout/jwt.hpp>
#include <harmony/errors.hpp>
#include <harmony/kube/transport.hpp>

namespace harmony::fleet {
namespace {

using nlohmann::json;

base::Error bad_key(const std::string& why) {
  return base::make_error("cannot use the machine key", why,
                          "give the JSON key file Zitadel showed when the machine key was made (keyId, key, userId)");
}

std::string origin_of(const std::string& url) {
  const auto scheme = url.find("://");
  return scheme == std::string::npos ? url : url.substr(0, url.find('/', scheme + 3));
}

}  // namespace

base::expected<MachineKey> parse_machine_key(std::string_view json_text) {
  const json doc = json::parse(json_text, nullptr, false);
  if (!doc.is_object()) return base::fail(bad_key("it is not a JSON object"));
  MachineKey key;
  for (auto [field, into] : {std::pair{"keyId", &key.key_id}, std::pair{"userId", &key.user_id},
                             std::pair{"key", &key.private_key_pem}}) {
    const auto it = doc.find(field);
    if (it == doc.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
      return base::fail(bad_key(std::string("it has no \"") + field + "\" text"));
    *into = it->get<std::string>();
  }
  if (doc.contains("type") && doc["type"] != "serviceaccount")
    return base::fail(bad_key("its type is not \"serviceaccount\" (a machine user's key)"));
  return key;
}

base::expected<std::string> jwt_profile_assertion(const MachineKey& key, const std::string& audience,
                                                  std::chrono::system_clock::time_point now, std::chrono::seconds lifetime) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(key.private_key_pem.data(), static_cast<int>(key.private_key_pem.size())),
                                                &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr, &EVP_PKEY_free);
  if (!pkey || EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_RSA)
    return base::fail(bad_key("its \"key\" is not an RSA private key in PEM"));
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const json header = {{"alg", "RS256"}, {"kid", key.key_id}, {"typ", "JWT"}};
  const json claims = {{"iss", key.user_id}, {"sub", key.user_id}, {"aud", audience}, {"iat", seconds},
                       {"exp", seconds + lifetime.count()}};
  const std::string input = callout::base64url_encode(header.dump()) + "." + callout::base64url_encode(claims.dump());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::size_t length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, data, input.size()) != 1)
    return base::fail(bad_key("OpenSSL cannot sign with it"));
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, data, input.size()) != 1)
    return base::fail(bad_key("OpenSSL cannot sign with it"));
  signature.resize(length);
  return input + "." + callout::base64url_encode(signature);
}

HttpExchange https_exchange(const std::string& ca_file) {
  std::string ca_pem;
  if (!ca_file.empty()) ca_pem = base::read_file(ca_file, 1 << 20).value_or("");
  return [ca_file, ca_pem](const std::string& method, const std::string& url, const std::string& form) -> base::expected<HttpAnswer> {
    if (!ca_file.empty() && ca_pem.empty())
      return base::fail(base::make_error("cannot read the issuer's CA '" + ca_file + "'", "", "check --ca-file"));
    kube::Request request;
    request.method = method;
    request.body = form;
    if (!form.empty()) request.content_type = "application/x-www-form-urlencoded";
    request.timeout = std::chrono::seconds(15);
    auto response = kube::send_to_url(url, request, ca_pem);
    if (!response && response.error().status != exit_status::unreachable) return base::fail(response.error());
    if (!response)
      return base::fail(error_with(exit_status::unreachable, "cannot reach the identity provider at " + origin_of(url),
                                   response.error().reason,
                                   "check the issuer URL, that it is up, and --ca-file for its certificate"));
    return HttpAnswer{response->status, std::move(response->body)};
  };
}

base::expected<IssuedToken> fetch_token(const MachineKey& key, const TokenSource& source, const HttpExchange& http,
                                        std::chrono::system_clock::time_point now) {
  std::string issuer = source.issuer;
  while (issuer.ends_with('/')) issuer.pop_back();
  auto discovery = http("GET", issuer + "/.well-known/openid-configuration", "");
  if (!discovery) return base::fail(discovery.error());
  const json doc = json::parse(discovery->body, nullptr, false);
  if (discovery->status != 200 || !doc.is_object() || !doc.contains("token_endpoint") || !doc["token_endpoint"].is_string())
    return base::fail(error_with(exit_status::remote_error, "cannot use the identity provider at " + issuer,
                                 discovery->status != 200 ? "its discovery document answered HTTP " + std::to_string(discovery->status)
                                                          : "its discovery document names no token_endpoint",
                                 "check the issuer URL (Zitadel's is its external domain, e.g. https://auth.example.com)"));
  const std::string endpoint = doc["token_endpoint"].get<std::string>();
  if (origin_of(endpoint) != origin_of(issuer))
    return base::fail(error_with(exit_status::remote_error, "refusing the identity provider's token endpoint",
                                 base::printable(endpoint) +
                                     " is not at the issuer's address, and the key's assertion would be sent there"));
  auto assertion = jwt_profile_assertion(key, issuer, now);
  if (!assertion) return base::fail(assertion.error());
  std::string scope = "openid";
  if (!source.project.empty()) scope += " urn:zitadel:iam:org:project:id:" + source.project + ":aud";
  const std::string form = "grant_type=" + base::percent_encode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
                           "&scope=" + base::percent_encode(scope) + "&assertion=" + base::percent_encode(*assertion);
  auto answer = http("POST", endpoint, form);
  if (!answer) return base::fail(answer.error());
  const json body = json::parse(answer->body, nullptr, false);
  if (answer->status != 200) {
    // RFC 6749's error answer: a code and a description, never a secret.
    std::string why = "HTTP " + std::to_string(answer->status);
    if (body.is_object() && body.contains("error") && body["error"].is_string()) {
      why += ": " + base::printable(body["error"].get<std::string>()).substr(0, 80);
      if (body.contains("error_description") && body["error_description"].is_string())
        why += " (" + base::printable(body["error_description"].get<std::string>()).substr(0, 200) + ")";
    }
    const bool refused = answer->status == 400 || answer->status == 401 || answer->status == 403;
    return base::fail(error_with(refused ? exit_status::unauthorized : exit_status::remote_error,
                                 "the identity provider refused machine key " + key.key_id + " of user " + key.user_id, why,
                                 refused ? "the key may be removed or expired, or its user deactivated: make a new key for the device"
                                         : "try again later; the provider's logs say more"));
  }
  if (!body.is_object() || !body.contains("access_token") || !body["access_token"].is_string() ||
      body["access_token"].get_ref<const std::string&>().empty())
    return base::fail(
        error_with(exit_status::remote_error, "the identity provider's answer has no access_token", "", "check the issuer URL"));
  IssuedToken out;
  out.access_token = body["access_token"].get<std::string>();
  if (out.access_token.find_first_of("\r\n \t") != std::string::npos)
    return base::fail(error_with(exit_status::remote_error, "the identity provider's access_token is not one word"));
  const auto expires = body.find("expires_in");
  // Bounded, whatever the provider says: no refresh loop faster than every
  // few seconds, no overflow in the arithmetic on it.
  const long long seconds = expires != body.end() && expires->is_number_integer() ? expires->get<long long>() : 3600;
  out.expires_in = std::chrono::seconds(std::clamp(seconds, 10LL, 366LL * 24 * 3600));
  return out;
}

std::chrono::seconds refresh_after(std::chrono::seconds expires_in) {
  return std::max(std::chrono::seconds(1), expires_in * 2 / 3);
}

}  // namespace harmony::fleet
