// The SDK's Kubernetes topology `kubeconfig` through its test plugin and the
// real dispatcher, against the real test cluster (e2e/cluster): the shop
// component's ConfigMap, Secret, Deployment and Service, cross-checked with
// the real kubectl. Each case works in a namespace of its own.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <unistd.h>

#include <iostream>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/text.hpp>
#include <harmony/base/time.hpp>

#include "cluster.hpp"
#include "eventually.hpp"
#include "sandbox.hpp"

using namespace harmony::e2e;
using nlohmann::json;
using namespace std::chrono_literals;
namespace es = harmony::base::exit_status;

namespace {

std::string unique_namespace(const std::string& hint) {
  static std::atomic<int> n{0};
  return "sdk-" + hint + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

// A sandbox with harmony and the test plugin, the cluster's kubeconfig, and
// a namespace of its own, destroyed (and deleted) at the end.
struct KubeStack {
  Sandbox box;
  std::string ns;

  explicit KubeStack(const std::string& hint) : ns(unique_namespace(hint)) {
    (void)test_cluster();
    box.make_dir("hbin");
    fs::create_symlink(harmony_binary(), box.path("hbin/harmony"));
    box.install_program(fixture_file("harmony-sdktest"));
    box.path_dirs = {"hbin", "bin", "/usr/bin", "/bin"};
    box.vars = {{"KUBECONFIG", test_cluster().kubeconfig}};
  }
  ~KubeStack() {
    try {
      (void)harmony({"destroy", "sdktest", "--yes", "--purge"});
      (void)kubectl({"delete", "namespace", ns, "--wait=false", "--ignore-not-found"});
    } catch (...) {
    }
  }
  KubeStack(const KubeStack&) = delete;
  KubeStack& operator=(const KubeStack&) = delete;

  // harmony <verb> <plugin> ... --topology kubeconfig -n <ns>
  [[nodiscard]] harmony::base::ProcessResult harmony(std::vector<std::string> args) const {
    std::vector<std::string> argv{"harmony"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--topology", "kubeconfig", "-n", ns});
    return static_cast<const harmony::testing::Sandbox&>(box).run(argv, {}, 180s);
  }
  [[nodiscard]] harmony::base::ProcessResult deploy(std::vector<std::string> sets = {}) const {
    std::vector<std::string> args{"deploy", "sdktest", "shop", "--timeout", "120s"};
    for (auto& s : sets) args.insert(args.end(), {"--set", "shop." + s});
    return harmony(args);
  }
  [[nodiscard]] json get(const std::string& what) const {
    auto r = kubectl({"get", "-n", ns, what, "-o", "json", "--show-managed-fields"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out);
  }
  [[nodiscard]] bool exists(const std::string& what) const {
    return kubectl({"get", "-n", ns, what, "--ignore-not-found", "-o", "name"}).out.find('/') != std::string::npos;
  }
};

std::string out_and_err(const harmony::base::ProcessResult& r) { return r.out + r.err; }

}  // namespace

TEST_CASE("deploy on kubeconfig creates the namespace and the objects, waits until they are ready, and kubectl reads back what harmony applied") {
  KubeStack s("deploy");
  auto r = s.deploy({"greeting=bonjour"});
  INFO(out_and_err(r));
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("shop: ready"));
  CHECK_THAT(r.out, Catch::Contains("deployed 1 component of sdktest on kubeconfig"));
  CHECK_THAT(r.out, Catch::Contains("-n " + s.ns));  // next steps keep the flags that say where

  // Ready when deploy returns: no waiting here.
  json deploy = s.get("deployment/shop");
  CHECK(deploy["status"]["readyReplicas"] == 2);
  CHECK(deploy["metadata"]["labels"]["harmony.dev/plugin"] == "sdktest");
  CHECK(deploy["metadata"]["labels"]["harmony.dev/component"] == "shop");
  bool harmony_applied = false;
  for (const auto& m : deploy["metadata"]["managedFields"])
    harmony_applied = harmony_applied || (m["manager"] == "harmony" && m["operation"] == "Apply");
  CHECK(harmony_applied);
  json ns = json::parse(kubectl({"get", "namespace", s.ns, "-o", "json"}).out);
  CHECK(ns["metadata"]["annotations"]["harmony.dev/created-by"] == "sdktest");

  // The Service answers with the greeting through its cluster IP (once
  // kube-proxy has caught up with its endpoints, which harmony waited for).
  json svc = s.get("service/shop");
  const std::string ip = svc["spec"]["clusterIP"];
  CHECK(harmony::testing::eventually(
      [&] { return s.box.run({"/usr/bin/curl", "-s", "--noproxy", "*", "-m", "2", "http://" + ip + "/"}).out == "bonjour\n"; },
      15s));

  // The Secret's generated key was made once, and the token is not printed.
  json secret = s.get("secret/shop");
  CHECK(secret["data"].contains("api-key"));
  // The record lives in the cluster, beside what it describes.
  CHECK(s.exists("secret/harmony.sdktest.shop"));
  // The Lease is released when the deploy ends.
  CHECK_FALSE(s.exists("lease/harmony.sdktest"));
}

TEST_CASE("a redeploy without changes changes nothing, and a second machine with the same kubeconfig sees the same deployment") {
  KubeStack s("again");
  REQUIRE(s.deploy().exit_code == 0);
  const json before = s.get("deployment/shop");
  const json secret_before = s.get("secret/shop");

  auto r = s.deploy();
  INFO(out_and_err(r));
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("no change: 1 component of sdktest on kubeconfig is up to date"));
  const json after = s.get("deployment/shop");
  CHECK(after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]);
  // The generated key is kept, not generated again.
  CHECK(s.get("secret/shop")["data"]["api-key"] == secret_before["data"]["api-key"]);

