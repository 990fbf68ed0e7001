// fleet-callout, the real service, between a real nats-server >= 2.10 and an
// identity provider: the test issuer (callout/tests/test_issuer.*) writes its
// discovery document and JWKS into a directory that Python's http.server
// serves on loopback, and mints tokens. Zitadel itself is not exercised
// here: its build needs code generation and a web console build these
// machines cannot do; the test issuer speaks the same discovery, JWKS and
// token shapes.

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unistd.h>

#include <nats/nats.h>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/process.hpp>
#include <harmony/callout/nkeys.hpp>
#include <harmony/testing.hpp>

#include <algorithm>

#include <harmony/base/text.hpp>

#include "eventually.hpp"
#include "sandbox.hpp"
#include "callout_server.hpp"
#include "nats.hpp"
#include "skip.hpp"
#include "test_issuer.hpp"
#include "identity_provider.hpp"

using namespace harmony;
using namespace std::chrono_literals;
using nlohmann::json;
using harmony::callout::testing::TestIssuer;

namespace {

long long at(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}


struct Login {
  natsConnection* connection = nullptr;
  std::string error;
  AsyncErrors async;
  ~Login() { natsConnection_Destroy(connection); }
};

std::unique_ptr<Login> login(const std::string& url, const std::string& token) {
  auto out = std::make_unique<Login>();
  natsOptions* options = nullptr;
  natsOptions_Create(&options);
  natsOptions_SetURL(options, url.c_str());
  natsOptions_SetToken(options, token.c_str());
  natsOptions_SetAllowReconnect(options, false);
  natsOptions_SetTimeout(options, 5000);
  natsOptions_SetErrorHandler(options, AsyncErrors::handler, &out->async);
  if (natsConnection_Connect(&out->connection, options) != NATS_OK) {
    out->connection = nullptr;
    const char* text = nats_GetLastError(nullptr);
    out->error = text != nullptr ? text : "refused";
  }
  natsOptions_Destroy(options);
  return out;
}

struct Stack {
  testing::Sandbox box{"callout-service"};
  e2e::TestIdentityProvider idp{box};
  std::unique_ptr<e2e::NatsServer> nats;
  std::unique_ptr<e2e::Process> callout;

  void publish_keys() { idp.publish_keys(); }

  Stack(const std::string& nats_server) {
    const callout::KeyPair account = callout::KeyPair::generate(callout::KeyKind::account);
    box.write("callout", "issuer.seed", account.seed() + "\n", 0600);
    box.write("callout", "nats.password", "callout-secret\n", 0600);
    e2e::NatsServer::Options options{.jetstream = false,
                                     .users = {},
                                     .extra = "accounts {\n"
                                              "  AUTH { users: [ { user: callout, password: callout-secret } ] }\n"
                                              "  FLEET { }\n"
                                              "  SYS { }\n"
                                              "}\n"
                                              "system_account: SYS\n"
                                              "authorization { auth_callout { issuer: " + account.public_key() +
                                              ", users: [ callout ], account: AUTH } }\n",
                                     .program = nats_server};
    nats = std::make_unique<e2e::NatsServer>(box, options);
    nats->start();
    start_callout();
  }

  void start_callout() {
    // The log is appended to: look only at what this start writes.
    const std::size_t before = base::read_file(box.path("callout.log"), 1 << 22).value_or("").size();
    callout = std::make_unique<e2e::Process>(
        box,
        std::vector<std::string>{HARMONY_E2E_FLEET_CALLOUT, "--nats-urls", nats->url(), "--nats-password-file",
                                 box.path("callout/nats.password"), "--issuer-seed-file", box.path("callout/issuer.seed"),
                                 "--oidc-issuer", idp.url(), "--oidc-audience", "fleet-nats", "--keys-refetch-interval", "1s"},
        "callout.log");
    REQUIRE(testing::eventually([&] { return callout->log().find("answering authorization requests", before) != std::string::npos; }));
  }

  std::string token(json extra, const std::string& signing_kid = {}) { return idp.token(std::move(extra), signing_kid); }
  std::string device(const std::string& id) { return idp.device(id); }
  std::string ops() { return idp.ops(); }
};

}  // namespace

