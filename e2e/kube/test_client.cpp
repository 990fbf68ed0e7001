// The Kubernetes client against a real API server: the test cluster that
// e2e/cluster/up starts (CTest fixture `kube_cluster`, which sets
// HARMONY_CLUSTER_STATE). Cross-checked with the real kubectl from the
// cluster's tool set. Without a cluster every case exits 77: skipped, with
// the reason printed.

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/process.hpp>
#include <harmony/base/text.hpp>
#include <harmony/kube/client.hpp>
#include <harmony/kube/kinds.hpp>
#include <harmony/kube/readiness.hpp>

#include "eventually.hpp"
#include "kube_cases.hpp"
#include "temp_dir.hpp"

using namespace harmony;
using namespace harmony::e2e;
using nlohmann::json;
namespace es = base::exit_status;

namespace {

json config_map(const std::string& ns, const std::string& name, const json& data) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"namespace", ns}}}, {"data", data}};
}

}  // namespace

TEST_CASE("kube client: version and discovery, cached per server and refreshed on a miss") {
  testing::TempDir cache;
  auto c = client(admin(), cache.path());
  auto version = c->server_version();
  REQUIRE(version);
  CHECK(version->rfind("v1.", 0) == 0);
  auto deploy = c->resource_named("deploy");
  REQUIRE(deploy);
  CHECK(deploy->qualified() == "deployments.apps");
  CHECK(deploy->namespaced);
  auto ns = c->resource_for("v1", "Namespace");
  REQUIRE(ns);
  CHECK_FALSE(ns->namespaced);
  CHECK(c->discovery_fetches() >= 1);

  // A second client (another process, the next command) reads the cache.
  auto again = client(admin(), cache.path());
  REQUIRE(again->resource_for("apps/v1", "StatefulSet"));
  CHECK(again->discovery_fetches() == 0);

  // A kind installed after the cache was written is found by asking again.
  const std::string crd = R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
    "metadata":{"name":"widgets.client.harmony.test"},"spec":{"group":"client.harmony.test","scope":"Namespaced",
    "names":{"plural":"widgets","singular":"widget","kind":"Widget"},
    "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}})";
  REQUIRE(again->apply(*kube::Object::parse(crd)));
  REQUIRE(testing::eventually([&] {
    auto o = again->get({"apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets.client.harmony.test"});
    return o && kube::evaluate(*o).ready();
  }, std::chrono::seconds(20)));
  REQUIRE(testing::eventually([&] { return again->resource_for("client.harmony.test/v1", "Widget").has_value(); },
                              std::chrono::seconds(20)));
  auto missing = again->resource_for("nothing.harmony.test/v1", "Nothing");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().status == es::object_not_found);
  CHECK_THAT(missing.error().hint, Catch::Contains("CustomResourceDefinition"));
}

