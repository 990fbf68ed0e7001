// ZitadelScore on the test cluster, and the fleet logging in through it.
//
// Zitadel itself is NOT exercised: its images and chart repository cannot be
// reached from these machines. In their place run e2e/fleet/zitadel:
// - a stand-in chart named zitadel at the pinned version 9.34.0, packaged
//   and served from a loopback chart repository, whose Deployment takes the
//   values harmony sets (the master key's Secret, the database's host and
//   passwords, the external domain) as Zitadel's chart does;
// - a stand-in server (Go, standard library only) in that Deployment's pod,
//   answering the management API calls, the discovery document, the JWKS
//   and the JWT profile grant with the shapes Zitadel documents, and
//   refusing as Zitadel does (a foreign Host, a missing token, unknown
//   fields);
// - the same program as the bundled Postgres (it listens on 5432; Zitadel's
//   stand-in waits until it can connect).
// Everything else is real: harmony, helm, the cluster, the port-forward,
// NATS, fleet-callout in its pod fetching the keys through Zitadel's
// Service, fleet-agents in pods logging in with the tokens
// `harmony fleet token` got with the keys ZitadelScore made.

#include <catch2/catch.hpp>

#include <filesystem>
#include <future>
#include <map>
#include <sys/stat.h>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/text.hpp>

#include "cluster.hpp"
#include "eventually.hpp"
#include "fleet_stack.hpp"
#include "temp_dir.hpp"

using namespace harmony;
using namespace harmony::e2e;
using nlohmann::json;

namespace {

std::string out_and_err(const base::ProcessResult& r) { return r.out + r.err; }

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

std::string decoded(const json& secret, const std::string& key) {
  REQUIRE(secret["data"].contains(key));
  auto text = base::base64_decode(secret["data"][key].get<std::string>());
  REQUIRE(text);
  return *text;
}

}  // namespace