  // Another HOME, state and cache: all it has is the kubeconfig.
  KubeStack other("unused");
  other.ns = s.ns;
  auto status = other.harmony({"sdktest", "status", "-o", "json"});
  INFO(out_and_err(status));
  REQUIRE(status.exit_code == 0);
  json doc = json::parse(status.out);
  REQUIRE(doc["components"].size() == 1);
  CHECK(doc["components"][0]["name"] == "shop");
  CHECK(doc["components"][0]["state"] == "up");
  CHECK(doc["components"][0]["resources"].size() == 4);
  auto plan = other.harmony({"sdktest", "plan", "shop"});
  CHECK_THAT(plan.out, Catch::Contains("= shop: no change"));
  other.ns = unique_namespace("unused");  // its destructor must not destroy the shared one
}

TEST_CASE("plan is a server-side dry run compared with the live objects, changes nothing, and never shows a secret") {
  KubeStack s("plan");
  REQUIRE(s.deploy().exit_code == 0);
  const std::string secret_value = "s3cr3t-token-value";
  auto r = s.harmony({"sdktest", "plan", "shop", "--set", "shop.replicas=3", "--set", "shop.token=" + secret_value,
                      "--set", "shop.extra_config=true"});
  INFO(out_and_err(r));
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("~ shop: will change"));
  CHECK_THAT(r.out, Catch::Contains("~ Deployment " + s.ns + "/shop"));
  CHECK_THAT(r.out, Catch::Contains("spec.replicas: 2 -> 3"));
  CHECK_THAT(r.out, Catch::Contains("+ ConfigMap " + s.ns + "/shop-extra"));
  CHECK_THAT(r.out, Catch::Contains("~ Secret " + s.ns + "/shop"));
  CHECK_THAT(out_and_err(r), !Catch::Contains(secret_value));
  CHECK_THAT(out_and_err(r), !Catch::Contains(harmony::base::base64_encode(secret_value)));
  // Nothing changed.
  CHECK(s.get("deployment/shop")["spec"]["replicas"] == 2);
  CHECK_FALSE(s.exists("configmap/shop-extra"));

  auto j = s.harmony({"sdktest", "plan", "shop", "-o", "json", "--set", "shop.replicas=3"});
  REQUIRE(j.exit_code == 0);
  json doc = json::parse(j.out);
  bool found = false;
  for (const auto& o : doc["components"][0]["objects"])
    if (o["object"] == "Deployment " + s.ns + "/shop") {
      found = o["action"] == "update";
      CHECK(o["fields"][0]["path"] == "spec.replicas");
    }
  CHECK(found);
}

TEST_CASE("a redeploy prunes what the Score no longer applies") {
  KubeStack s("prune");
  REQUIRE(s.deploy({"extra_config=true"}).exit_code == 0);
  REQUIRE(s.exists("configmap/shop-extra"));
  auto r = s.deploy();
  INFO(out_and_err(r));
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("pruned 1 object"));
  CHECK_FALSE(s.exists("configmap/shop-extra"));
  CHECK(s.exists("configmap/shop"));
}

TEST_CASE("a deploy whose image cannot be had fails fast, with the pod's reason") {
  KubeStack s("image");
  const auto start = std::chrono::steady_clock::now();
  auto r = s.deploy({"image=harmony.local/no-such-image:1", "pull_policy=Never"});
  const auto took = std::chrono::steady_clock::now() - start;
  INFO(out_and_err(r));
  CHECK(r.exit_code == es::deploy_failed);
  CHECK_THAT(r.err, Catch::Contains("Deployment " + s.ns + "/shop cannot become ready"));
  CHECK_THAT(r.err, Catch::Contains("ErrImageNeverPull"));
  // Which image, which node, and what to do.
  CHECK_THAT(r.err, Catch::Contains("cannot get image harmony.local/no-such-image:1"));
  CHECK_THAT(r.err, Catch::Contains("node harmony-node"));
  CHECK_THAT(r.err, Catch::Contains("load the image into the cluster") && Catch::Contains("imagePullPolicy"));
  CHECK(took < 60s);  // the --timeout is 120 s: it did not wait for it
}

TEST_CASE("a workload that runs but never becomes ready: at the deadline, the end of its containers' logs") {
  KubeStack s("unready");
  auto r = s.harmony({"deploy", "sdktest", "shop", "--timeout", "8s", "--set", "shop.ready_path=/missing", "--set", "shop.replicas=1"});
  INFO(out_and_err(r));
  CHECK(r.exit_code == es::not_ready);
  CHECK_THAT(r.err, Catch::Contains("was not ready in time"));
  CHECK_THAT(r.err, Catch::Contains("the end of container web's log"));
  CHECK_THAT(r.err, Catch::Contains("| shop serving on 8080"));
}