TEST_CASE("kube client: server-side apply as field manager harmony, read back by kubectl, idempotent, conflicts not forced") {
  auto c = client(admin());
  Namespace ns(*c, "apply");
  auto applied = c->apply(object(config_map(ns.name, "settings", {{"mode", "fast"}})));
  REQUIRE(applied);
  const std::string version = applied->resource_version();

  // kubectl sees exactly what harmony applied, managed by harmony.
  auto got = kubectl({"get", "configmap", "settings", "-n", ns.name, "-o", "json", "--show-managed-fields"});
  REQUIRE(got.ok());
  const json doc = json::parse(got.out);
  CHECK(doc["data"]["mode"] == "fast");
  CHECK(doc["metadata"]["managedFields"][0]["manager"] == "harmony");
  CHECK(doc["metadata"]["managedFields"][0]["operation"] == "Apply");

  // The same apply again changes nothing.
  auto same = c->apply(object(config_map(ns.name, "settings", {{"mode", "fast"}})));
  REQUIRE(same);
  CHECK(same->resource_version() == version);

  // kubectl's server-side dry run of the same object finds no drift.
  auto dry = kubectl({"apply", "--server-side", "--field-manager", "harmony", "--dry-run=server", "-o", "json", "-f", "-"},
                     config_map(ns.name, "settings", {{"mode", "fast"}}).dump());
  INFO(dry.err);
  REQUIRE(dry.ok());
  CHECK(json::parse(dry.out)["metadata"]["resourceVersion"] == version);

  // Another manager takes the field: harmony's apply is refused, naming it.
  auto other = kubectl({"apply", "--server-side", "--field-manager", "someone-else", "-f", "-"},
                       config_map(ns.name, "settings", {{"mode", "slow"}}).dump());
  INFO(other.err);
  REQUIRE_FALSE(other.ok());  // kubectl itself hits the conflict with harmony...
  auto forced = kubectl({"apply", "--server-side", "--force-conflicts", "--field-manager", "someone-else", "-f", "-"},
                        config_map(ns.name, "settings", {{"mode", "slow"}}).dump());
  REQUIRE(forced.ok());  // ...and takes it over by force
  auto conflict = c->apply(object(config_map(ns.name, "settings", {{"mode", "fast"}})));
  REQUIRE_FALSE(conflict);
  CHECK(conflict.error().status == es::conflict);
  CHECK_THAT(conflict.error().reason, Catch::Contains("someone-else") && Catch::Contains(".data.mode"));
  CHECK_THAT(conflict.error().hint, Catch::Contains("--force-conflicts"));

  kube::ApplyOptions force;
  force.force_conflicts = true;
  auto taken = c->apply(object(config_map(ns.name, "settings", {{"mode", "fast"}})), force);
  REQUIRE(taken);
  CHECK(taken->string_at("/data/mode") == "fast");

  // A server-side dry run changes nothing.
  kube::ApplyOptions dry_run;
  dry_run.dry_run = true;
  auto planned = c->apply(object(config_map(ns.name, "settings", {{"mode", "planned"}})), dry_run);
  REQUIRE(planned);
  CHECK(planned->string_at("/data/mode") == "planned");
  CHECK(c->get({"v1", "ConfigMap", ns.name, "settings"})->string_at("/data/mode") == "fast");
}

TEST_CASE("kube client: lists page through everything") {
  auto c = client(admin());
  Namespace ns(*c, "list");
  for (int i = 0; i < 7; ++i) {
    auto cm = config_map(ns.name, "item-" + std::to_string(i), {{"i", std::to_string(i)}});
    cm["metadata"]["labels"] = {{"set", i % 2 == 0 ? "even" : "odd"}};
    REQUIRE(c->apply(object(cm)));
  }
  kube::ListOptions pages;
  pages.page_size = 3;
  pages.label_selector = "set in (even,odd)";
  const int before = c->transport().stats().requests;
  auto all = c->list("v1", "ConfigMap", ns.name, pages);
  REQUIRE(all);
  CHECK(all->items.size() == 7);
  CHECK(c->transport().stats().requests - before == 3);
  CHECK(all->items.front().kind() == "ConfigMap");
  CHECK_FALSE(all->resource_version.empty());
  pages.label_selector = "set=even";
  CHECK(c->list("v1", "ConfigMap", ns.name, pages)->items.size() == 4);
}

