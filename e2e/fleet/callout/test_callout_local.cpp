// nats.auth=callout on `local`, deployed by the real harmony: the deploy of
// nats makes the callout's keys and NATS's auth_callout block, the callout
// component runs fleet-callout, and the agents log in with tokens of the
// test identity provider (identity_provider.hpp; Zitadel is not exercised).
// Then the migration of a running fleet from user_password to callout, as
// docs/fleet-callout.md describes it, without an agent locked out; and
// `harmony fleet token`, which turns a device's machine key into the token
// file its agent reads, through the provider's JWT profile grant.

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include <nats/nats.h>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>

#include "callout_server.hpp"
#include "eventually.hpp"
#include "fleet_stack.hpp"
#include "identity_provider.hpp"
#include "skip.hpp"

using namespace harmony;

namespace {

std::string everything(const base::ProcessResult& r) { return r.out + r.err; }

struct CalloutFleet {
  std::string server;
  e2e::FleetStack stack;
  e2e::TestIdentityProvider idp{stack.box};

  explicit CalloutFleet(std::string nats_server) : server(std::move(nats_server)) {
    stack.box.install_program(HARMONY_E2E_FLEET_CALLOUT);
    stack.box.make_dir("tokens", 0700);
    for (const std::string id : {"edge-1", "edge-2", "edge-3"}) stack.box.write("tokens", id + ".token", idp.device(id) + "\n", std::filesystem::perms(0600));
  }

