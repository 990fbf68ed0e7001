// nats.auth=callout on Kubernetes: the deploy of nats makes the callout's
// keys and NATS's auth_callout block, fleet-callout runs in a Pod (its image
// made from this build), and agents in Pods log in with tokens of the test
// identity provider. The provider serves HTTPS on the test bridge's own
// address, which pods reach, with a certificate from a CA the test makes
// (callout.ca_file). Zitadel itself is not exercised (identity_provider.hpp).

#include <catch2/catch.hpp>

#include <filesystem>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>

#include "cluster.hpp"
#include "eventually.hpp"
#include "fleet_stack.hpp"
#include "identity_provider.hpp"

using namespace harmony;
using namespace harmony::e2e;
using nlohmann::json;

namespace {

std::string out_and_err(const base::ProcessResult& r) { return r.out + r.err; }

// The callout admitted device `id` by its token (not its password).
bool admitted_by_token(const std::string& log, const std::string& id) {
  const std::string what = "as device " + id;
  for (auto at = log.find(what); at != std::string::npos; at = log.find(what, at + 1))
    if (log.compare(at + what.size(), 11, " (password)") != 0) return true;
  return false;
}

std::string callout_log(const FleetStack& s) {
  auto r = kubectl({"logs", "-n", s.ns, "deployment/fleet-callout", "--tail", "200"});
  return r.out + r.err;
}

}  // namespace

TEST_CASE("nats.auth=callout on Kubernetes: fleet-callout in a Pod admits agents in Pods by their tokens, and a running fleet moves to it") {
  FleetStack s("callout");
  TestIdentityProvider idp(s.box, {test_cluster().node_ip, true});
  s.box.make_dir("tokens", 0700);
  for (const std::string id : {"edge-1", "edge-2"}) s.box.write("tokens", id + ".token", idp.device(id) + "\n", std::filesystem::perms(0600));
  const std::vector<std::string> callout{"callout.image=" + callout_test_image(), "callout.issuer_url=" + idp.url(),
                                         "callout.audience=fleet-nats", "callout.ca_file=" + idp.ca_file()};
  auto with = [&](std::vector<std::string> sets) {
    sets.insert(sets.end(), callout.begin(), callout.end());
    return sets;
  };

  // Today's fleet: passwords.
  auto before = s.deploy({"agent.count=2"});
  INFO(out_and_err(before));
  REQUIRE(before.exit_code == 0);

  // 1. NATS asks the callout, which still admits the agents' passwords.
  auto step1 = s.deploy(with({"agent.count=2", "nats.auth=callout", "callout.admit_passwords=true"}), {"nats", "callout"});
  INFO(out_and_err(step1));
  REQUIRE(step1.exit_code == 0);
  CHECK(testing::eventually([&] { return s.plain({"agent", "ping", "edge-1"}).exit_code == 0; }, std::chrono::seconds(60)));
  CHECK(testing::eventually([&] { return s.plain({"agent", "ping", "edge-2"}).exit_code == 0; }, std::chrono::seconds(30)));
  CHECK_THAT(callout_log(s), Catch::Contains("as device edge-1 (password)") && Catch::Contains("refused 'harmony smoke test"));

  // 2. The agents get their tokens.
  auto step2 = s.deploy(with({"agent.count=2", "nats.auth=callout", "agent.token_dir=" + s.box.path("tokens")}), {"agent"});
  INFO(out_and_err(step2));
  REQUIRE(step2.exit_code == 0);
  CHECK(s.plain({"agent", "ping", "edge-1"}).exit_code == 0);
  CHECK(s.plain({"agent", "ping", "edge-2"}).exit_code == 0);
  CHECK(testing::eventually([&] {
    const std::string log = callout_log(s);
    return admitted_by_token(log, "edge-1") && admitted_by_token(log, "edge-2");
  }, std::chrono::seconds(20)));
  const json secret = s.get("secret/fleet-agent-edge-1");
  CHECK(secret["data"].contains("token"));
  CHECK_FALSE(secret["data"].contains("password"));

  // 3. Passwords no longer admitted: the agents keep answering, by their tokens.
  auto step3 = s.deploy(with({"nats.auth=callout"}), {"callout"});
  INFO(out_and_err(step3));
  REQUIRE(step3.exit_code == 0);
  CHECK(testing::eventually([&] { return s.plain({"agent", "ping", "edge-1"}).exit_code == 0; }, std::chrono::seconds(30)));
  // An agent pod started now logs in through the new callout by its token.
  REQUIRE(kubectl({"delete", "pod", "-n", s.ns, "-l", "harmony.io/device-id=edge-2", "--wait=false"}).exit_code == 0);
  CHECK(testing::eventually([&] { return admitted_by_token(callout_log(s), "edge-2"); }, std::chrono::seconds(60)));
  CHECK(testing::eventually([&] { return s.plain({"agent", "ping", "edge-2"}).exit_code == 0; }, std::chrono::seconds(30)));
  CHECK(s.get("secret/fleet-callout")["data"].size() == 4);  // its password, two seeds, the CA: no agent's password

  // A redeploy of everything changes nothing.
  auto again = s.deploy(with({"agent.count=2", "nats.auth=callout", "agent.token_dir=" + s.box.path("tokens")}),
                        {"nats", "callout", "agent"});
  INFO(out_and_err(again));
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("no change"));
}

TEST_CASE("deploy fleet server with callout.issuer_url: NATS, the operator and the callout, Zitadel left out, saying why") {
  FleetStack s("server");
  TestIdentityProvider idp(s.box, {test_cluster().node_ip, true});
  s.box.make_dir("tokens", 0700);
  s.box.write("tokens", "edge-1.token", idp.device("edge-1") + "\n", std::filesystem::perms(0600));
  const std::vector<std::string> sets{"nats.auth=callout", "operator.image=" + operator_test_image(),
                                      "callout.image=" + callout_test_image(), "callout.issuer_url=" + idp.url(),
                                      "callout.audience=fleet-nats", "callout.ca_file=" + idp.ca_file(),
                                      "agent.token_dir=" + s.box.path("tokens")};
  auto server = s.deploy(sets, {"server", "agent"});
  INFO(out_and_err(server));
  REQUIRE(server.exit_code == 0);
  CHECK_THAT(server.out, Catch::Contains("zitadel: skipped: callout.issuer_url is set") && Catch::Contains("nats: ready") &&
                             Catch::Contains("operator: ready") && Catch::Contains("callout: ready") && Catch::Contains("agent: ready"));
  CHECK(s.plain({"agent", "ping", "edge-1"}).exit_code == 0);
  CHECK(testing::eventually([&] { return admitted_by_token(callout_log(s), "edge-1"); }, std::chrono::seconds(20)));

}
