#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>

#include <harmony/callout/identity.hpp>
#include <harmony/callout/jwt.hpp>
#include <harmony/callout/service.hpp>
#include <harmony/fleet/roles.hpp>

#include "eventually.hpp"
#include "test_issuer.hpp"

using namespace harmony;
using namespace harmony::callout;
using harmony::callout::testing::TestIssuer;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

long long at(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// What nats-server sends: an authorization request signed by its N key.
struct FakeServer {
  KeyPair key = KeyPair::generate(KeyKind::server);
  KeyPair user = KeyPair::generate(KeyKind::user);  // the connection's nkey
  std::string request(const std::string& token, bool as_password = false, const std::string& login = {},
                      const std::string& name = "agent") const {
    json connect = {{"protocol", 1}, {"name", name}};
    connect[as_password ? "pass" : "auth_token"] = token;
    if (!login.empty()) connect["user"] = login;
    json claims = {{"sub", user.public_key()},
                   {"aud", "nats-authorization-request"},
                   {"exp", at(std::chrono::system_clock::now() + 2s)},
                   {"nats",
                    {{"server_id", {{"id", key.public_key()}, {"name", "nats-0"}}},
                     {"user_nkey", user.public_key()},
                     {"client_info", {{"host", "10.0.0.7"}}},
                     {"connect_opts", connect},
                     {"type", "authorization_request"},
                     {"version", 2}}}};
    return encode_jwt(claims, key);
  }
};

struct Fixture {
  TestIssuer idp{"http://127.0.0.1:1"};
  std::string kid = idp.add_rsa_key();
  int fetches = 0;
  KeyPair account = KeyPair::generate(KeyKind::account);
  // config(), fetching whenever a key is unknown: the tests count fetches.
  Service service{[this] {
                    auto c = config();
                    c.refetch_interval = 0s;
                    return c;
                  }(),
                  [this](const std::string& url) -> base::expected<std::string> {
                    ++fetches;
                    if (url == "http://127.0.0.1:1/.well-known/openid-configuration") return idp.discovery();
                    if (url == "http://127.0.0.1:1/oauth/v2/keys") return idp.jwks();
                    return base::fail(base::make_error("404 " + url));
                  }};
  FakeServer server;

  // A configuration like the service's, for a test to vary, and the
  // identity provider's documents without counting.
  [[nodiscard]] ServiceConfig config() const {
    return ServiceConfig{.issuer = account,
                         .xkey = std::nullopt,
                         .token = {.issuer = "http://127.0.0.1:1", .audience = "fleet-nats"},
                         .identity = {},
                         .account = "FLEET",
                         .user_lifetime = 3600s,
                         .refetch_interval = 30s,
                         .agent_passwords_dir = {}};
  }
  Fetch documents() {
    return [this](const std::string& url) -> base::expected<std::string> {
      return url.ends_with("openid-configuration") ? idp.discovery() : idp.jwks();
    };
  }

  std::string token(json extra, std::string signing_kid = {}) {
    json claims = {{"iss", "http://127.0.0.1:1"}, {"aud", "fleet-nats"}, {"sub", "2718"}, {"exp", at(std::chrono::system_clock::now() + 10min)}};
    for (auto& [k, v] : extra.items()) claims[k] = v;
    return idp.mint(claims, signing_kid.empty() ? kid : signing_kid);
  }

  // The user JWT the response carries, checked as nats-server checks it.
  json user_of(const Service::Answer& answer) {
    REQUIRE(answer.response);
    static constexpr std::array accounts{KeyKind::account};
    auto response = decode_jwt(*answer.response, accounts);
    REQUIRE(response);
    CHECK(response->issuer == account.public_key());
    CHECK(response->claims["sub"] == server.user.public_key());
    CHECK(response->claims["aud"] == server.key.public_key());
    if (!response->claims["nats"].contains("jwt")) return json();
    auto user = decode_jwt(response->claims["nats"]["jwt"].get<std::string>(), accounts);
    REQUIRE(user);
    CHECK(user->claims["sub"] == server.user.public_key());
    CHECK(user->claims["aud"] == "FLEET");
    return user->claims;
  }
  std::string error_of(const Service::Answer& answer) {
    REQUIRE(answer.response);
    static constexpr std::array accounts{KeyKind::account};
    return decode_jwt(*answer.response, accounts).value().claims["nats"].value("error", "");
  }
};

}  // namespace

