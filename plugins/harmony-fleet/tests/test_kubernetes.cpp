// The fleet's NATS on Kubernetes, as the objects FleetNatsScore applies.

#include <catch2/catch.hpp>

#include <set>

#include <nlohmann/json.hpp>

#include <harmony/base/text.hpp>
#include <harmony/fleet/config.hpp>
#include <harmony/fleet/kubernetes.hpp>
#include <harmony/kube/json.hpp>
#include <harmony/version.hpp>

#include "../src/tls.hpp"

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
  s.tls = false;
  const auto objects = nats_objects(s, "sys-password");
  REQUIRE(objects.size() == 5);

  const json secret = find(objects, "Secret", nats_config_secret);
  const std::string conf = *base::base64_decode(secret["data"]["nats.conf"].get<std::string>());
  CHECK_THAT(conf, Catch::Contains("listen: \"0.0.0.0:4222\""));
  CHECK_THAT(conf, Catch::Contains("http: \"0.0.0.0:8222\""));  // the kubelet probes the pod's address
  CHECK_THAT(conf, Catch::Contains("store_dir: \"/data/jetstream\""));
  // The accounts from their own Secret, and a system user that may ask for a reload.
  CHECK_THAT(conf, Catch::Contains("include \"../nats-accounts/accounts.conf\""));
  CHECK_THAT(conf, Catch::Contains("user: \"system\", password: \"sys-password\""));
  CHECK_THAT(conf, Catch::Contains("system_account: SYS"));
  CHECK_FALSE(secret["data"].contains("accounts.conf"));
  const json accounts = kube::json_of(nats_accounts_object("users = []\n"));
  CHECK(accounts["metadata"]["name"] == nats_accounts_secret);
  CHECK(*base::base64_decode(accounts["data"]["accounts.conf"].get<std::string>()) == "users = []\n");

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
  bool accounts_volume = false;
  for (const auto& v : pod["volumes"])
    if (v["name"] == "accounts") {
      accounts_volume = true;
      CHECK(v["secret"]["secretName"] == nats_accounts_secret);
      CHECK(v["secret"]["defaultMode"] == 0440);
    }
  CHECK(accounts_volume);
  // A new configuration restarts the pod; the accounts alone do not.
  const std::string hash = set["spec"]["template"]["metadata"]["annotations"]["harmony.io/config"];
  s.client_port = Port{4223};
  CHECK(find(nats_objects(s, "sys-password"), "StatefulSet", nats_statefulset)["spec"]["template"]["metadata"]["annotations"]
            ["harmony.io/config"] != hash);
  s.client_port = Port{4222};

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

TEST_CASE("NATS on Kubernetes with node_port 0 leaves the port to Kubernetes") {
  NatsSettings s;
  s.node_port = Port{0};
  CHECK(s.check().empty());
  const json outside = find(nats_objects(s, "x"), "Service", nats_external_service);
  CHECK_FALSE(outside["spec"]["ports"][0].contains("nodePort"));
  s.node_port = Port{8080};
  REQUIRE(s.check().size() == 1);
  CHECK_THAT(s.check().front().message, Catch::Contains("30000-32767"));
}