TEST_CASE("deploy fleet server without an issuer: Zitadel from its pinned chart (a stand-in), the fleet's identities made "
          "through a port-forward, and agents logging in with tokens from the keys it made") {
  std::puts("Zitadel itself is not exercised here: a stand-in chart and server (e2e/fleet/zitadel) take its place.");
  FleetStack s("zitadel");
  testing::TempDir repo_dir;
  LoopbackChartRepository repo({HARMONY_E2E_SOURCE "/e2e/fleet/zitadel/chart"}, repo_dir.path());
  const std::uint16_t port = testing::Sandbox::free_port();
  const std::string issuer = "http://localhost:" + std::to_string(port);
  s.box.make_dir("keys");
  const std::string keys = s.box.path("keys/device-keys");
  const std::vector<std::string> server_sets{"nats.auth=callout",
                                             "operator.image=" + operator_test_image(),
                                             "callout.image=" + callout_test_image(),
                                             "zitadel.chart_repository=" + repo.url,
                                             "zitadel.image=" + zitadel_standin_image(),
                                             "zitadel.postgres_image=" + postgres_standin_image(),
                                             "zitadel.database_storage=empty_dir",
                                             "zitadel.external_port=" + std::to_string(port),
                                             "zitadel.devices={edge-1,edge-2}",
                                             "zitadel.keys_dir=" + keys};

  // 1. The control plane: NATS, the operator, Zitadel, then the callout trusting it.
  auto server = s.deploy(server_sets, {"server"});
  INFO(out_and_err(server));
  REQUIRE(server.exit_code == 0);
  CHECK_THAT(server.out, Catch::Contains("zitadel: ready") && Catch::Contains("callout: ready"));
  CHECK_THAT(server.out, Catch::Contains("made project harmony-fleet") && Catch::Contains("machine user device-edge-1"));

  // The pinned chart, from the repository, as helm sees it.
  auto listed = helm_cli({"list", "-n", s.ns, "-o", "json"});
  CHECK_THAT(listed.out, Catch::Contains("\"chart\":\"zitadel-9.34.0\""));
  // Generated secrets: a 32-character master key, database passwords, in Secrets only.
  CHECK(decoded(s.get("secret/fleet-zitadel-masterkey"), "masterkey").size() == 32);
  const json db = s.get("secret/fleet-zitadel-db");
  CHECK(decoded(db, "user").size() == 32);
  CHECK(decoded(db, "admin") != decoded(db, "user"));
  auto values = helm_cli({"get", "values", "fleet-zitadel", "-n", s.ns, "-o", "json"});
  CHECK_THAT(values.out, !Catch::Contains(decoded(db, "admin")) && !Catch::Contains(decoded(s.get("secret/fleet-zitadel-masterkey"), "masterkey")));
  CHECK(s.get("statefulset/fleet-zitadel-db")["status"].value("readyReplicas", 0) == 1);

  // The issuer and project for the callout; the keys, kept and written 0600.
  const json issuer_map = s.get("configmap/fleet-zitadel");
  CHECK(issuer_map["data"]["issuer"] == issuer);
  CHECK(issuer_map["data"]["fetch_url"] == "http://fleet-zitadel." + s.ns + ".svc:8080");
  const std::string project = issuer_map["data"]["project_id"];
  REQUIRE_FALSE(project.empty());
  CHECK(mode_of(keys) == 0700);
  std::map<std::string, std::string> first_keys;
  for (const std::string id : {"edge-1", "edge-2"}) {
    const std::string file = keys + "/" + id + ".json";
    REQUIRE(std::filesystem::exists(file));
    CHECK(mode_of(file) == 0600);
    first_keys[id] = *base::read_file(file);
    const json key = json::parse(first_keys[id]);
    CHECK_FALSE(key.value("keyId", "").empty());
    CHECK_THAT(key.value("key", ""), Catch::Contains("PRIVATE KEY"));
    CHECK(decoded(s.get("secret/fleet-zitadel-device-keys"), id + ".json") == first_keys[id]);
  }
  // The callout was told where Zitadel is.
  const json callout = s.get("deployment/fleet-callout");
  const std::string args = callout["spec"]["template"]["spec"]["containers"][0]["args"].dump();
  CHECK_THAT(args, Catch::Contains(issuer) && Catch::Contains(project) && Catch::Contains("--oidc-fetch-url"));

  // 2. Each device's token, with `harmony fleet token` through
  //    `harmony fleet port-forward --to zitadel`, on the port the issuer
  //    names by default (a device would reach Zitadel through an ingress).
  auto forwarding = std::async(std::launch::async, [&] {
    return static_cast<const testing::Sandbox&>(s.box).run(
        {"timeout", "--preserve-status", "-s", "INT", "10", "harmony", "fleet", "port-forward", "--to", "zitadel", "--topology",
         "kubeconfig", "-n", s.ns},
        {}, std::chrono::seconds(30));
  });
  s.box.make_dir("tokens", 0700);
  for (const std::string id : {"edge-1", "edge-2"}) {
    base::ProcessResult token;
    CHECK(testing::eventually([&] {
      token = s.plain({"fleet", "token", "--key", keys + "/" + id + ".json", "--issuer", issuer, "--project", project, "--out",
                       s.box.path("tokens/" + id + ".token")});
      return token.exit_code == 0;
    }, std::chrono::seconds(8)));
    INFO(out_and_err(token));
    REQUIRE(token.exit_code == 0);
  }
  auto forwarded = forwarding.get();
  INFO(out_and_err(forwarded));
  CHECK(forwarded.exit_code == 0);  // Ctrl-C ends it
  CHECK_THAT(forwarded.out, Catch::Contains("forwarding http://127.0.0.1:" + std::to_string(port) + " -> pod " + s.ns + "/fleet-zitadel-") &&
                                Catch::Contains("its issuer: " + issuer + ", project " + project));

  // 3. The agents log in with them, admitted by the callout with Zitadel's keys.
  auto agents = s.deploy({"nats.auth=callout", "agent.count=2", "agent.token_dir=" + s.box.path("tokens")}, {"agent"});
  INFO(out_and_err(agents));
  REQUIRE(agents.exit_code == 0);
  CHECK(testing::eventually([&] { return s.plain({"agent", "ping", "edge-1"}).exit_code == 0; }, std::chrono::seconds(60)));
  CHECK(s.plain({"agent", "ping", "edge-2"}).exit_code == 0);
  auto log = kubectl({"logs", "-n", s.ns, "deployment/fleet-callout", "--tail", "200"});
  CHECK_THAT(log.out + log.err, Catch::Contains("as device edge-1") && Catch::Contains("as device edge-2"));

  // 4. Again with a third device: only it gets a user and a key; the others' keys stay.
  auto more = server_sets;
  more[more.size() - 2] = "zitadel.devices={edge-1,edge-2,edge-3}";
  auto again = s.deploy(more, {"zitadel"});
  INFO(out_and_err(again));
  REQUIRE(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("machine user device-edge-3") && !Catch::Contains("project harmony-fleet,"));
  for (const std::string id : {"edge-1", "edge-2"}) CHECK(*base::read_file(keys + "/" + id + ".json") == first_keys[id]);
  CHECK(std::filesystem::exists(keys + "/edge-3.json"));
  CHECK(s.get("configmap/fleet-zitadel")["data"]["project_id"] == project);

  // 5. Once more, unchanged: nothing is made. The setup job's Secret is gone
  //    first, as the real chart leaves things when the instance already
  //    exists: the admin's token is the copy kept among the credentials.
  REQUIRE(kubectl({"delete", "-n", s.ns, "secret/harmony-fleet-admin-pat"}).exit_code == 0);
  auto same = s.deploy(more, {"zitadel"});
  INFO(out_and_err(same));
  CHECK(same.exit_code == 0);
  CHECK_THAT(same.out, Catch::Contains("no change"));
  CHECK(kubectl({"get", "-n", s.ns, "secret/harmony-fleet-admin-pat"}).exit_code != 0);  // so the kept copy served

  // A master key other than the one Zitadel was made with is refused before anything changes.
  auto other_key = more;
  other_key.push_back("zitadel.master_key=" + std::string(32, 'x'));
  auto refused = s.deploy(other_key, {"zitadel"});
  CHECK(refused.exit_code == base::exit_status::invalid_settings);
  CHECK_THAT(refused.err, Catch::Contains("zitadel.master_key is not the one Zitadel was first deployed with") &&
                              !Catch::Contains(std::string(32, 'x')));

  // 6. plan, with a fourth device, shows the setup it would run for it alone, and changes nothing.
  std::vector<std::string> plan{"plan", "fleet", "zitadel"};
  for (const auto& set : more) plan.insert(plan.end(), {"--set", set});
  plan[plan.size() - 3] = "zitadel.devices={edge-1,edge-2,edge-3,edge-4}";
  auto planned = s.harmony(plan);
  INFO(out_and_err(planned));
  CHECK(planned.exit_code == 0);
  CHECK_THAT(planned.out, Catch::Contains("Zitadel at " + issuer + ": a machine user and key for edge-4") &&
                              !Catch::Contains("no longer deployed") && !Catch::Contains("project harmony-fleet"));
  CHECK_FALSE(std::filesystem::exists(keys + "/edge-4.json"));

  // 7. destroy takes Zitadel and its release away; the key files stay with the user.
  auto gone = s.harmony({"destroy", "fleet", "zitadel", "--yes"});
  INFO(out_and_err(gone));
  CHECK(gone.exit_code == 0);
  CHECK_THAT(helm_cli({"list", "-n", s.ns, "-o", "json"}).out, !Catch::Contains("fleet-zitadel"));
  CHECK(kubectl({"get", "-n", s.ns, "configmap/fleet-zitadel"}).exit_code != 0);
  CHECK(kubectl({"get", "-n", s.ns, "statefulset/fleet-zitadel-db"}).exit_code != 0);
  CHECK(std::filesystem::exists(keys + "/edge-1.json"));

  // 8. Deployed again onto a new database (empty_dir: the old one went with
  //    its pod), the users are new: the keys kept are theirs no longer, and
  //    each device gets a key of its new user.
  auto anew = s.deploy(more, {"zitadel"});
  INFO(out_and_err(anew));
  REQUIRE(anew.exit_code == 0);
  CHECK_THAT(anew.out, Catch::Contains("a key for device-edge-1") && Catch::Contains("a key for device-edge-3"));
  const json renewed = json::parse(*base::read_file(keys + "/edge-1.json"));
  const json old_key = json::parse(first_keys["edge-1"]);
  CHECK(renewed["key"] != old_key["key"]);
  CHECK(renewed["userId"] != old_key["userId"]);
  CHECK(s.get("configmap/fleet-zitadel")["data"]["project_id"] != project);
  // The admin's token, kept among the credentials, is never printed.
  CHECK_THAT(anew.out + anew.err, !Catch::Contains(decoded(s.get("secret/harmony-fleet-admin-pat"), "pat")));
}