TEST_CASE("a deploy while another holds the plugin's Lease is refused with the busy status, and an expired one is taken over") {
  KubeStack s("lease");
  REQUIRE(s.deploy().exit_code == 0);
  auto lease = [&](const std::string& renewed) {
    return json{{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "harmony.sdktest"}, {"namespace", s.ns}}},
                {"spec",
                 {{"holderIdentity", "other-machine/4242/1/boot"},
                  {"leaseDurationSeconds", 300},
                  {"acquireTime", renewed},
                  {"renewTime", renewed}}}}
        .dump();
  };
  const auto now = std::chrono::system_clock::now();
  REQUIRE(kubectl({"apply", "-f", "-"}, lease(harmony::base::rfc3339(now).insert(19, ".000000"))).exit_code == 0);
  auto busy = s.deploy();
  INFO(out_and_err(busy));
  CHECK(busy.exit_code == es::lock_held);
  CHECK_THAT(busy.err, Catch::Contains("held by other-machine/4242/1/boot"));
  CHECK_THAT(busy.err, Catch::Contains("kubectl delete lease -n " + s.ns + " harmony.sdktest"));
  CHECK(s.exists("lease/harmony.sdktest"));  // not ours to remove

  REQUIRE(kubectl({"apply", "-f", "-"}, lease(harmony::base::rfc3339(now - std::chrono::hours(1)).insert(19, ".000000")))
              .exit_code == 0);
  auto taken = s.deploy();
  INFO(out_and_err(taken));
  CHECK(taken.exit_code == 0);
  CHECK_FALSE(s.exists("lease/harmony.sdktest"));
}

TEST_CASE("the Lease is short and renewed while a deploy runs, so a holder that dies elsewhere blocks others for half a minute at most") {
  KubeStack s("renew");
  // A deploy that waits (its pods have no node) for 25 s, watched after 14 s.
  const std::string k = test_cluster().kubectl + " --kubeconfig " + test_cluster().kubeconfig;
  auto r = s.box.run({"/bin/sh", "-c",
                      "harmony deploy sdktest shop --topology kubeconfig -n " + s.ns +
                          " --set shop.node_selector.nowhere=true --timeout 25s >/dev/null 2>&1 & sleep 14; " + k +
                          " get lease harmony.sdktest -n " + s.ns +
                          " -o jsonpath='{.spec.leaseDurationSeconds} {.spec.acquireTime} {.spec.renewTime}'; wait"});
  INFO(out_and_err(r));
  const auto fields = harmony::base::split_list(r.out, ' ');
  REQUIRE(fields.size() == 3);
  CHECK(fields[0] == "30");
  CHECK(fields[2] > fields[1]);  // renewed since it was taken (RFC 3339 strings compare as times)
  CHECK_FALSE(s.exists("lease/harmony.sdktest"));  // released when the deploy ended
}

TEST_CASE("logs prints the component's pods' logs, each line named by its pod when there are several") {
  KubeStack s("logs");
  REQUIRE(s.deploy().exit_code == 0);
  auto r = s.harmony({"sdktest", "logs", "shop"});
  INFO(out_and_err(r));
  REQUIRE(r.exit_code == 0);
  const auto lines = ::lines(r.out);
  REQUIRE(lines.size() == 2);
  for (const auto& line : lines) {
    CHECK_THAT(line, Catch::StartsWith("shop-"));
    CHECK_THAT(line, Catch::EndsWith("/web | shop serving on 8080"));
  }
  // -f follows every pod until Ctrl-C, which ends it cleanly.
  auto followed = s.box.run({"/bin/sh", "-c",
                             "harmony sdktest logs shop -f --topology kubeconfig -n " + s.ns +
                                 " & pid=$!; sleep 3; kill -INT $pid; wait $pid; echo \"exit $?\""});
  INFO(out_and_err(followed));
  CHECK(::lines(followed.out).size() == 3);
  CHECK_THAT(followed.out, Catch::Contains("/web | shop serving on 8080"));
  CHECK_THAT(followed.out, Catch::EndsWith("exit 0\n"));

  // One pod (once the other is gone): its lines, without a prefix.
  REQUIRE(s.deploy({"replicas=1"}).exit_code == 0);
  CHECK(harmony::testing::eventually(
      [&] { return s.harmony({"sdktest", "logs", "shop", "--tail", "1"}).out == "shop serving on 8080\n"; }, 60s));
}

TEST_CASE("destroy deletes what the deploy created and waits until it is gone, and --purge also removes the namespace harmony created") {
  KubeStack s("destroy");
  REQUIRE(s.deploy().exit_code == 0);
  auto r = s.harmony({"destroy", "sdktest", "--yes", "--purge"});
  INFO(out_and_err(r));
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("deleted 4 objects"));
  CHECK_THAT(r.out, Catch::Contains("namespace " + s.ns));
  auto ns = kubectl({"get", "namespace", s.ns, "-o", "name", "--ignore-not-found"});
  CHECK(ns.out.empty());
  auto again = s.harmony({"sdktest", "status"});
  CHECK_THAT(again.out, Catch::Contains("nothing of sdktest is deployed on kubeconfig"));
}

TEST_CASE("destroy --purge keeps the namespace harmony created when something else lives there now") {
  KubeStack s("purgekeep");
  REQUIRE(s.deploy().exit_code == 0);
  REQUIRE(kubectl({"create", "configmap", "someone-elses", "-n", s.ns}).exit_code == 0);
  auto r = s.harmony({"destroy", "sdktest", "--yes", "--purge"});
  INFO(out_and_err(r));
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(out_and_err(r), Catch::Contains("ConfigMap someone-elses is not harmony's"));
  CHECK(s.exists("configmap/someone-elses"));
  CHECK_FALSE(s.exists("deployment/shop"));
}