TEST_CASE("fleet-callout admits a device's token with only its own subjects, and an operator's with the fleet's") {
  const auto server = callout_capable_server();
  if (!server) HARMONY_SKIP("no nats-server >= 2.10 here (e2e/cluster/build-components builds it); Debian's 2.9 has no auth callout");
  Stack s(*server);
  INFO(s.callout->log());
  auto ops = login(s.nats->url(), s.ops());
  REQUIRE(ops->connection != nullptr);
  natsSubscription* heartbeats = nullptr;
  REQUIRE(natsConnection_SubscribeSync(&heartbeats, ops->connection, "heartbeat.*") == NATS_OK);
  REQUIRE(natsConnection_Flush(ops->connection) == NATS_OK);

  auto a = login(s.nats->url(), s.device("edge-1"));
  INFO(a->error);
  REQUIRE(a->connection != nullptr);
  REQUIRE(natsConnection_PublishString(a->connection, "heartbeat.edge-1", "alive") == NATS_OK);
  natsMsg* got = nullptr;
  REQUIRE(natsSubscription_NextMsg(&got, heartbeats, 5000) == NATS_OK);
  CHECK(std::string(natsMsg_GetSubject(got)) == "heartbeat.edge-1");
  natsMsg_Destroy(got);
  // Device edge-1 cannot speak for edge-2, nor listen to its commands.
  natsConnection_PublishString(a->connection, "heartbeat.edge-2", "forged");
  natsConnection_Flush(a->connection);
  CHECK(testing::eventually([&] { return a->async.last().find("Permissions Violation") != std::string::npos; }));
  CHECK(natsSubscription_NextMsg(&got, heartbeats, 500) == NATS_TIMEOUT);
  natsSubscription* theirs = nullptr;
  natsConnection_SubscribeSync(&theirs, a->connection, "device-commands.edge-2.>");
  natsConnection_Flush(a->connection);
  CHECK(testing::eventually([&] { return a->async.last().find("Subscription to \"device-commands.edge-2.>\"") != std::string::npos; }));
  natsSubscription_Destroy(theirs);
  natsSubscription_Destroy(heartbeats);
  CHECK_THAT(s.callout->log(), Catch::Contains("as device edge-1") && Catch::Contains("as fleet-ops 2718"));
}

TEST_CASE("fleet-callout refuses expired, misdirected, foreign and unknown-key tokens, follows a key rotation, and fails closed when down") {
  const auto server = callout_capable_server();
  if (!server) HARMONY_SKIP("no nats-server >= 2.10 here (e2e/cluster/build-components builds it); Debian's 2.9 has no auth callout");
  Stack s(*server);
  INFO(s.callout->log());
  const std::string expired = s.token({{"client_id", "device-edge-1"}, {"exp", at(std::chrono::system_clock::now() - 10min)}});
  CHECK(login(s.nats->url(), expired)->connection == nullptr);
  CHECK(login(s.nats->url(), s.token({{"client_id", "device-edge-1"}, {"aud", "another-app"}}))->connection == nullptr);
  CHECK(login(s.nats->url(), s.token({{"client_id", "device-edge-1"}, {"iss", "https://elsewhere.test"}}))->connection == nullptr);
  TestIssuer stranger(s.idp.url());
  const std::string foreign_kid = stranger.add_ec_key();
  CHECK(login(s.nats->url(), stranger.mint({{"iss", s.idp.url()}, {"aud", "fleet-nats"}, {"client_id", "device-edge-1"},
                                            {"exp", at(std::chrono::system_clock::now() + 10min)}},
                                           foreign_kid))
            ->connection == nullptr);
  CHECK(login(s.nats->url(), "not a token at all")->connection == nullptr);
  const std::string log = s.callout->log();
  CHECK_THAT(log, Catch::Contains("expired") && Catch::Contains("wrong audience") && Catch::Contains("wrong issuer") &&
                      Catch::Contains("unknown signing key") && Catch::Contains("malformed"));
  CHECK(log.find(expired.substr(expired.size() - 40)) == std::string::npos);  // no token in the log

  // The provider rotates its key: a token of the new key logs in (the
  // callout fetches the keys again), one of the old key no longer does.
  const std::string old_token = s.device("edge-1");
  const std::string next = s.idp.issuer->add_ec_key();
  s.idp.issuer->remove_key(s.idp.kid);
  s.idp.kid = next;
  s.publish_keys();
  std::this_thread::sleep_for(1100ms);  // past --keys-refetch-interval
  auto rotated = login(s.nats->url(), s.token({{"client_id", "device-edge-1"}}, next));
  INFO(rotated->error);
  CHECK(rotated->connection != nullptr);
  CHECK(login(s.nats->url(), old_token)->connection == nullptr);

  // The callout stops: new logins fail, with NATS's authorization error;
  // connections already in keep working.
  auto before = login(s.nats->url(), s.ops());
  REQUIRE(before->connection != nullptr);
  s.callout->stop();
  auto during = login(s.nats->url(), s.device("edge-1"));
  CHECK(during->connection == nullptr);
  CHECK_THAT(during->error, Catch::Contains("Authorization") || Catch::Contains("authorization"));
  natsSubscription* sub = nullptr;
  REQUIRE(natsConnection_SubscribeSync(&sub, before->connection, "heartbeat.*") == NATS_OK);
  REQUIRE(natsConnection_Flush(before->connection) == NATS_OK);
  CHECK(natsConnection_Status(before->connection) == NATS_CONN_STATUS_CONNECTED);
  natsSubscription_Destroy(sub);
  // And back: logins work again.
  s.start_callout();
  auto after = login(s.nats->url(), s.device("edge-1"));
  INFO(after->error);
  CHECK(after->connection != nullptr);
}

