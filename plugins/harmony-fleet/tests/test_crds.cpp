// The CRDs generated from the contract's types: what kubectl and the API
// server see (the real API server's verdicts are in e2e/fleet/kubernetes).

#include <catch2/catch.hpp>

#include <yaml-cpp/yaml.h>

#include <harmony/fleet/crds.hpp>
#include <harmony/kube/json.hpp>

using namespace harmony;
using nlohmann::json;

namespace {

const json& schema(const kube::Object& crd) { return kube::json_of(crd)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]; }

}  // namespace

TEST_CASE("FleetDeployment's schema follows the contract's fields, rules and invariants") {
  const auto crd = fleet::fleet_deployment_crd();
  CHECK(crd.name() == "fleetdeployments.fleet.harmony.dev");
  const json& root = schema(crd);
  CHECK(root["required"] == json::array({"spec"}));
  const json& spec = root["properties"]["spec"];
  CHECK(spec["required"] == json::array({"targetSelector", "workload"}));
  const json& workload = spec["properties"]["workload"];
  CHECK(workload["x-kubernetes-validations"][0]["rule"] == "has(self.process) != has(self.container)");
  const json& process = workload["properties"]["process"];
  CHECK(process["required"] == json::array({"command"}));
  CHECK(process["properties"]["command"]["pattern"] == "^/");
  CHECK(process["properties"]["command"]["description"].get<std::string>().find("absolute path") != std::string::npos);
  CHECK(workload["properties"]["restartPolicy"]["enum"] == json::array({"Always", "OnFailure", "Never"}));
  CHECK(spec["properties"]["rollout"]["properties"]["maxUnavailable"]["x-kubernetes-int-or-string"] == true);
  CHECK(root["x-kubernetes-validations"][0]["rule"] == "!self.metadata.name.contains('.')");
  const json& status = root["properties"]["status"]["properties"];
  for (const char* field : {"observedGeneration", "targeted", "succeeded", "failed", "pending", "lastError", "conditions"}) {
    INFO(field);
    CHECK(status.contains(field));
  }
  const json& version = kube::json_of(crd)["spec"]["versions"][0];
  CHECK(version["subresources"]["status"] == json::object());
  CHECK(version["additionalPrinterColumns"][1]["jsonPath"] == ".status.succeeded");
  CHECK(kube::json_of(crd)["spec"]["scope"] == "Namespaced");
}

TEST_CASE("FleetDevice is cluster-scoped, named by device id, and has only status") {
  const auto crd = fleet::fleet_device_crd();
  CHECK(kube::json_of(crd)["spec"]["scope"] == "Cluster");
  const json& root = schema(crd);
  CHECK_FALSE(root["properties"].contains("spec"));
  CHECK(root["properties"]["status"]["properties"]["connectivity"]["enum"] == json::array({"Online", "Offline"}));
  CHECK(kube::json_of(crd)["spec"]["names"]["shortNames"] == json::array({"fdev"}));
}

TEST_CASE("harmony fleet crds prints both as YAML that reads back as the same documents") {
  const auto docs = YAML::LoadAll(fleet::fleet_crds_yaml());
  REQUIRE(docs.size() == 2);
  CHECK(docs[0]["metadata"]["name"].as<std::string>() == "fleetdeployments.fleet.harmony.dev");
  CHECK(docs[1]["metadata"]["name"].as<std::string>() == "fleetdevices.fleet.harmony.dev");
  CHECK(docs[0]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["rollout"]
            ["properties"]["maxUnavailable"]["x-kubernetes-int-or-string"]
                .as<bool>());
}