TEST_CASE("a deploy whose pods cannot be created (a quota) fails at once with the controller's reason") {
  KubeStack s("quota");
  REQUIRE(kubectl({"create", "namespace", s.ns}).exit_code == 0);
  REQUIRE(kubectl({"create", "quota", "no-pods", "--hard=pods=0", "-n", s.ns}).exit_code == 0);
  const auto start = std::chrono::steady_clock::now();
  auto r = s.deploy();
  INFO(out_and_err(r));
  CHECK(r.exit_code == es::deploy_failed);
  CHECK_THAT(r.err, Catch::Contains("its pods cannot be created"));
  CHECK_THAT(r.err, Catch::Contains("exceeded quota"));
  CHECK(std::chrono::steady_clock::now() - start < 60s);
}

TEST_CASE("a deploy killed midway leaves everything it made in the record: status says so, and destroy removes it all") {
  KubeStack s("killed");
  // Killed while it waits for the pods (no node is theirs: they stay pending).
  auto killed = s.box.run({"/usr/bin/timeout", "-s", "KILL", "3", "harmony", "deploy", "sdktest", "shop", "--topology",
                           "kubeconfig", "-n", s.ns, "--set", "shop.node_selector.nowhere=true"});
  INFO(out_and_err(killed));
  // timeout(1) kills its whole process group, itself included.
  REQUIRE_FALSE(killed.ok());
  REQUIRE(s.exists("deployment/shop"));
  REQUIRE(s.exists("lease/harmony.sdktest"));  // its holder died holding it

  auto status = s.harmony({"sdktest", "status"});
  INFO(out_and_err(status));
  CHECK_THAT(status.out, Catch::Contains("incompletely"));

  // The dead holder's Lease is taken over (same machine, its process gone).
  auto gone = s.harmony({"destroy", "sdktest", "--yes"});
  INFO(out_and_err(gone));
  CHECK(gone.exit_code == 0);
  CHECK_FALSE(s.exists("deployment/shop"));
  CHECK_FALSE(s.exists("configmap/shop"));
  CHECK_FALSE(s.exists("secret/shop"));
  CHECK_FALSE(s.exists("secret/harmony.sdktest.shop"));
}

TEST_CASE("destroy without --purge keeps a namespace that something else lives in") {
  KubeStack s("keep");
  REQUIRE(s.deploy().exit_code == 0);
  REQUIRE(kubectl({"create", "configmap", "not-harmonys", "-n", s.ns}).exit_code == 0);
  auto r = s.harmony({"destroy", "sdktest", "--yes"});
  INFO(out_and_err(r));
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(s.exists("deployment/shop"));
  CHECK_FALSE(s.exists("secret/harmony.sdktest.shop"));
  CHECK(s.exists("configmap/not-harmonys"));
}