TEST_CASE("an agent on Kubernetes: its password in a Secret of its own, its config, and one Pod that is replaced, never doubled") {
  AgentSettings s;
  s.labels = {{"site", "lab"}};
  s.image_pull_secrets = {"registry"};
  const auto objects = agent_objects(s, "edge-7", "pw-edge-7", "nats://nats.fleet-system.svc:4222");
  REQUIRE(objects.size() == 3);

  const json secret = find(objects, "Secret", "fleet-agent-edge-7");
  CHECK(*base::base64_decode(secret["data"]["password"].get<std::string>()) == "pw-edge-7");
  const json config = find(objects, "ConfigMap", "fleet-agent-edge-7");
  const std::string yaml = config["data"]["agent.yaml"];
  CHECK_THAT(yaml, Catch::Contains("device_id: edge-7"));
  CHECK_THAT(yaml, Catch::Contains("nats://nats.fleet-system.svc:4222"));
  CHECK_THAT(yaml, Catch::Contains(agent_pod_password));
  CHECK_THAT(yaml, !Catch::Contains("pw-edge-7"));  // the password is not in the ConfigMap

  const json deployment = find(objects, "Deployment", "fleet-agent-edge-7");
  CHECK(deployment["spec"]["replicas"] == 1);
  CHECK(deployment["spec"]["strategy"]["type"] == "Recreate");
  const json pod = deployment["spec"]["template"];
  CHECK(pod["metadata"]["labels"]["harmony.io/device-id"] == "edge-7");
  CHECK(pod["metadata"]["labels"]["site"] == "lab");
  CHECK(pod["spec"]["automountServiceAccountToken"] == false);
  CHECK(pod["spec"]["securityContext"]["fsGroup"] == 65534);
  CHECK(pod["spec"]["imagePullSecrets"][0]["name"] == "registry");
  const json container = pod["spec"]["containers"][0];
  CHECK(container["image"] == s.image);
  CHECK(container["imagePullPolicy"] == "IfNotPresent");
  CHECK(container["args"] == json::array({"--config", agent_pod_config}));
  CHECK(container["securityContext"]["readOnlyRootFilesystem"] == true);
  CHECK(container["resources"]["limits"]["memory"] == "64Mi");
  for (const auto& v : pod["spec"]["volumes"])
    if (v["name"] == "password") CHECK(v["secret"]["defaultMode"] == 0440);
  // The image is this version's, never latest.
  CHECK_THAT(s.image, Catch::EndsWith(std::string(":") + harmony::version));

  // A new password replaces the pod (fleet-agent reads it once).
  const json other = find(agent_objects(s, "edge-7", "another", "nats://nats.fleet-system.svc:4222"), "Deployment",
                          "fleet-agent-edge-7");
  CHECK(other["spec"]["template"]["metadata"]["annotations"]["harmony.io/config"] !=
        pod["metadata"]["annotations"]["harmony.io/config"]);
}

TEST_CASE("NATS on Kubernetes speaks TLS by default: its certificate in a Secret, the CA for the agents, and agents that verify it") {
  NatsSettings s;
  auto ca = make_ca("test CA");
  REQUIRE(ca);
  auto server = issue_server_certificate(*ca, {"nats.fleet-system.svc", "nats", "127.0.0.1"});
  REQUIRE(server);
  CHECK_THAT(server->cert, Catch::StartsWith("-----BEGIN CERTIFICATE-----"));
  CHECK_THAT(server->key, Catch::Contains("PRIVATE KEY"));
  const NatsTls tls{ca->cert, server->cert, server->key};
  const auto objects = nats_objects(s, "sys", tls);
  REQUIRE(objects.size() == 7);
  const json secret = find(objects, "Secret", nats_tls_secret);
  CHECK(*base::base64_decode(secret["data"]["tls.crt"].get<std::string>()) == server->cert);
  CHECK(find(objects, "ConfigMap", nats_ca_config_map)["data"]["ca.crt"] == ca->cert);
  const json conf_secret = find(objects, "Secret", nats_config_secret);
  const std::string conf = *base::base64_decode(conf_secret["data"]["nats.conf"].get<std::string>());
  CHECK_THAT(conf, Catch::Contains("cert_file: \"/etc/nats-tls/tls.crt\""));
  const json pod = find(objects, "StatefulSet", nats_statefulset)["spec"]["template"]["spec"];
  bool mounted = false;
  for (const auto& v : pod["volumes"])
    if (v["name"] == "tls") mounted = v["secret"]["secretName"] == nats_tls_secret && v["secret"]["defaultMode"] == 0440;
  CHECK(mounted);

  AgentSettings a;
  const auto agent = agent_objects(a, "edge-1", "pw", "tls://nats.fleet-system.svc:4222", ca->cert);
  const std::string yaml = find(agent, "ConfigMap", "fleet-agent-edge-1")["data"]["agent.yaml"];
  CHECK_THAT(yaml, Catch::Contains(std::string("ca_file: ") + agent_pod_ca));
  CHECK_THAT(yaml, Catch::Contains("tls://nats.fleet-system.svc:4222"));
  bool ca_volume = false;
  const json deployment = find(agent, "Deployment", "fleet-agent-edge-1");
  for (const auto& v : deployment["spec"]["template"]["spec"]["volumes"])
    if (v["name"] == "ca") ca_volume = v["configMap"]["name"] == nats_ca_config_map;
  CHECK(ca_volume);
}