TEST_CASE("a device's token admits it with exactly its agent's permissions, as the accounts file gives them") {
  Fixture f;
  auto answer = f.service.handle(f.server.request(f.token({{"client_id", "device-edge-1"}})), "");
  CHECK(answer.admitted);
  CHECK(answer.log == "admitted 'agent' from 10.0.0.7 as device edge-1");
  json user = f.user_of(answer);
  const fleet::Permissions expected = fleet::agent_permissions("edge-1");
  CHECK(user["nats"]["pub"]["allow"] == json(expected.publish));
  CHECK(user["nats"]["sub"]["allow"] == json(expected.subscribe));
  CHECK(user["nats"].contains("resp"));
  // Its user JWT ends no later than the token.
  CHECK(user["exp"].get<long long>() <= at(std::chrono::system_clock::now() + 10min) + 1);
  // The token may come as the password too.
  CHECK(f.service.handle(f.server.request(f.token({{"client_id", "device-edge-1"}}), true), "").admitted);
}

TEST_CASE("the fleet-ops role gets the fleet operator's permissions, other identities are refused, saying why") {
  Fixture f;
  auto ops = f.service.handle(f.server.request(f.token({{"urn:zitadel:iam:org:project:roles", {{"fleet-ops", {{"1", "x"}}}}}})), "");
  CHECK(ops.admitted);
  CHECK(f.user_of(ops)["nats"]["pub"]["allow"] == json(fleet::fleet_ops_permissions().publish));

  auto nobody = f.service.handle(f.server.request(f.token({{"client_id", "someone"}})), "");
  CHECK_FALSE(nobody.admitted);
  CHECK_THAT(f.error_of(nobody), Catch::Contains("neither a device"));
  auto both = f.service.handle(
      f.server.request(f.token({{"client_id", "device-edge-1"}, {"urn:zitadel:iam:org:project:roles", json::array({"fleet-ops"})}})), "");
  CHECK_THAT(f.error_of(both), Catch::Contains("also holds the fleet-ops role"));
  auto bad_id = f.service.handle(f.server.request(f.token({{"client_id", "device-Edge_1!"}})), "");
  CHECK_THAT(f.error_of(bad_id), Catch::Contains("names no valid device id"));
}

TEST_CASE("expired, foreign, misdirected and unsigned tokens are refused, and the log never holds the token") {
  Fixture f;
  const std::string expired = f.token({{"client_id", "device-edge-1"}, {"exp", at(std::chrono::system_clock::now() - 10min)}});
  auto a = f.service.handle(f.server.request(expired), "");
  CHECK_FALSE(a.admitted);
  CHECK_THAT(f.error_of(a), Catch::StartsWith("expired"));
  CHECK(a.log.find(expired.substr(expired.size() - 30)) == std::string::npos);
  CHECK_THAT(f.error_of(f.service.handle(f.server.request(f.token({{"client_id", "device-edge-1"}, {"aud", "other"}})), "")),
             Catch::StartsWith("wrong audience"));
  CHECK_THAT(f.error_of(f.service.handle(f.server.request(f.token({{"client_id", "device-edge-1"}, {"iss", "https://evil"}})), "")),
             Catch::StartsWith("wrong issuer"));
  CHECK_THAT(f.error_of(f.service.handle(f.server.request(""), "")), Catch::Contains("no token"));
  // A request not signed by the server it names gets no answer at all.
  std::string forged = f.server.request(f.token({{"client_id", "device-edge-1"}}));
  forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
  auto unread = f.service.handle(forged, "");
  CHECK_FALSE(unread.response);
  CHECK_THAT(unread.log, Catch::StartsWith("unreadable request"));
}