  // `harmony deploy fleet <components>` with the stack's settings, its
  // nats-server and the identity provider, and `extra`.
  base::ProcessResult deploy(std::vector<std::string> args) const {
    // The test's own settings last: the last --set of a key wins.
    std::vector<std::string> argv{"deploy", "fleet"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto first = std::find_if(args.begin(), args.end(), [](const std::string& a) { return a.starts_with("--"); });
    argv.erase(argv.begin() + 2 + (first - args.begin()), argv.end());
    for (const auto& s : stack.settings()) argv.push_back(s);
    for (const std::string& s : {"nats.program=" + server, "callout.issuer_url=" + idp.url(), std::string("callout.audience=fleet-nats")}) {
      argv.push_back("--set");
      argv.push_back(s);
    }
    argv.insert(argv.end(), first, args.end());
    return stack.harmony(argv);
  }
  [[nodiscard]] std::string callout_log() const { return everything(stack.harmony({"fleet", "logs", "callout"})); }
  [[nodiscard]] bool answers(const std::string& id) const { return stack.harmony({"agent", "ping", id}).exit_code == 0; }
};

// A NATS login with a user and password: the error, or empty when admitted.
std::string password_login(std::uint16_t port, const std::string& user, const std::string& password) {
  natsOptions* options = nullptr;
  natsOptions_Create(&options);
  natsOptions_SetURL(options, ("nats://127.0.0.1:" + std::to_string(port)).c_str());
  natsOptions_SetUserInfo(options, user.c_str(), password.c_str());
  natsOptions_SetAllowReconnect(options, false);
  natsOptions_SetTimeout(options, 5000);
  natsConnection* connection = nullptr;
  std::string error;
  if (natsConnection_Connect(&connection, options) != NATS_OK) {
    const char* text = nats_GetLastError(nullptr);
    error = text != nullptr && *text != '\0' ? text : "refused";
  }
  natsConnection_Destroy(connection);
  natsOptions_Destroy(options);
  return error;
}

}  // namespace

TEST_CASE("on local, nats.auth=callout: agents log in with their tokens through fleet-callout, harmony's own users with passwords") {
  const auto server = callout_capable_server();
  if (!server) HARMONY_SKIP("no nats-server >= 2.10 here (e2e/cluster/build-components builds it); Debian's 2.9 has no auth callout");
  CalloutFleet f(*server);
  auto r = f.deploy({"nats", "callout", "agent", "--set", "nats.auth=callout", "--set", "agent.token_dir=" + f.stack.box.path("tokens")});
  INFO(everything(r));
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("callout: ready"));
  // harmony agent logs in as the operator, with its password; the agents
  // came through the callout with their tokens, each as itself.
  CHECK(f.answers("edge-1"));
  CHECK(f.answers("edge-2"));
  const std::string log = f.callout_log();
  INFO(log);
  CHECK_THAT(log, Catch::Contains("as device edge-1") && Catch::Contains("as device edge-2"));
  CHECK_THAT(log, Catch::Contains("refused 'harmony smoke test"));  // the callout's smoke test
  CHECK(log.find(" (password)") == std::string::npos);
  // The agents' configurations name their token files, and no password.
  const std::string config = base::read_file(f.stack.state("components/agent/files/edge-1.yaml"), 1 << 16).value_or("");
  CHECK_THAT(config, Catch::Contains("token_file: " + f.stack.box.path("tokens") + "/edge-1.token"));
  CHECK(config.find("password_file") == std::string::npos);
  // The callout's keys are secrets of NATS's, 0600; NATS's configuration names their public halves.
  for (const std::string name : {"callout.password", "callout-issuer.seed", "callout-xkey.seed"}) {
    struct stat st {};
    REQUIRE(::stat(f.stack.state("credentials/nats/" + name).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  const std::string nats_conf = base::read_file(f.stack.state("components/nats/files/nats.conf"), 1 << 16).value_or("");
  CHECK_THAT(nats_conf, Catch::Contains("auth_callout {") && Catch::Contains("issuer: \"A") && Catch::Contains("xkey: \"X"));
  // An agent's password is no way in: its user is not NATS's any more, and the callout admits no passwords.
  CHECK_FALSE(password_login(f.stack.client_port, "agent-edge-1", f.stack.secret("agent-edge-1.password")).empty());

  auto again = f.deploy({"nats", "callout", "agent", "--set", "nats.auth=callout", "--set", "agent.token_dir=" + f.stack.box.path("tokens")});
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("no change"));

  // A third agent without a token file is refused before anything changes.
  ::unlink(f.stack.box.path("tokens/edge-3.token").c_str());
  const int nats_pid = f.stack.pid_of("nats", "nats-server");
  auto missing = f.deploy({"agent", "--set", "agent.count=3", "--set", "agent.token_dir=" + f.stack.box.path("tokens")});
  CHECK(missing.exit_code == base::exit_status::deploy_failed);
  CHECK_THAT(missing.err, Catch::Contains("agent edge-3 has no token to log in with") && Catch::Contains("edge-3.token"));
  CHECK(f.stack.pid_of("nats", "nats-server") == nats_pid);
  CHECK(f.answers("edge-2"));

  // Without tokens and without admitted passwords, agents have no way in: said before anything changes.
  auto no_way = f.deploy({"agent"});
  CHECK(no_way.exit_code == base::exit_status::invalid_settings);
  CHECK_THAT(no_way.err, Catch::Contains("the agents have no way to log in") && Catch::Contains("agent.token_dir"));
}

TEST_CASE("a running fleet moves from user_password to callout as documented, and no agent is locked out") {
  const auto server = callout_capable_server();
  if (!server) HARMONY_SKIP("no nats-server >= 2.10 here (e2e/cluster/build-components builds it); Debian's 2.9 has no auth callout");
  CalloutFleet f(*server);
  const std::string tokens = "agent.token_dir=" + f.stack.box.path("tokens");
  // Today: generated passwords.
  auto before = f.deploy({"nats", "agent"});
  INFO(everything(before));
  REQUIRE(before.exit_code == 0);
  const int edge1 = f.stack.pid_of("agent", "edge-1");

  // 1. NATS asks the callout, which still admits the agents' passwords: the
  //    agents, not restarted, reconnect with them.
  auto step1 = f.deploy({"nats", "callout", "--set", "nats.auth=callout", "--set", "callout.admit_passwords=true"});
  INFO(everything(step1));
  REQUIRE(step1.exit_code == 0);
  CHECK(f.stack.pid_of("agent", "edge-1") == edge1);
  CHECK(testing::eventually([&] { return f.answers("edge-1") && f.answers("edge-2"); }, std::chrono::seconds(15)));
  CHECK_THAT(f.callout_log(), Catch::Contains("as device edge-1 (password)"));

  // 2. The agents get their tokens.
  auto step2 = f.deploy({"agent", "--set", "nats.auth=callout", "--set", tokens});
  INFO(everything(step2));
  REQUIRE(step2.exit_code == 0);
  CHECK(f.answers("edge-1"));
  CHECK(f.answers("edge-2"));
  const std::string log = f.callout_log();
  CHECK(log.find("as device edge-1", log.rfind("as device edge-1 (password)") + 30) != std::string::npos);

  // 3. Passwords no longer admitted; the agents keep working with tokens.
  auto step3 = f.deploy({"callout"});
  INFO(everything(step3));
  REQUIRE(step3.exit_code == 0);
  CHECK(f.answers("edge-1"));
  CHECK_FALSE(password_login(f.stack.client_port, "agent-edge-1", f.stack.secret("agent-edge-1.password")).empty());

  // Back to user_password works the same way round: the passwords were kept.
  auto back = f.deploy({"nats", "agent"});
  INFO(everything(back));
  CHECK(back.exit_code == 0);
  CHECK(f.answers("edge-1"));
}

TEST_CASE("harmony fleet token makes a device's token file from its machine key and keeps it fresh, and the agent logs in with it") {
  const auto server = callout_capable_server();
  if (!server) HARMONY_SKIP("no nats-server >= 2.10 here (e2e/cluster/build-components builds it); Debian's 2.9 has no auth callout");
  CalloutFleet f(*server);
  auto& box = f.stack.box;
  const std::string key = f.idp.machine_key("edge-1");
  const std::string user = nlohmann::json::parse(key).at("userId").get<std::string>();
  box.make_dir("keys", 0700);
  const std::string key_file = box.write("keys", "edge-1.json", key, std::filesystem::perms(0600));
  const std::string token_file = box.path("tokens/edge-1.token");
  ::unlink(token_file.c_str());
  const std::vector<std::string> fetch{"fleet", "token", "--key", key_file, "--issuer", f.idp.url(), "--project", "fleet-nats",
                                       "--out", token_file};

  auto r = f.stack.harmony(fetch);
  INFO(everything(r));
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("wrote a token for " + user + " to " + token_file + ", valid 1h"));
  const std::string issued = base::read_file(box.path("idp-private/tokens/" + user), 1 << 16).value_or("?");
  CHECK(base::read_file(token_file, 1 << 16).value_or("") == issued + "\n");
  CHECK(everything(r).find(issued) == std::string::npos);  // the token is never printed
  struct stat st {};
  REQUIRE(::stat(token_file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::vector<std::string> as_json = fetch;
  as_json.insert(as_json.end(), {"-o", "json"});
  auto json_run = f.stack.harmony(as_json);
  REQUIRE(json_run.exit_code == 0);
  const auto doc = nlohmann::json::parse(json_run.out);
  CHECK(doc["user"] == user);
  CHECK(doc["out"] == token_file);
  CHECK(doc["expires_in_seconds"] == 3600);
  CHECK(json_run.out.find(issued) == std::string::npos);

  // The agent logs in through the callout with what harmony fleet token wrote.
  auto deployed = f.deploy({"nats", "callout", "agent", "--set", "nats.auth=callout", "--set", "agent.token_dir=" + box.path("tokens")});
  INFO(everything(deployed));
  REQUIRE(deployed.exit_code == 0);
  CHECK(f.answers("edge-1"));
  CHECK_THAT(f.callout_log(), Catch::Contains("as device edge-1"));

  // Refusals keep the file as it was: the agent may still be using that token.
  ::chmod(key_file.c_str(), 0644);
  auto readable = f.stack.harmony(fetch);
  CHECK(readable.exit_code != 0);
  CHECK_THAT(readable.err, Catch::Contains("refusing to use the machine key"));
  ::chmod(key_file.c_str(), 0600);
  auto down = f.stack.harmony({"fleet", "token", "--key", key_file, "--issuer", "http://127.0.0.1:1", "--out", token_file});
  CHECK(down.exit_code == base::exit_status::unreachable);
  CHECK_THAT(down.err, Catch::Contains("cannot reach the identity provider"));
  const std::string other_key = f.idp.machine_key("edge-2");
  f.idp.remove_key(other_key);
  box.write("keys", "removed.json", other_key, std::filesystem::perms(0600));
  auto removed = f.stack.harmony({"fleet", "token", "--key", box.path("keys/removed.json"), "--issuer", f.idp.url(), "--out", token_file});
  CHECK(removed.exit_code == base::exit_status::unauthorized);
  CHECK_THAT(removed.err, Catch::Contains("refused machine key") && Catch::Contains("key not found") && Catch::Contains("make a new key"));
  CHECK(removed.err.find("PRIVATE KEY") == std::string::npos);
  CHECK(base::read_file(token_file, 1 << 16).value_or("") == issued + "\n");
  auto usage = f.stack.harmony({"fleet", "token", "--key", key_file});
  CHECK(usage.exit_code == base::exit_status::usage);
  CHECK_THAT(usage.err, Catch::Contains("needs --key, --issuer and --out"));
  // Refused before any request: the assertion would cross a network in clear.
  auto clear = f.stack.harmony({"fleet", "token", "--key", key_file, "--issuer", "http://auth.example.test", "--out", token_file});
  CHECK(clear.exit_code == base::exit_status::usage);
  CHECK_THAT(clear.err, Catch::Contains("is not an https URL"));

  // --watch fetches again two thirds into each token's life and stops on
  // SIGTERM; the provider's next token reaches the file. A token said to
  // last 3 s is taken to last 10 s, the least harmony fleet token believes.
  f.idp.set_expires_in(3);
  std::vector<std::string> argv{box.path("hbin/harmony")};
  argv.insert(argv.end(), fetch.begin(), fetch.end());
  argv.push_back("--watch");
  e2e::Process watch(box, argv, "token-watch.log", box.environment());
  CHECK(testing::eventually([&] { return watch.log().find("valid 10s; next in 6s") != std::string::npos; }, std::chrono::seconds(10)));
  const std::string fresh = f.idp.token({{"client_id", "device-edge-1"}, {"jti", "the next one"}});
  REQUIRE(fresh != issued);
  f.idp.set_device_token("edge-1", fresh);
  CHECK(testing::eventually([&] { return base::read_file(token_file, 1 << 16).value_or("") == fresh + "\n"; }, std::chrono::seconds(15)));
  INFO(watch.log());
  CHECK(watch.running());
  watch.stop();
  CHECK(f.answers("edge-1"));
}