TEST_CASE("fleet-callout fetches keys over plain http only from loopback or a Service of its cluster, and says so before it starts") {
  testing::Sandbox box("callout-fetch-url");
  box.path_dirs = {"/usr/bin", "/bin"};
  box.make_dir("keys", 0700);
  box.write("keys", "issuer.seed", callout::KeyPair::generate(callout::KeyKind::account).seed() + "\n", 0600);
  // A Service's name outside a pod (no KUBERNETES_SERVICE_HOST here) is refused too: DNS search domains would send it anywhere.
  for (const char* url : {"http://zitadel.example.org:8080", "http://10.0.0.7:8080", "http://zitadel.fleet.svc@evil.example/",
                          "ftp://zitadel.fleet.svc/", "http://zitadel.fleet.svc:8080"}) {
    auto r = box.run({HARMONY_E2E_FLEET_CALLOUT, "--issuer-seed-file", box.path("keys/issuer.seed"), "--oidc-issuer",
                      "https://id.example.org", "--oidc-audience", "fleet", "--oidc-fetch-url", url, "--nats-urls",
                      "nats://127.0.0.1:1"});
    INFO(url << ": " << r.err);
    CHECK(r.exit_code == base::exit_status::invalid_settings);
    CHECK_THAT(r.err, Catch::Contains("--oidc-fetch-url") && Catch::Contains("is refused"));
  }
  // An issuer that is not a URL has no host to send.
  auto r = box.run({HARMONY_E2E_FLEET_CALLOUT, "--issuer-seed-file", box.path("keys/issuer.seed"), "--oidc-issuer", "id.example.org",
                    "--oidc-audience", "fleet", "--oidc-fetch-url", "https://keys.example.org", "--nats-urls", "nats://127.0.0.1:1"});
  CHECK(r.exit_code == base::exit_status::invalid_settings);
  CHECK_THAT(r.err, Catch::Contains("--oidc-issuer 'id.example.org' is not a URL"));
}

TEST_CASE("fleet-callout is a lean runtime: libnats, libsodium, OpenSSL and the base, never the SDK or CLI11") {
  const auto needed = e2e::needed_libraries(HARMONY_E2E_FLEET_CALLOUT);
  CHECK_FALSE(needed.empty());
  // libcurl is opened when the provider's keys are first fetched (ADR 0007).
  const std::vector<std::string> allowed{"libnats.so", "libsodium.so", "libyaml-cpp.so", "libssl.so", "libcrypto.so",
                                         "libstdc++.so", "libm.so", "libgcc_s.so", "libc.so", "ld-linux"};
  for (const auto& lib : needed) {
    INFO("fleet-callout needs " << lib);
    CHECK(std::any_of(allowed.begin(), allowed.end(), [&](const std::string& a) { return lib.starts_with(a); }));
  }
  testing::Sandbox box("callout-symbols");
  box.path_dirs = {"/usr/bin", "/bin"};
  auto symbols = box.run({"nm", "--defined-only", "--demangle", HARMONY_E2E_FLEET_CALLOUT});
  REQUIRE(symbols.ok());
  CHECK(symbols.out.find("harmony::callout::Service::handle(") != std::string::npos);  // nm sees symbols at all
  CHECK(symbols.out.find("CLI::") == std::string::npos);
  for (const auto& line : base::split_lines(symbols.out)) {
    const auto at = line.find("harmony::");
    if (at == std::string::npos) continue;
    INFO(line);
    // The base, the HTTP client, the callout, the fleet's roles and the
    // wire contract they name; nothing of the SDK (harmony::Plugin, scores,
    // topologies).
    const std::string_view name = std::string_view(line).substr(at);
    CHECK((name.starts_with("harmony::base::") || name.starts_with("harmony::kube::") || name.starts_with("harmony::callout::") ||
           name.starts_with("harmony::fleet::contract::") || name.starts_with("harmony::fleet::agent_permissions") ||
           name.starts_with("harmony::fleet::controller_permissions") || name.starts_with("harmony::fleet::callout_permissions") || name.starts_with("harmony::fleet::fleet_ops_permissions") ||
           name.starts_with("harmony::agent::") || name.starts_with("harmony::version")));
  }
}