TEST_CASE("ZitadelScore refuses bad settings before anything changes, and a plan of a first deploy says what it would make, "
          "each component reading what those before it would deploy") {
  FleetStack s("zitadel-bad");
  auto bad = s.deploy({"zitadel.devices={edge-1,Edge_2}", "zitadel.image=zitadel-without-tag"}, {"zitadel"});
  CHECK(bad.exit_code == base::exit_status::invalid_settings);
  CHECK_THAT(bad.err, Catch::Contains("zitadel.devices") && Catch::Contains("Edge_2") && Catch::Contains("zitadel.image"));
  auto helm_releases = helm_cli({"list", "-n", s.ns, "-o", "json"});
  CHECK_THAT(helm_releases.out, !Catch::Contains("fleet-zitadel"));

  testing::TempDir repo_dir;
  LoopbackChartRepository repo({HARMONY_E2E_SOURCE "/e2e/fleet/zitadel/chart"}, repo_dir.path());
  auto planned = s.harmony({"plan", "fleet", "zitadel", "--set", "zitadel.chart_repository=" + repo.url, "--set",
                            "zitadel.devices={edge-1}", "--set", "zitadel.image=" + zitadel_standin_image()});
  INFO(out_and_err(planned));
  CHECK(planned.exit_code == 0);
  CHECK_THAT(planned.out, Catch::Contains("StatefulSet " + s.ns + "/fleet-zitadel-db") &&
                              Catch::Contains("Deployment " + s.ns + "/fleet-zitadel") &&
                              Catch::Contains("ConfigMap " + s.ns + "/fleet-zitadel"));
  CHECK_THAT(planned.out, Catch::Contains("Zitadel at http://localhost:8080: project harmony-fleet, role fleet-ops, application nats, "
                                          "a machine user and key for edge-1"));
  CHECK(kubectl({"get", "-n", s.ns, "statefulset/fleet-zitadel-db"}).exit_code != 0);
  CHECK(helm_cli({"list", "-n", s.ns, "-q"}).out.empty());

  // The whole server group, never deployed here: the callout and the
  // operator are planned against the NATS and the Zitadel planned before
  // them, as the deploy would run them.
  auto server = s.harmony({"plan", "fleet", "server", "-o", "json", "--set", "nats.auth=callout", "--set",
                           "zitadel.chart_repository=" + repo.url, "--set", "zitadel.devices={edge-1}", "--set",
                           "zitadel.image=" + zitadel_standin_image()});
  INFO(out_and_err(server));
  REQUIRE(server.exit_code == 0);
  const json doc = json::parse(server.out);
  std::map<std::string, json> by_name;
  for (const auto& c : doc["components"]) by_name[c["name"].get<std::string>()] = c;
  for (const char* name : {"nats", "zitadel", "callout", "operator"}) {
    INFO(name);
    REQUIRE(by_name.count(name) == 1);
    CHECK(by_name[name]["action"] == "create");
    CHECK_FALSE(by_name[name]["objects"].empty());
  }
  CHECK_THAT(by_name["callout"]["objects"].dump(), Catch::Contains("Deployment " + s.ns + "/fleet-callout"));
  CHECK(kubectl({"get", "-n", s.ns, "statefulset/nats"}).exit_code != 0);

  // As a deploy would: the callout without NATS, or with no issuer to trust.
  auto alone = s.harmony({"plan", "fleet", "callout", "--set", "nats.auth=callout"});
  CHECK(alone.exit_code == base::exit_status::deploy_failed);
  CHECK_THAT(alone.err, Catch::Contains("the fleet's NATS is not deployed"));
  auto no_issuer = s.harmony({"plan", "fleet", "nats", "callout", "--set", "nats.auth=callout"});
  CHECK(no_issuer.exit_code == base::exit_status::invalid_settings);
  CHECK_THAT(no_issuer.err, Catch::Contains("callout.issuer_url is not set"));
}
