// The fleet's NATS on Kubernetes, as the objects FleetNatsScore applies.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <harmony/base/text.hpp>
#include <harmony/fleet/config.hpp>
#include <harmony/fleet/kubernetes.hpp>
#include <harmony/kube/json.hpp>

using namespace harmony;
using namespace harmony::fleet;
using nlohmann::json;

namespace {

json find(const std::vector<kube::Object>& objects, const std::string& kind, const std::string& name) {
  for (const auto& o : objects)
    if (o.kind() == kind && o.name() == name) return kube::json_of(o);
  FAIL("no " << kind << " " << name);
  return {};
}

}  // namespace

TEST_CASE("NATS on Kubernetes: its config in a Secret, one StatefulSet replica probed on /healthz, and three Services") {
  NatsSettings s;
  s.node_port = Port{30500};
  const auto objects = nats_objects(s, "users: []\n");
  REQUIRE(objects.size() == 5);

  const json secret = find(objects, "Secret", nats_config_secret);
  const std::string conf = *base::base64_decode(secret["data"]["nats.conf"].get<std::string>());
  CHECK_THAT(conf, Catch::Contains("listen: \"0.0.0.0:4222\""));
  CHECK_THAT(conf, Catch::Contains("http: \"0.0.0.0:8222\""));  // the kubelet probes the pod's address
  CHECK_THAT(conf, Catch::Contains("store_dir: \"/data/jetstream\""));
  CHECK_THAT(conf, Catch::Contains("include \"accounts.conf\""));
  CHECK(*base::base64_decode(secret["data"]["accounts.conf"].get<std::string>()) == "users: []\n");

  const json set = find(objects, "StatefulSet", nats_statefulset);
  CHECK(set["spec"]["replicas"] == 1);
  CHECK(set["spec"]["serviceName"] == nats_headless_service);
  const json pod = set["spec"]["template"]["spec"];
  CHECK(pod["automountServiceAccountToken"] == false);
  const json container = pod["containers"][0];
  CHECK(container["image"] == "nats:2.10.24");
  CHECK(container["command"] == json::array({"/nats-server", "--config", "/etc/nats/nats.conf"}));
  CHECK(container["readinessProbe"]["httpGet"]["path"] == "/healthz");
  CHECK(container["readinessProbe"]["httpGet"]["port"] == "monitor");
  CHECK(container["securityContext"]["runAsNonRoot"] == true);
  CHECK(container["securityContext"]["readOnlyRootFilesystem"] == true);
  // The accounts hold passwords: readable by the pod's group only.
  bool config_volume = false;
  for (const auto& v : pod["volumes"])
    if (v["name"] == "config") {
      config_volume = true;
      CHECK(v["secret"]["secretName"] == nats_config_secret);
      CHECK(v["secret"]["defaultMode"] == 0440);
    }
  CHECK(config_volume);

  const json outside = find(objects, "Service", nats_external_service);
  CHECK(outside["spec"]["type"] == "NodePort");
  CHECK(outside["spec"]["ports"][0]["nodePort"] == 30500);
  CHECK(outside["spec"]["ports"][0]["port"] == 4222);
  CHECK(find(objects, "Service", nats_headless_service)["spec"]["clusterIP"] == "None");
  CHECK(find(objects, "Service", nats_service)["spec"]["ports"][0]["targetPort"] == "client");
}

TEST_CASE("NATS on Kubernetes keeps JetStream on an emptyDir by default, or on a claim of the class and size asked") {
  NatsSettings s;
  auto by_default = find(nats_objects(s, ""), "StatefulSet", nats_statefulset);
  bool empty_dir = false;
  for (const auto& v : by_default["spec"]["template"]["spec"]["volumes"])
    if (v["name"] == "data") empty_dir = v.contains("emptyDir");
  CHECK(empty_dir);
  CHECK_FALSE(by_default["spec"].contains("volumeClaimTemplates"));

  s.storage = NatsStorage::pvc;
  s.storage_class = "local-disks";
  s.storage_size = "5Gi";
  auto claimed = find(nats_objects(s, ""), "StatefulSet", nats_statefulset);
  REQUIRE(claimed["spec"]["volumeClaimTemplates"].size() == 1);
  const json claim = claimed["spec"]["volumeClaimTemplates"][0];
  CHECK(claim["metadata"]["name"] == "data");
  CHECK(claim["spec"]["storageClassName"] == "local-disks");
  CHECK(claim["spec"]["resources"]["requests"]["storage"] == "5Gi");
  for (const auto& v : claimed["spec"]["template"]["spec"]["volumes"]) CHECK(v["name"] != "data");
}