namespace {

// Every leaf path the generated values may set, as documented in the NATS
// chart's values.yaml at chart_version (2.14.2); `merge` and `patch` are the
// chart's free-form escape hatches, checked by their own assertions.
const std::set<std::string> chart_keys{
    "fullnameOverride",
    "config.nats.port", "config.nats.tls.enabled", "config.nats.tls.secretName",
    "config.monitor.port",
    "config.jetstream.enabled", "config.jetstream.fileStore.enabled", "config.jetstream.fileStore.dir",
    "config.jetstream.fileStore.pvc.enabled", "config.jetstream.fileStore.pvc.size",
    "config.jetstream.fileStore.pvc.storageClassName",
    "config.merge", "container.image.fullImageName", "container.patch", "podTemplate.patch",
    "reloader.enabled", "natsBox.enabled", "service.merge", "service.ports.nats.enabled", "service.ports.nats.nodePort"};

void leaves(const json& j, const std::string& at, std::vector<std::string>& out) {
  if (j.is_object() && !at.ends_with("merge") && !at.ends_with("patch")) {
    for (const auto& [k, v] : j.items()) leaves(v, at.empty() ? k : at + "." + k, out);
    return;
  }
  out.push_back(at);
}

}  // namespace

TEST_CASE("NATS through the official chart: values only of the chart's documented keys, from the same settings") {
  NatsSettings s;
  s.deploy_with = NatsDeployWith::chart;
  s.node_port = Port{30500};
  s.storage = NatsStorage::pvc;
  s.storage_class = "fast";
  const json values = json::parse(nats_chart_values(s));
  std::vector<std::string> paths;
  leaves(values, "", paths);
  for (const auto& p : paths) {
    INFO(p);
    CHECK(chart_keys.count(p) == 1);
  }
  CHECK(values["fullnameOverride"] == "nats");  // Services nats and nats-headless, StatefulSet nats, as the manifests
  CHECK(values["config"]["nats"]["port"] == 4222);
  CHECK(values["config"]["nats"]["tls"]["secretName"] == nats_tls_secret);
  CHECK(values["config"]["jetstream"]["fileStore"]["pvc"]["storageClassName"] == "fast");
  CHECK(values["service"]["ports"]["nats"]["nodePort"] == 30500);
  CHECK(values["service"]["merge"]["spec"]["type"] == "NodePort");
  CHECK(values["container"]["image"]["fullImageName"] == s.image);
  CHECK(values["reloader"]["enabled"] == false);  // harmony reloads through the system account
  // The users and the system account come from Secrets, included by the chart's $include rule.
  CHECK(values["config"]["merge"]["authorization"]["$include"] == "../nats-accounts/accounts.conf");
  CHECK(values["config"]["merge"]["00$include"] == "../nats-system/system.conf");
  const std::string patches = values["podTemplate"]["patch"].dump();
  CHECK_THAT(patches, Catch::Contains(nats_accounts_secret) && Catch::Contains(nats_system_secret));

  const auto companions = nats_chart_companions(s, "sys", {"ca", "cert", "key"});
  REQUIRE(companions.size() == 3);
  const std::string system =
      *base::base64_decode(find(companions, "Secret", nats_system_secret)["data"]["system.conf"].get<std::string>());
  CHECK_THAT(system, Catch::Contains("system_account: SYS") && Catch::Contains("password: \"sys\""));
  s.node_port = Port{0};
  s.tls = false;
  CHECK_FALSE(json::parse(nats_chart_values(s))["service"]["ports"]["nats"].contains("nodePort"));
  CHECK(nats_chart_companions(s, "sys", {}).size() == 1);
}