TEST_CASE("bad input on kubeconfig: unreachable server, unknown context, a flag of another topology, RBAC, a terminating namespace") {
  KubeStack s("bad");

  SECTION("a server nobody listens on fails fast, naming the server and the context") {
    const std::string config = s.box.write("home", "dead.kubeconfig", R"(apiVersion: v1
kind: Config
clusters: [{name: dead, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: abc}}]
contexts: [{name: dead, context: {cluster: dead, user: u}}]
current-context: dead
)", fs::perms(0600));
    const auto start = std::chrono::steady_clock::now();
    auto r = s.harmony({"deploy", "sdktest", "shop", "--kubeconfig", config});
    INFO(out_and_err(r));
    CHECK(r.exit_code == es::unreachable);
    CHECK_THAT(r.err, Catch::Contains("127.0.0.1:1"));
    CHECK_THAT(r.err, Catch::Contains("dead"));
    CHECK(std::chrono::steady_clock::now() - start < 20s);
  }
  SECTION("an unknown context is a usage error with the nearest name") {
    auto r = s.harmony({"sdktest", "status", "--context", "harmony-tset"});
    INFO(out_and_err(r));
    CHECK(r.exit_code == es::usage);
    CHECK_THAT(r.err, Catch::Contains("did you mean"));
  }
  SECTION("Kubernetes flags on the local topology are refused, naming the topologies that take them") {
    auto r = s.box.run({"harmony", "deploy", "sdktest", "web", "--topology", "local", "--kubeconfig", "x"});
    CHECK(r.exit_code == es::usage);
    CHECK_THAT(r.err, Catch::Contains("--kubeconfig does not apply to topology 'local'"));
    CHECK_THAT(r.err, Catch::Contains("kubeconfig, k3d"));
  }
  SECTION("--context completes from the kubeconfig's contexts") {
    auto r = s.box.run({"harmony", "__complete", "deploy", "sdktest", "--context", ""});
    CHECK(r.exit_code == 0);
    auto contexts = kubectl({"config", "get-contexts", "-o", "name"});
    for (const auto& name : lines(contexts.out)) CHECK_THAT(r.out, Catch::Contains(name + "\t"));
  }
  SECTION("a --kubeconfig that does not exist is a usage error naming it") {
    auto r = s.harmony({"sdktest", "status", "--kubeconfig", "/nonexistent/kubeconfig"});
    INFO(out_and_err(r));
    CHECK(r.exit_code == es::usage);
    CHECK_THAT(r.err, Catch::Contains("/nonexistent/kubeconfig"));
  }
  SECTION("a malformed --kubeconfig is refused with its file and line, and nothing is deployed") {
    const std::string config = s.box.write("home", "broken.kubeconfig", "apiVersion: v1\nkind: Config\nclusters:\n  - name: [unclosed\n",
                                           fs::perms(0600));
    auto r = s.harmony({"deploy", "sdktest", "shop", "--kubeconfig", config});
    INFO(out_and_err(r));
    CHECK(r.exit_code == es::failure);
    CHECK_THAT(r.err, Catch::Contains("kubeconfig " + config + ":") && Catch::Contains("not valid YAML"));
    CHECK(kubectl({"get", "namespace", s.ns}).exit_code != 0);
  }
  SECTION("--cluster is k3d's") {
    auto r = s.harmony({"sdktest", "status", "--cluster", "x"});
    CHECK(r.exit_code == es::usage);
    CHECK_THAT(r.err, Catch::Contains("--cluster does not apply to topology 'kubeconfig'"));
  }
  SECTION("a user RBAC refuses gets the forbidden status, naming the verb, the resource and the user") {
    REQUIRE(kubectl({"create", "namespace", s.ns}).exit_code == 0);
    REQUIRE(kubectl({"create", "serviceaccount", "nobody", "-n", s.ns}).exit_code == 0);
    auto token = kubectl({"create", "token", "nobody", "-n", s.ns});
    REQUIRE(token.exit_code == 0);
    json admin = json::parse(kubectl({"config", "view", "--raw", "--minify", "-o", "json"}).out);
    json cluster = admin["clusters"][0]["cluster"];
    const std::string config = s.box.write(
        "home", "nobody.kubeconfig",
        json{{"apiVersion", "v1"},
             {"kind", "Config"},
             {"clusters", {{{"name", "test"}, {"cluster", cluster}}}},
             {"users", {{{"name", "nobody"}, {"user", {{"token", harmony::base::split_lines(token.out).front()}}}}}},
             {"contexts", {{{"name", "nobody"}, {"context", {{"cluster", "test"}, {"user", "nobody"}}}}}},
             {"current-context", "nobody"}}
            .dump(),
        fs::perms(0600));
    auto r = s.harmony({"deploy", "sdktest", "shop", "--kubeconfig", config});
    INFO(out_and_err(r));
    CHECK(r.exit_code == es::forbidden);
    CHECK_THAT(r.err, Catch::Contains("system:serviceaccount:" + s.ns + ":nobody"));
  }
  SECTION("a terminating namespace cannot be deployed to, and deploy says why") {
    REQUIRE(kubectl({"create", "namespace", s.ns}).exit_code == 0);
    REQUIRE(kubectl({"apply", "-f", "-"},
                    json{{"apiVersion", "v1"},
                         {"kind", "ConfigMap"},
                         {"metadata", {{"name", "held"}, {"namespace", s.ns}, {"finalizers", {"harmony.test/hold"}}}}}
                        .dump())
                .exit_code == 0);
    REQUIRE(kubectl({"delete", "namespace", s.ns, "--wait=false"}).exit_code == 0);
    auto r = s.deploy();
    INFO(out_and_err(r));
    CHECK(r.exit_code == es::deploy_failed);
    CHECK_THAT(r.err, Catch::Contains("namespace '" + s.ns + "' cannot be deployed to"));
    CHECK_THAT(r.err, Catch::Contains("being deleted"));
    (void)kubectl({"patch", "configmap", "held", "-n", s.ns, "--type", "merge", "-p", R"({"metadata":{"finalizers":null}})"});
  }
}

TEST_CASE("a Helm chart through HelmChart: installed, waited on, unchanged on a redeploy, upgraded, planned and uninstalled, as helm itself tells") {
  KubeStack s("chart");
  s.box.vars.emplace_back("HARMONY_HELM", test_cluster().helm);
  const std::string chart = busybox_chart(s.box.path("demo"));
  auto deploy = [&](std::vector<std::string> sets) {
    std::vector<std::string> args{"deploy", "sdktest", "chart", "--timeout", "120s", "--set", "chart.chart=" + chart};
    for (auto& set : sets) args.insert(args.end(), {"--set", "chart." + set});
    return s.harmony(args);
  };
  auto release = [&] {
    auto list = helm_cli({"list", "-n", s.ns, "-o", "json"});
    json all = json::parse(list.out);
    return all.empty() ? json() : all[0];
  };

  auto r = deploy({"password=hunter2-secret"});
  INFO(out_and_err(r));
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("installed Helm release web (revision 1"));
  CHECK(release()["status"] == "deployed");
  CHECK(release()["revision"] == "1");
  // Waited on: ready when deploy returns.
  CHECK(s.get("deployment/web-demo")["status"]["readyReplicas"] == 1);

  auto again = deploy({"password=hunter2-secret"});
  INFO(out_and_err(again));
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("unchanged"));
  CHECK(release()["revision"] == "1");

  auto plan = s.harmony({"sdktest", "plan", "chart", "--set", "chart.chart=" + chart, "--set", "chart.replicas=2", "--set",
                         "chart.password=hunter2-secret"});
  INFO(out_and_err(plan));
  CHECK(plan.exit_code == 0);
  CHECK_THAT(plan.out, Catch::Contains("~ Helm release " + s.ns + "/web"));
  CHECK_THAT(plan.out, Catch::Contains("spec.replicas: 1 -> 2"));
  CHECK_THAT(out_and_err(plan), !Catch::Contains("hunter2-secret"));

  auto upgraded = deploy({"replicas=2", "password=hunter2-secret"});
  INFO(out_and_err(upgraded));
  CHECK(upgraded.exit_code == 0);
  CHECK_THAT(upgraded.out, Catch::Contains("upgraded Helm release web (revision 2"));
  CHECK(release()["revision"] == "2");
  CHECK(s.get("deployment/web-demo")["status"]["readyReplicas"] == 2);
  auto status = s.harmony({"sdktest", "status", "chart"});
  CHECK(status.exit_code == 0);
  CHECK_THAT(status.out, Catch::Contains("HelmRelease " + s.ns + "/web: deployed, revision 2"));

  auto gone = s.harmony({"destroy", "sdktest", "chart", "--yes"});
  INFO(out_and_err(gone));
  CHECK(gone.exit_code == 0);
  CHECK(release().is_null());
  CHECK_FALSE(s.exists("deployment/web-demo"));
}