TEST_CASE("a rotated key is fetched when a token names it, an unknown key is refused") {
  Fixture f;
  CHECK(f.service.handle(f.server.request(f.token({{"client_id", "device-edge-1"}})), "").admitted);
  const int before = f.fetches;
  const std::string next = f.idp.add_ec_key();
  f.idp.remove_key(f.kid);
  CHECK(f.service.handle(f.server.request(f.token({{"client_id", "device-edge-1"}}, next)), "").admitted);
  CHECK(f.fetches == before + 2);  // discovery and JWKS, once
  TestIssuer stranger("http://127.0.0.1:1");
  const std::string theirs = stranger.add_rsa_key();
  const std::string foreign =
      stranger.mint({{"iss", "http://127.0.0.1:1"}, {"aud", "fleet-nats"}, {"client_id", "device-edge-1"},
                     {"exp", at(std::chrono::system_clock::now() + 10min)}},
                    theirs);
  CHECK_THAT(f.error_of(f.service.handle(f.server.request(foreign), "")), Catch::StartsWith("unknown signing key"));
}

TEST_CASE("a key the provider removed stops verifying once the cached keys are older than their maximum age") {
  Fixture f;
  auto service_with = [&](std::chrono::seconds max_age) {
    ServiceConfig config = f.config();
    config.refetch_interval = 0s;
    config.keys_max_age = max_age;
    return Service(config, f.documents());
  };
  Service fresh = service_with(0s), cached = service_with(600s);
  const std::string token = f.token({{"client_id", "device-edge-1"}});
  CHECK(fresh.handle(f.server.request(token), "").admitted);
  CHECK(cached.handle(f.server.request(token), "").admitted);
  f.idp.add_rsa_key();
  f.idp.remove_key(f.kid);  // e.g. compromised
  // Within the maximum age the cache still holds it; past it, the keys are
  // fetched again in the background and it is gone.
  CHECK(cached.handle(f.server.request(token), "").admitted);
  Service::Answer refused;
  CHECK(harmony::testing::eventually([&] { return !(refused = fresh.handle(f.server.request(token), "")).admitted; }, 5s));
  CHECK_THAT(f.error_of(refused), Catch::StartsWith("unknown signing key"));
  CHECK(cached.handle(f.server.request(token), "").admitted);
}

TEST_CASE("with an xkey, sealed requests get sealed answers") {
  Fixture f;
  const XKey callout_xkey = XKey::generate(), server_xkey = XKey::generate();
  ServiceConfig config = f.config();
  config.xkey = callout_xkey;
  Service sealed(config, f.documents());
  auto box = server_xkey.seal(f.server.request(f.token({{"client_id", "device-edge-1"}})), callout_xkey.public_key());
  REQUIRE(box);
  auto answer = sealed.handle(*box, server_xkey.public_key());
  CHECK(answer.admitted);
  REQUIRE(answer.response);
  auto opened = server_xkey.open(*answer.response, callout_xkey.public_key());
  REQUIRE(opened);
  CHECK(opened->substr(0, 3) == "eyJ");
}