TEST_CASE("kube client: typed errors for missing, invalid, forbidden and refused credentials") {
  auto c = client(admin());
  Namespace ns(*c, "errors");
  auto missing = c->get({"v1", "ConfigMap", ns.name, "nothing"});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().status == es::object_not_found);
  CHECK_THAT(missing.error().message, Catch::Contains("configmaps 'nothing'") && Catch::Contains(ns.name));
  auto found = c->find({"v1", "ConfigMap", ns.name, "nothing"});
  REQUIRE(found);
  CHECK_FALSE(found->has_value());

  auto invalid = c->apply(object({{"apiVersion", "apps/v1"}, {"kind", "Deployment"},
                                  {"metadata", {{"name", "web"}, {"namespace", ns.name}}},
                                  {"spec", {{"replicas", -1}, {"selector", {{"matchLabels", {{"app", "web"}}}}},
                                            {"template", {{"metadata", {{"labels", {{"app", "web"}}}}},
                                                          {"spec", {{"containers", json::array()}}}}}}}}));
  REQUIRE_FALSE(invalid);
  CHECK(invalid.error().status == es::invalid);
  CHECK_THAT(invalid.error().reason, Catch::Contains("spec.replicas"));

  // A service account that may only read ConfigMaps, with a short-lived token.
  REQUIRE(c->apply(object({{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", "viewer"}, {"namespace", ns.name}}}})));
  REQUIRE(c->apply(object({{"apiVersion", "rbac.authorization.k8s.io/v1"}, {"kind", "Role"},
                           {"metadata", {{"name", "read-configmaps"}, {"namespace", ns.name}}},
                           {"rules", {{{"apiGroups", {""}}, {"resources", {"configmaps"}}, {"verbs", {"get", "list"}}}}}})));
  REQUIRE(c->apply(object({{"apiVersion", "rbac.authorization.k8s.io/v1"}, {"kind", "RoleBinding"},
                           {"metadata", {{"name", "viewer"}, {"namespace", ns.name}}},
                           {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", "read-configmaps"}}},
                           {"subjects", {{{"kind", "ServiceAccount"}, {"name", "viewer"}, {"namespace", ns.name}}}}})));
  auto token = kubectl({"create", "token", "viewer", "-n", ns.name, "--duration", "10m"});
  INFO(token.err);
  REQUIRE(token.ok());
  const std::string viewer_token = base::split_lines(token.out).front();

  testing::TempDir dir;
  const auto& cfg = c->config();
  const std::string viewer_config = dir / "viewer.kubeconfig";
  std::ofstream(viewer_config) << "apiVersion: v1\nkind: Config\ncurrent-context: viewer\nclusters:\n- name: test\n  cluster:\n"
                               << "    server: " << cfg.cluster.server << "\n    certificate-authority: " << cfg.cluster.certificate_authority
                               << "\nusers:\n- name: viewer\n  user:\n    token: " << viewer_token
                               << "\ncontexts:\n- name: viewer\n  context: {cluster: test, user: viewer, namespace: " << ns.name << "}\n";
  kube::LoadOptions as_viewer;
  as_viewer.explicit_path = viewer_config;
  auto viewer = client(as_viewer, dir / "cache");
  REQUIRE(c->apply(object(config_map(ns.name, "visible", {{"a", "b"}}))));
  CHECK(viewer->get({"v1", "ConfigMap", "", "visible"}));  // the context's namespace
  auto forbidden = viewer->apply(object({{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "s"}}}}));
  REQUIRE_FALSE(forbidden);
  CHECK(forbidden.error().status == es::forbidden);
  CHECK_THAT(forbidden.error().message, Catch::Contains("apply secrets 's'") && Catch::Contains(ns.name) &&
                                            Catch::Contains("user 'viewer'"));
  CHECK_THAT(forbidden.error().reason, Catch::Contains("cannot patch resource \"secrets\""));

  // The same token through an exec credential plugin, run once for many requests.
  const std::string plugin = dir / "token-plugin.sh";
  std::ofstream(plugin) << "#!/bin/sh\necho run >> " << dir.path() << "/runs\n"
                        << "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                           "\"status\":{\"token\":\"" << viewer_token << "\"}}'\n";
  ::chmod(plugin.c_str(), 0755);
  const std::string exec_config = dir / "exec.kubeconfig";
  std::ofstream(exec_config) << "apiVersion: v1\nkind: Config\ncurrent-context: e\nclusters:\n- name: test\n  cluster:\n"
                             << "    server: " << cfg.cluster.server << "\n    certificate-authority: " << cfg.cluster.certificate_authority
                             << "\nusers:\n- name: e\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                             << "      command: ./token-plugin.sh\n      interactiveMode: Never\n"
                             << "contexts:\n- name: e\n  context: {cluster: test, user: e, namespace: " << ns.name << "}\n";
  kube::LoadOptions with_exec;
  with_exec.explicit_path = exec_config;
  auto exec = client(with_exec, dir / "cache");
  for (int i = 0; i < 3; ++i) REQUIRE(exec->get({"v1", "ConfigMap", "", "visible"}));
  CHECK(base::split_lines(*base::read_file(dir / "runs")).size() == 1);

  // Credentials the cluster does not accept.
  const std::string bad_config = dir / "bad.kubeconfig";
  std::ofstream(bad_config) << "apiVersion: v1\nkind: Config\ncurrent-context: bad\nclusters:\n- name: test\n  cluster:\n"
                            << "    server: " << cfg.cluster.server << "\n    certificate-authority: " << cfg.cluster.certificate_authority
                            << "\nusers:\n- name: bad\n  user:\n    token: not-a-token\ncontexts:\n- name: bad\n  context: {cluster: test, user: bad}\n";
  kube::LoadOptions bad;
  bad.explicit_path = bad_config;
  auto refused = client(bad, dir / "cache2")->server_version();
  REQUIRE_FALSE(refused);
  CHECK(refused.error().status == es::unauthorized);
  CHECK_THAT(refused.error().hint, Catch::Contains("expired"));
}

TEST_CASE("kube client: client certificates from data as from files") {
  auto files = client(admin());
  const auto& cfg = files->config();
  REQUIRE_FALSE(cfg.user.client_certificate.empty());
  kube::ClientConfig inline_data = cfg;
  inline_data.user.client_certificate_data = *base::read_file(cfg.user.client_certificate);
  inline_data.user.client_key_data = *base::read_file(cfg.user.client_key);
  inline_data.user.client_certificate.clear();
  inline_data.user.client_key.clear();
  inline_data.cluster.certificate_authority_data = *base::read_file(cfg.cluster.certificate_authority);
  inline_data.cluster.certificate_authority.clear();
  kube::Client data(inline_data);
  CHECK(data.server_version());
}

TEST_CASE("kube client: delete waits until the object is gone, and says so when finalizers hold it") {
  auto c = client(admin());
  Namespace ns(*c, "delete");
  auto held = config_map(ns.name, "held", {{"x", "y"}});
  held["metadata"]["finalizers"] = {"client.harmony.test/hold"};
  REQUIRE(c->apply(object(held)));
  kube::DeleteOptions quick;
  quick.timeout = std::chrono::seconds(2);
  auto stuck = c->remove({"v1", "ConfigMap", ns.name, "held"}, quick);
  REQUIRE_FALSE(stuck);
  CHECK(stuck.error().status == es::not_ready);
  CHECK_THAT(stuck.error().hint, Catch::Contains("finalizers"));

  // Let it go from another thread while remove() waits.
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto r = kubectl({"patch", "configmap", "held", "-n", ns.name, "--type", "merge", "-p", R"({"metadata":{"finalizers":null}})"});
    CHECK(r.ok());
  });
  kube::DeleteOptions patient;
  patient.timeout = std::chrono::seconds(30);
  auto removed = c->remove({"v1", "ConfigMap", ns.name, "held"}, patient);
  release.join();
  REQUIRE(removed);
  CHECK_FALSE(c->find({"v1", "ConfigMap", ns.name, "held"})->has_value());
  // Deleting what is not there is nothing to do.
  CHECK(c->remove({"v1", "ConfigMap", ns.name, "held"}));
  // An object gone before the wait's watch lists is not waited for.
  REQUIRE(c->apply(object(config_map(ns.name, "quick", {{"x", "y"}}))));
  kube::DeleteOptions bounded;
  bounded.timeout = std::chrono::seconds(30);
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(c->remove({"v1", "ConfigMap", ns.name, "quick"}, bounded));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
}

TEST_CASE("kube client: watch reports changes in order from where the list left off") {
  auto c = client(admin());
  Namespace ns(*c, "watch");
  REQUIRE(c->apply(object(config_map(ns.name, "before", {{"v", "0"}}))));
  std::vector<std::string> seen;
  std::atomic<bool> ready{false};
  std::thread watcher([&] {
    kube::WatchOptions w;
    w.timeout = std::chrono::seconds(60);
    auto r = c->watch("v1", "ConfigMap", ns.name, w, [&](const kube::WatchEvent& e) {
      using T = kube::WatchEvent::Type;
      // Only this test's objects: the cluster adds kube-root-ca.crt to every namespace.
      if (e.type == T::bookmark || e.type == T::synced) return true;
      if (e.object.name() != "before" && e.object.name() != "during") return true;
      const char* type = e.type == T::added ? "added" : e.type == T::modified ? "modified" : e.type == T::deleted ? "deleted" : "relisted";
      seen.push_back(std::string(type) + " " + e.object.name() + " " + e.object.string_at("/data/v").value_or(""));
      if (e.object.name() == "before") ready = true;
      return !(e.type == T::deleted && e.object.name() == "during");
    });
    CHECK(r);
  });
  REQUIRE(testing::eventually([&] { return ready.load(); }, std::chrono::seconds(20)));
  auto other = client(admin());
  REQUIRE(other->apply(object(config_map(ns.name, "during", {{"v", "1"}}))));
  REQUIRE(other->apply(object(config_map(ns.name, "during", {{"v", "2"}}))));
  kube::DeleteOptions d;
  REQUIRE(other->remove({"v1", "ConfigMap", ns.name, "during"}, d));
  watcher.join();
  CHECK(seen == std::vector<std::string>{"added before 0", "added during 1", "modified during 2", "deleted during 2"});
}

TEST_CASE("kube client: two watches at once on one client each see their own kind's changes") {
  auto c = client(admin());
  Namespace ns(*c, "watches");
  std::atomic<int> ready{0};
  std::atomic<bool> saw_map{false}, saw_secret{false};
  auto watch = [&](const char* kind, const char* name, std::atomic<bool>& saw) {
    return std::thread([&, kind, name] {
      kube::WatchOptions w;
      w.timeout = std::chrono::seconds(30);
      bool counted = false;
      auto r = c->watch("v1", kind, ns.name, w, [&](const kube::WatchEvent& e) {
        if (e.type == kube::WatchEvent::Type::synced && !counted) {
          counted = true;
          ++ready;
        }
        if (e.type == kube::WatchEvent::Type::added && e.object.name() == name) {
          saw = true;
          return false;
        }
        return true;
      });
      CHECK(r);
    });
  };
  std::thread maps = watch("ConfigMap", "both-map", saw_map);
  std::thread secrets = watch("Secret", "both-secret", saw_secret);
  CHECK(testing::eventually([&] { return ready.load() == 2; }, std::chrono::seconds(20)));
  auto other = client(admin());
  CHECK(other->apply(object(config_map(ns.name, "both-map", {{"v", "1"}}))));
  CHECK(other->apply(object({{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "both-secret"}, {"namespace", ns.name}}},
                             {"stringData", {{"k", "v"}}}})));
  maps.join();
  secrets.join();
  CHECK(saw_map);
  CHECK(saw_secret);
}