TEST_CASE("a StatefulSet with its service account and role, and a credential generated once and kept in the cluster until --purge") {
  KubeStack s("ops");
  auto r = s.harmony({"deploy", "sdktest", "ops", "--timeout", "120s"});
  INFO(out_and_err(r));
  REQUIRE(r.exit_code == 0);
  CHECK(s.get("statefulset/ops")["status"]["readyReplicas"] == 1);
  // RBAC as applied: the account may read ConfigMaps, not Secrets.
  const std::string as = "system:serviceaccount:" + s.ns + ":ops";
  CHECK(kubectl({"auth", "can-i", "list", "configmaps", "-n", s.ns, "--as", as}).out == "yes\n");
  CHECK(kubectl({"auth", "can-i", "get", "secrets", "-n", s.ns, "--as", as}).out == "no\n");
  const json credentials = s.get("secret/harmony.sdktest.ops.credentials");
  const std::string password = credentials["data"]["password"];
  CHECK(s.get("secret/ops-password")["data"]["password"] == password);
  CHECK_THAT(out_and_err(r), !Catch::Contains(*harmony::base::base64_decode(password)));

  REQUIRE(s.harmony({"deploy", "sdktest", "ops"}).exit_code == 0);
  CHECK(s.get("secret/harmony.sdktest.ops.credentials")["data"]["password"] == password);  // kept

  REQUIRE(s.harmony({"destroy", "sdktest", "ops", "--yes"}).exit_code == 0);
  CHECK_FALSE(s.exists("statefulset/ops"));
  CHECK(s.exists("secret/harmony.sdktest.ops.credentials"));  // credentials stay without --purge
  REQUIRE(s.harmony({"deploy", "sdktest", "ops"}).exit_code == 0);
  CHECK(s.get("secret/ops-password")["data"]["password"] == password);  // ... and are used again
  REQUIRE(s.harmony({"destroy", "sdktest", "ops", "--yes", "--purge"}).exit_code == 0);
  CHECK_FALSE(s.exists("secret/harmony.sdktest.ops.credentials"));
}

TEST_CASE("a CRD is installed and waited on until Established before its custom resources, and a kind no CRD defines is an error") {
  KubeStack s("crd");
  auto r = s.harmony({"deploy", "sdktest", "widget", "--timeout", "60s"});
  INFO(out_and_err(r));
  REQUIRE(r.exit_code == 0);
  CHECK(s.get("widgets.sdktest.harmony.test/w1")["spec"]["size"] == "small");
  auto plan = s.harmony({"sdktest", "plan", "widget", "--set", "widget.size=large"});
  CHECK_THAT(plan.out, Catch::Contains("spec.size: small -> large"));

  auto missing = s.harmony({"deploy", "sdktest", "widget", "--set", "widget.install_crd=false", "--set", "widget.kind=Gadget"});
  INFO(out_and_err(missing));
  CHECK(missing.exit_code == es::object_not_found);
  CHECK_THAT(missing.err, Catch::Contains("Gadget"));
  CHECK_THAT(missing.err, Catch::Contains("CustomResourceDefinition installed"));

  // destroy removes the custom resource, then its CRD.
  REQUIRE(s.harmony({"deploy", "sdktest", "widget"}).exit_code == 0);
  auto gone = s.harmony({"destroy", "sdktest", "widget", "--yes"});
  INFO(out_and_err(gone));
  CHECK(gone.exit_code == 0);
  CHECK(kubectl({"get", "crd", "widgets.sdktest.harmony.test", "--ignore-not-found", "-o", "name"}).out.empty());

  // One list may hold the CRD and its custom resource.
  auto together = s.harmony({"deploy", "sdktest", "widget", "--set", "widget.one_list=true", "--timeout", "60s"});
  INFO(out_and_err(together));
  REQUIRE(together.exit_code == 0);
  CHECK(s.get("widgets.sdktest.harmony.test/w1")["spec"]["size"] == "small");
  auto again = s.harmony({"destroy", "sdktest", "widget", "--yes"});
  INFO(out_and_err(again));
  CHECK(again.exit_code == 0);
  CHECK(kubectl({"get", "crd", "widgets.sdktest.harmony.test", "--ignore-not-found", "-o", "name"}).out.empty());
}

