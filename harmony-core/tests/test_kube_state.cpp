// The Kubernetes topologies' pieces that need no cluster: the records'
// names and inventory format, "unchanged" detection, and plan's diff.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <harmony/base/text.hpp>
#include <harmony/kube/json.hpp>

#include "kubernetes_internal.hpp"

using namespace harmony;
using namespace harmony::topologies;
using nlohmann::json;

TEST_CASE("the records' names say plugin and component, and cannot collide across plugins") {
  CHECK(kstate::record_name("fleet", "nats") == "harmony.fleet.nats");
  CHECK(kstate::credentials_name("fleet", "nats") == "harmony.fleet.nats.credentials");
  CHECK(kstate::lease_name("fleet") == "harmony.fleet");
  // Plugin names have no dots: "a-b"+"c" and "a"+"b-c" stay apart.
  CHECK(kstate::record_name("a-b", "c") != kstate::record_name("a", "b-c"));
}

TEST_CASE("an inventory entry survives its JSON form, and a cluster-scoped one has no namespace") {
  kstate::Entry e{"apps/v1", "Deployment", "shop", "web", "0123456789abcdef", "2026-12-01T05:00:00Z"};
  const json j = kstate::entry_json(e);
  auto back = kstate::entry_from(j);
  CHECK(back.api_version == "apps/v1");
  CHECK(back.kind == "Deployment");
  CHECK(back.namespace_ == "shop");
  CHECK(back.name == "web");
  CHECK(back.applied_hash == e.applied_hash);
  CHECK(back.applied_at == e.applied_at);
  const json crd = kstate::entry_json({"apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets.x", "", ""});
  CHECK_FALSE(crd.contains("namespace"));
  CHECK(kstate::entry_from(json::object()).name.empty());  // a damaged record reads as nothing, not a crash
}

TEST_CASE("harmony's last apply is read from managedFields: its own Apply entry, not a subresource's or another manager's") {
  auto object = kube::object_from(json::parse(R"({"metadata":{"managedFields":[
    {"manager":"kubectl","operation":"Apply","time":"2026-01-01T00:00:00Z"},
    {"manager":"harmony","operation":"Apply","subresource":"status","time":"2026-01-02T00:00:00Z"},
    {"manager":"harmony","operation":"Update","time":"2026-01-03T00:00:00Z"},
    {"manager":"harmony","operation":"Apply","time":"2026-01-04T00:00:00Z"}]}})"));
  CHECK(kstate::applied_at(object) == "2026-01-04T00:00:00Z");
  CHECK(kstate::applied_at(kube::Object()).empty());
  CHECK(kstate::hash_hex("a") == kstate::hash_hex("a"));
  CHECK(kstate::hash_hex("a") != kstate::hash_hex("b"));
  CHECK(kstate::hash_hex("").size() == 16);
}

TEST_CASE("plan's diff shows changed fields, and not what the server keeps for itself") {
  const json live = json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"web","namespace":"shop","resourceVersion":"41","generation":3,"uid":"u",
                "creationTimestamp":"2026-01-01T00:00:00Z","managedFields":[{"manager":"harmony"}],
                "annotations":{"deployment.kubernetes.io/revision":"3"},
                "labels":{"app.kubernetes.io/managed-by":"harmony"}},
    "spec":{"replicas":2,"template":{"spec":{"containers":[{"name":"web","image":"busybox:1"}]}}},
    "status":{"readyReplicas":2}})");
  json planned = live;
  planned["metadata"]["resourceVersion"] = "42";
  planned["metadata"]["generation"] = 4;
  planned["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "4";
  planned["status"]["readyReplicas"] = 0;
  CHECK(kstate::diff(live, planned, false).empty());

  planned["spec"]["replicas"] = 3;
  planned["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:2";
  planned["metadata"]["labels"]["example.com/tier"] = "front";
  auto fields = kstate::diff(live, planned, false);
  REQUIRE(fields.size() == 3);
  auto find = [&](const std::string& path) {
    for (const auto& f : fields)
      if (f.path == path) return f;
    FAIL("no change at " << path);
    return PlannedChange::Field{};
  };
  CHECK(find("spec.replicas").before == "2");
  CHECK(find("spec.replicas").after == "3");
  CHECK(find("spec.template.spec.containers[0].image").after == "busybox:2");
  // Keys with dots or slashes are bracketed, so the path reads unambiguously.
  CHECK(find("metadata.labels[example.com/tier]").before.empty());
  CHECK(find("metadata.labels[example.com/tier]").after == "front");
}

TEST_CASE("plan's diff of a Secret never shows a value, old or new, plain or base64") {
  const std::string old_value = "old-password", new_value = "new-password";
  const json live = {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "db"}}},
                     {"data", {{"password", base::base64_encode(old_value)}, {"gone", base::base64_encode("x1")}}}};
  json planned = live;
  planned["data"]["password"] = base::base64_encode(new_value);
  planned["data"].erase("gone");
  planned["data"]["token"] = base::base64_encode("brand-new");
  auto fields = kstate::diff(live, planned, true);
  REQUIRE(fields.size() == 3);
  for (const auto& f : fields) {
    for (const auto& text : {f.before, f.after}) {
      for (const std::string& secret : {old_value, new_value, std::string("x1"), std::string("brand-new")}) {
        CHECK_THAT(text, !Catch::Contains(secret));
        CHECK_THAT(text, !Catch::Contains(base::base64_encode(secret)));
      }
    }
  }
  for (const auto& f : fields) {
    if (f.path == "data.password") {
      CHECK(f.before == "(secret)");
      CHECK(f.after == "(secret, changed)");
    }
    if (f.path == "data.gone") CHECK(f.after.empty());
    if (f.path == "data.token") CHECK(f.after == "(secret)");
  }
}