TEST_CASE("a fleet-agent logs in with a token file through fleet-callout and answers, and a token for one device cannot serve another") {
  const auto server = callout_capable_server();
  if (!server) HARMONY_SKIP("no nats-server >= 2.10 here (e2e/cluster/build-components builds it); Debian's 2.9 has no auth callout");
  Stack s(*server);
  auto agent = [&](const std::string& id, const std::string& token) {
    s.box.write("agents", id + ".token", token + "\n", 0600);
    s.box.write("agents", id + ".yaml",
                "device_id: " + id + "\nnats:\n  urls: [" + s.nats->url() + "]\n  token_file: " + s.box.path("agents/" + id + ".token") +
                    "\nworkloads:\n  enabled: false\n",
                0644);
    return std::make_unique<e2e::Process>(s.box, std::vector<std::string>{HARMONY_E2E_FLEET_AGENT, "--config", s.box.path("agents/" + id + ".yaml")},
                                     "agents/" + id + ".log");
  };
  auto ops = login(s.nats->url(), s.ops());
  REQUIRE(ops->connection != nullptr);
  auto ping = [&](const std::string& id) {
    natsMsg* reply = nullptr;
    const bool answered =
        natsConnection_RequestString(&reply, ops->connection, ("device-commands." + id + ".ping").c_str(), "", 2000) == NATS_OK;
    const std::string body = answered ? std::string(natsMsg_GetData(reply), static_cast<std::size_t>(natsMsg_GetDataLength(reply))) : "";
    natsMsg_Destroy(reply);
    return body;
  };
  auto edge1 = agent("edge-1", s.device("edge-1"));
  INFO(edge1->log());
  CHECK(testing::eventually([&] { return ping("edge-1").find("\"edge-1\"") != std::string::npos; }, 20s));
  CHECK_THAT(s.callout->log(), Catch::Contains("admitted 'fleet-agent edge-1'"));
  CHECK(edge1->log().find(s.device("edge-1").substr(0, 40)) == std::string::npos);  // the token is not logged

  // harmony agent, as a member of fleet-ops, with a token file.
  s.box.write("ops", "token", s.ops() + "\n", 0600);
  auto pinged = s.box.run({HARMONY_E2E_HARMONY_AGENT, "ping", "edge-1", "--server", s.nats->url(), "--token-file", s.box.path("ops/token")});
  INFO(pinged.err);
  CHECK(pinged.exit_code == 0);
  CHECK_THAT(pinged.out, Catch::Contains("edge-1"));
  s.box.write("ops", "expired", s.token({{"client_id", "device-edge-1"}, {"exp", at(std::chrono::system_clock::now() - 1h)}}) + "\n", 0600);
  auto refused = s.box.run({HARMONY_E2E_HARMONY_AGENT, "ping", "edge-1", "--server", s.nats->url(), "--token-file", s.box.path("ops/expired")});
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.err, Catch::Contains("refused the token") && Catch::Contains("fetch a fresh one"));

  // edge-2 started with edge-1's token logs in as edge-1, so NATS refuses
  // it edge-2's commands: it never answers as edge-2.
  auto impostor = agent("edge-2", s.device("edge-1"));
  CHECK(testing::eventually([&] { return impostor->log().find("Permissions Violation") != std::string::npos; }, 20s));
  CHECK(ping("edge-2").empty());
}