// ---- k3d, through the stand-in ----------------------------------------------------

namespace {

// The k3d topology against e2e/k3d-standin: a `k3d` that implements the
// commands the topology runs, backed by the test cluster, and a `docker`
// that answers the engine check. Real k3d and docker are NOT exercised.
struct K3dStack : KubeStack {
  std::string cluster = "h" + std::to_string(::getpid() % 100000);
  std::string calls;

  explicit K3dStack(const std::string& hint) : KubeStack(hint) {
    std::cout << "NOTE: the k3d topology runs against e2e/k3d-standin (backed by the test cluster); "
                 "real k3d and docker were NOT exercised"
              << std::endl;
    box.path_dirs = {"hbin", "bin", HARMONY_E2E_K3D_STANDIN, "/usr/bin", "/bin"};
    const std::string state = box.make_dir("k3d-standin", 0700);
    calls = state + "/calls.log";
    box.vars = {{"HARMONY_K3D_STANDIN_CLUSTER", test_cluster().state}, {"HARMONY_K3D_STANDIN_STATE", state}};
  }
  ~K3dStack() {
    try {
      (void)k3d({"destroy", "sdktest", "--yes", "--purge", "--delete-cluster"});
      (void)box.run({"k3d", "cluster", "delete", cluster});
    } catch (...) {
    }
  }
  K3dStack(const K3dStack&) = delete;
  K3dStack& operator=(const K3dStack&) = delete;

  [[nodiscard]] harmony::base::ProcessResult k3d(std::vector<std::string> args) const {
    std::vector<std::string> argv{"harmony"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--topology", "k3d", "--cluster", cluster, "-n", ns});
    return static_cast<const harmony::testing::Sandbox&>(box).run(argv, {}, 180s);
  }
  // The k3d commands the topology ran, one argv per line.
  [[nodiscard]] std::vector<json> k3d_calls() const {
    std::vector<json> out;
    auto text = harmony::base::read_file(calls);
    if (!text) return out;
    for (const auto& line : ::lines(*text)) out.push_back(json::parse(line));
    return out;
  }
  [[nodiscard]] int count(const std::string& verb) const {
    int n = 0;
    for (const auto& c : k3d_calls()) {
      std::string joined;
      for (const auto& a : c["args"]) joined += a.get<std::string>() + " ";
      if (joined.starts_with(verb)) ++n;
    }
    return n;
  }
};

std::uint16_t free_node_port() {
  static std::atomic<int> n{0};
  return static_cast<std::uint16_t>(30000 + (::getpid() * 7 + ++n * 13) % 2700);
}

}  // namespace

TEST_CASE("k3d: deploy creates the cluster with the node ports the Scores ask for on 127.0.0.1, keeps its kubeconfig in harmony's state, and reuses it", "[cluster-wide]") {
  K3dStack s("k3d");
  const auto port = free_node_port();
  auto r = s.k3d({"deploy", "sdktest", "shop", "--timeout", "120s", "--set", "shop.node_port=" + std::to_string(port),
                  "--set", "shop.greeting=from-k3d"});
  INFO(out_and_err(r));
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("--cluster " + s.cluster));

  // How it was created: API and node port on loopback only, the user's
  // kubeconfig untouched.
  REQUIRE(s.count("cluster create") == 1);
  std::vector<std::string> create;
  for (const auto& c : s.k3d_calls())
    if (c["args"].size() > 1 && c["args"][1] == "create") create = c["args"].get<std::vector<std::string>>();
  const std::string joined = harmony::base::join(create, " ");
  CHECK_THAT(joined, Catch::Contains("--api-port 127.0.0.1:"));
  CHECK_THAT(joined, Catch::Contains("--port 127.0.0.1:" + std::to_string(port) + ":" + std::to_string(port) + "@server:0"));
  CHECK_THAT(joined, Catch::Contains("--kubeconfig-update-default=false"));
  CHECK_FALSE(fs::exists(s.box.path("home/.kube/config")));
  const std::string kubeconfig = s.box.path("state/harmony/k3d/" + s.cluster + "/kubeconfig");
  REQUIRE(fs::exists(kubeconfig));
  CHECK((fs::status(kubeconfig).permissions() & fs::perms::all) == fs::perms(0600));

  // The NodePort, mapped on the host, answers.
  auto answer = s.box.run({"/usr/bin/curl", "-s", "--noproxy", "*", "-m", "5", "http://127.0.0.1:" + std::to_string(port) + "/"});
  CHECK(answer.out == "from-k3d\n");

  // A locally built image goes in with k3d image import.
  auto imported = s.k3d({"deploy", "sdktest", "shop", "--set", "shop.node_port=" + std::to_string(port), "--set",
                         "shop.greeting=from-k3d", "--set", "shop.import_image=true"});
  INFO(out_and_err(imported));
  CHECK(imported.exit_code == 0);
  CHECK(s.count("image import harmony.local/busybox:1 --cluster " + s.cluster) == 1);