TEST_CASE("kube client: a namespace being deleted is reported as such") {
  auto c = client(admin());
  const std::string name = "client-terminating-" + std::to_string(::getpid());
  REQUIRE(c->apply(object({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}})));
  auto held = config_map(name, "held", {{"x", "y"}});
  held["metadata"]["finalizers"] = {"client.harmony.test/hold"};
  REQUIRE(c->apply(object(held)));
  kube::DeleteOptions d;
  d.wait = false;
  REQUIRE(c->remove({"v1", "Namespace", "", name}, d));
  auto ns = c->get({"v1", "Namespace", "", name});
  REQUIRE(ns);
  CHECK(kube::evaluate(*ns).health == kube::Health::failed);
  auto refused = c->apply(object(config_map(name, "new", {{"a", "b"}})));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().status == es::forbidden);
  CHECK_THAT(refused.error().reason, Catch::Contains("being terminated"));
  // Let it finish.
  (void)kubectl({"patch", "configmap", "held", "-n", name, "--type", "merge", "-p", R"({"metadata":{"finalizers":null}})"});
}

TEST_CASE("kube client: the typed kinds apply, become ready, and show no drift to kubectl's server-side dry run") {
  auto c = client(admin());
  Namespace ns(*c, "kinds");
  kube::ConfigMap config;
  config.metadata = {.name = "web-config", .namespace_ = ns.name};
  config.data = {{"mode", "fast"}};
  kube::Secret secret;
  secret.metadata = {.name = "web-secret", .namespace_ = ns.name};
  secret.data = {{"password", "s3cret"}};
  kube::ServiceAccount account;
  account.metadata = {.name = "web", .namespace_ = ns.name};
  kube::Role role;
  role.metadata = {.name = "web", .namespace_ = ns.name};
  role.rules = {{.api_groups = {""}, .resources = {"configmaps"}, .verbs = {"get"}}};
  kube::RoleBinding binding;
  binding.metadata = {.name = "web", .namespace_ = ns.name};
  binding.role_name = "web";
  binding.subjects = {{.name = "web"}};
  kube::Service service;
  service.metadata = {.name = "web", .namespace_ = ns.name};
  service.selector = {{"app", "web"}};
  service.ports = {{.name = "http", .port = 80, .target_port = "http"}};
  kube::Deployment deployment;
  deployment.metadata = {.name = "web", .namespace_ = ns.name};
  deployment.replicas = 2;
  deployment.selector = {{"app", "web"}};
  kube::Container container;
  container.name = "web";
  container.image = "harmony.local/busybox:1";
  container.image_pull_policy = "Never";
  container.ports = {{.name = "http", .port = 8080}};
  container.env = {{.name = "PASSWORD", .secret_name = "web-secret", .secret_key = "password"}};
  deployment.template_.containers = {container};
  deployment.template_.service_account = "web";

  const std::vector<kube::Object> objects = {kube::to_object(config),  kube::to_object(secret),  kube::to_object(account),
                                             kube::to_object(role),    kube::to_object(binding), kube::to_object(service),
                                             kube::to_object(deployment)};
  for (const auto& o : objects) {
    auto applied = c->apply(o);
    INFO(o.kind());
    REQUIRE(applied);
    // What harmony applied is what kubectl would apply: no drift.
    auto dry = kubectl({"apply", "--server-side", "--field-manager", "harmony", "--dry-run=server", "-o", "json", "-f", "-"},
                       o.to_json());
    INFO(dry.err);
    REQUIRE(dry.ok());
    auto live = kubectl({"get", o.kind(), o.name(), "-n", ns.name, "-o", "json"});
    REQUIRE(live.ok());
    // Controllers write status (and so resourceVersion) meanwhile; what the
    // apply would change is everything else.
    auto comparable = [](json doc) {
      doc.erase("status");
      doc["metadata"].erase("resourceVersion");
      doc["metadata"].erase("managedFields");
      return doc;
    };
    CHECK(comparable(json::parse(dry.out)) == comparable(json::parse(live.out)));
  }
  auto read = c->get({"v1", "Secret", ns.name, "web-secret"});
  REQUIRE(read);
  CHECK(read->string_at("/data/password") == "czNjcmV0");
}