TEST_CASE("while a fleet migrates, an agent may log in with its generated password, and only as itself") {
  Fixture f;
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("callout-passwords-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "agent-edge-1.password").string();
  { std::ofstream(file) << "s3cretpassword0123456789abcdefgh\n"; }
  ::chmod(file.c_str(), 0600);
  ServiceConfig config = f.config();
  config.agent_passwords_dir = dir.string();
  Service migrating(config, f.documents());
  auto answer = migrating.handle(f.server.request("s3cretpassword0123456789abcdefgh", true, "agent-edge-1"), "");
  CHECK(answer.admitted);
  CHECK(answer.log == "admitted 'agent' from 10.0.0.7 as device edge-1 (password)");
  CHECK(f.user_of(answer)["nats"]["pub"]["allow"] == json(fleet::agent_permissions("edge-1").publish));
  // Its password is not another agent's, nor a wrong one.
  CHECK_THAT(f.error_of(migrating.handle(f.server.request("s3cretpassword0123456789abcdefgh", true, "agent-edge-2"), "")),
             Catch::Contains("edge-2 has no password login"));
  auto wrong = migrating.handle(f.server.request("s3cretpassword0123456789abcdefgX", true, "agent-edge-1"), "");
  CHECK_THAT(f.error_of(wrong), Catch::Contains("wrong password for agent edge-1"));
  CHECK(wrong.log.find("s3cret") == std::string::npos);
  CHECK_THAT(f.error_of(migrating.handle(f.server.request("x", true, "agent-../../etc/passwd"), "")),
             Catch::Contains("is no agent's user"));
  // Tokens still work beside passwords; without the directory, passwords do not.
  CHECK(migrating.handle(f.server.request(f.token({{"client_id", "device-edge-2"}})), "").admitted);
  CHECK_FALSE(f.service.handle(f.server.request("s3cretpassword0123456789abcdefgh", true, "agent-edge-1"), "").admitted);
  std::filesystem::remove_all(dir);
}

TEST_CASE("hostile text in a token's header or a login's names is refused or logged as printable ASCII, never thrown") {
  Fixture f;
  auto plain_ascii = [](const std::string& text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
  };
  auto refused_cleanly = [&](const Service::Answer& answer, const std::string& why) {
    CHECK_FALSE(answer.admitted);
    CHECK(plain_ascii(answer.log));
    CHECK_THAT(f.error_of(answer), Catch::Contains(why));
  };
  // A multi-byte character cut by the reason's length limit: the answer's
  // JSON must still be valid UTF-8.
  const std::string e_acute = "\xc3\xa9";
  auto header_token = [](const json& header) { return base64url_encode(header.dump()) + ".e30.AA"; };
  Service::Answer answer;
  REQUIRE_NOTHROW(answer = f.service.handle(f.server.request(header_token({{"alg", std::string(15, 'A') + e_acute}})), ""));
  refused_cleanly(answer, "unsupported algorithm");
  REQUIRE_NOTHROW(answer = f.service.handle(
                      f.server.request(header_token({{"alg", "RS256"}, {"kid", std::string(63, 'a') + e_acute}})), ""));
  refused_cleanly(answer, "unknown signing key");
  // A key id or a client name cannot forge a line in the callout's log.
  const std::string forged = "x\n2026-12-01T00:00:00Z info admitted 'x' from 10.0.0.9 as fleet-ops alice";
  REQUIRE_NOTHROW(answer = f.service.handle(f.server.request(header_token({{"alg", "RS256"}, {"kid", forged}})), ""));
  refused_cleanly(answer, "unknown signing key");
  REQUIRE_NOTHROW(answer = f.service.handle(f.server.request("", false, {}, forged), ""));
  refused_cleanly(answer, "no token");
  CHECK_THAT(answer.log, Catch::StartsWith("refused 'x?2026"));
  // A migrating agent's user name, cut inside a character.
  ServiceConfig config = f.config();
  config.agent_passwords_dir = "/nonexistent";
  Service migrating(config, f.documents());
  REQUIRE_NOTHROW(answer = migrating.handle(f.server.request("pw", true, "agent-" + std::string(73, 'x') + e_acute), ""));
  refused_cleanly(answer, "is no agent's user");
  // A NATS JWT whose typ is not a string.
  REQUIRE_NOTHROW(answer = f.service.handle("eyJ0eXAiOjF9.e30.AAAA", ""));
  CHECK_FALSE(answer.admitted);
  CHECK_FALSE(answer.response);
}