  // Again: the cluster is there, nothing is created.
  auto again = s.k3d({"deploy", "sdktest", "shop", "--set", "shop.node_port=" + std::to_string(port), "--set",
                      "shop.greeting=from-k3d"});
  INFO(out_and_err(again));
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("no change"));
  CHECK(s.count("cluster create") == 1);
  auto status = s.k3d({"sdktest", "status"});
  CHECK(status.exit_code == 0);
  CHECK_THAT(status.out, Catch::Contains("shop: up"));

  // destroy --delete-cluster deletes what harmony created.
  auto gone = s.k3d({"destroy", "sdktest", "--yes", "--delete-cluster"});
  INFO(out_and_err(gone));
  CHECK(gone.exit_code == 0);
  CHECK_THAT(gone.out, Catch::Contains("deleted k3d cluster '" + s.cluster + "'"));
  CHECK(s.count("cluster delete") == 1);
  CHECK_FALSE(fs::exists(kubeconfig));
}

TEST_CASE("k3d: plan before the cluster exists lists everything as created, and creates nothing") {
  K3dStack s("k3dplan");
  auto plan = s.k3d({"sdktest", "plan", "shop"});
  INFO(out_and_err(plan));
  CHECK(plan.exit_code == 0);
  CHECK_THAT(plan.out, Catch::Contains("+ Deployment " + s.ns + "/shop"));
  CHECK_THAT(plan.out, Catch::Contains("+ Secret " + s.ns + "/shop"));
  CHECK(s.count("cluster create") == 0);
}

TEST_CASE("k3d: a cluster harmony did not create is used but never deleted") {
  K3dStack s("k3dkeep");
  auto made = s.box.run({"k3d", "cluster", "create", s.cluster, "--api-port", "127.0.0.1:" + std::to_string(Sandbox::free_port())});
  INFO(made.out << made.err);
  REQUIRE(made.exit_code == 0);
  auto r = s.k3d({"deploy", "sdktest", "shop", "--timeout", "120s"});
  INFO(out_and_err(r));
  REQUIRE(r.exit_code == 0);
  CHECK(s.count("cluster create") == 1);  // the test's own
  auto gone = s.k3d({"destroy", "sdktest", "--yes", "--delete-cluster"});
  INFO(out_and_err(gone));
  CHECK(gone.exit_code == 0);
  CHECK_THAT(out_and_err(gone), Catch::Contains("was not created by harmony"));
  CHECK(s.count("cluster delete") == 0);
}

TEST_CASE("k3d: a cluster name that is not a DNS label is refused before anything runs") {
  K3dStack s("k3dname");
  auto r = s.box.run({"harmony", "deploy", "sdktest", "shop", "--topology", "k3d", "--cluster", "../../etc"});
  INFO(out_and_err(r));
  CHECK(r.exit_code == es::usage);
  CHECK_THAT(r.err, Catch::Contains("cannot be a k3d cluster name"));
  CHECK(s.k3d_calls().empty());
  CHECK_FALSE(fs::exists(s.box.path("state/harmony/etc")));
}

TEST_CASE("k3d: without k3d or docker, deploy says what to install") {
  KubeStack s("nok3d");
  auto r = s.box.run({"harmony", "deploy", "sdktest", "shop", "--topology", "k3d"});
  INFO(out_and_err(r));
  CHECK(r.exit_code == es::unsupported);
  CHECK_THAT(r.err, Catch::Contains("docker"));
  CHECK_THAT(r.err, Catch::Contains("install"));
}

TEST_CASE("k3d: a k3d older than 5 is refused before anything runs, naming its version") {
  K3dStack s("oldk3d");
  // The stand-in's docker, and a k3d that says it is 4.4.8.
  s.box.make_dir("old", 0755);
  s.box.write("old", "k3d", "#!/bin/sh\n[ \"$1\" = version ] && { echo 'k3d version v4.4.8'; echo 'k3s version v1.21.2-k3s1 (default)'; exit 0; }\nexit 1\n",
              fs::perms(0755));
  s.box.path_dirs = {"hbin", "old", "bin", HARMONY_E2E_K3D_STANDIN, "/usr/bin", "/bin"};
  auto r = s.k3d({"deploy", "sdktest", "shop"});
  INFO(out_and_err(r));
  CHECK(r.exit_code == es::unsupported);
  CHECK_THAT(r.err, Catch::Contains("k3d v4.4.8") || Catch::Contains("k3d 4.4.8"));
  CHECK_THAT(r.err, Catch::Contains("5"));
  CHECK(kubectl({"get", "namespace", s.ns, "-o", "name", "--ignore-not-found"}).out.empty());
}

TEST_CASE("destroy deletes in the reverse order of the deploy: the Service before the Deployment, the ConfigMap last") {
  KubeStack s("order");
  REQUIRE(s.deploy().exit_code == 0);
  const std::string trace = s.box.path("trace.log");
  s.box.vars.emplace_back("HARMONY_KUBE_TRACE", trace);
  auto r = s.harmony({"destroy", "sdktest", "--yes"});
  INFO(out_and_err(r));
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> deleted;
  for (const auto& line : lines(harmony::base::read_file(trace).value_or("")))
    if (line.starts_with("DELETE ") && line.find("/leases/") == std::string::npos) {
      std::string path = line.substr(7, line.find(' ', 7) - 7);
      path = path.substr(0, path.find('?'));
      const auto slash = path.rfind('/');
      const auto kind_at = path.rfind('/', slash - 1);
      // The shop's objects, not harmony's own records.
      if (path.substr(slash + 1) == "shop") deleted.push_back(path.substr(kind_at + 1, slash - kind_at - 1));
    }
  INFO(harmony::base::read_file(trace).value_or(""));
  CHECK(deleted == std::vector<std::string>{"services", "deployments", "secrets", "configmaps"});
}
