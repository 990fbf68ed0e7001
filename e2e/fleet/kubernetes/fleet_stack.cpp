#include "fleet_stack.hpp"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <harmony/base/files.hpp>
#include <harmony/base/text.hpp>

#include "cluster.hpp"
#include "temp_dir.hpp"

namespace harmony::e2e {

namespace {

using namespace std::chrono_literals;

base::ProcessResult bash(const std::string& script, std::chrono::seconds timeout = 120s) {
  base::ProcessSpec spec;
  spec.argv = {"/bin/bash", "-c", script};
  spec.timeout = timeout;
  auto r = base::run_process(spec);
  INFO((r ? r->err : r.error().message));
  REQUIRE(r);
  return *r;
}

std::string containerd(const TestCluster& c) { return "ctr --address '" + c.state + "/containerd/containerd.sock' -n k8s.io"; }

// Imports the image `ref` made by `build` (which writes an OCI archive to
// $archive), unless the cluster has it already.
std::string import_once(const std::string& ref, const std::string& build) {
  const auto& c = test_cluster();
  testing::TempDir dir;
  // One test process at a time (CTest runs several): two that both find the
  // image missing would build and import it at once, and one of them fail.
  const std::string script = "set -e; exec 9>'" + c.state + "/image-import.lock'; flock 9; if " + containerd(c) +
                             " images ls -q | grep -qx '" + ref + "'; then exit 0; fi; archive='" +
                             dir / "image.tar" + "'; work='" + dir.path() + "'; " + build + "; " + containerd(c) +
                             " images import \"$archive\" >/dev/null";
  // Once more if it fails: a CI run once saw the import end without a word
  // (3.9 s in, while another suite ran), and the second attempt costs
  // nothing when the first succeeded.
  auto r = bash(script);
  if (!r.ok()) r = bash(script);
  INFO(r.out + r.err + "\n(" +
       (r.end == base::ProcessResult::End::exited ? "exit " + std::to_string(r.exit_code) : "signal " + std::to_string(r.signal)) + ")");
  REQUIRE(r.ok());
  return ref;
}

std::string file_fingerprint(const std::string& path) {
  auto text = base::read_file(path, 1 << 30);
  REQUIRE(text);
  return base::fingerprint(*text).substr(0, 12);
}

// e2e-* namespaces whose owner is gone: a run that was killed leaves them.
void prune_dead_namespaces() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto r = kubectl({"get", "namespaces", "-l", "harmony.test/owner-pid", "-o", "json"});
    if (r.exit_code != 0) return;
    const auto doc = nlohmann::json::parse(r.out);
    for (const auto& item : doc["items"]) {
      const auto& labels = item["metadata"]["labels"];
      base::ProcessIdentity owner;
      owner.pid = std::stoi(labels.value("harmony.test/owner-pid", "0"));
      owner.start_ticks = std::stoull(labels.value("harmony.test/owner-start", "0"));
      owner.boot_id = labels.value("harmony.test/owner-boot", "");
      // Labels hold 63 characters: the boot id is kept without dashes.
      std::string boot = base::current_boot_id();
      std::erase(boot, '-');
      if (owner.boot_id == boot && owner.pid > 0 && base::check_process({owner.pid, owner.start_ticks, base::current_boot_id()}) == base::Liveness::running)
        continue;
      const std::string name = item["metadata"]["name"];
      std::cout << "NOTE: pruning namespace " << name << " of a test run that is gone" << std::endl;
      // Its operator is gone too: the finalizer it put on FleetDeployments
      // would hold the namespace in Terminating for ever.
      const auto held = kubectl({"get", "fleetdeployments", "-n", name, "-o", "name", "--ignore-not-found"});
      for (const auto& object : base::split_lines(held.out))
        (void)kubectl({"patch", object, "-n", name, "--type", "merge", "-p", R"({"metadata":{"finalizers":[]}})"});
      (void)kubectl({"delete", "namespace", name, "--wait=false"});
    }
  });
}

std::string unique_namespace(const std::string& hint) {
  static std::atomic<int> n{0};
  return "e2e-" + hint + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

}  // namespace

std::string nats_test_image() {
  static const std::string ref = [] {
    const auto& c = test_cluster();
    const std::string env = base::read_file(c.state + "/cluster.env").value_or("");
    const auto at = env.find("HARMONY_CLUSTER_NATS_SERVER=");
    REQUIRE(at != std::string::npos);
    const std::string binary = env.substr(at + 28, env.find('\n', at) - at - 28);
    return import_once("harmony.local/nats-server-test:" + file_fingerprint(binary),
                       ". " HARMONY_E2E_SOURCE "/packaging/container/oci-archive.sh && mkdir -p \"$work/root\" && cp '" + binary +
                           "' \"$work/root/nats-server\" && oci_archive \"$work/root\" harmony.local/nats-server-test:" +
                           file_fingerprint(binary) + " '{\"Entrypoint\":[\"/nats-server\"]}' \"$archive\"");
  }();
  return ref;
}


namespace {

// A program of this build as an image of the cluster's, by packaging/container/build-image.
std::string program_test_image(const std::string& program, const std::string& name) {
  const std::string image = "harmony.local/" + name + "-test:" + file_fingerprint(program);
  return import_once(image, "HARMONY_IMAGE_BUILDER=oci " HARMONY_E2E_SOURCE "/packaging/container/build-image '" + program +
                                "' \"$archive\" " + image + " >/dev/null");
}

}  // namespace

std::string agent_test_image() {
  static const std::string ref = program_test_image(fleet_agent_binary(), "fleet-agent");
  return ref;
}

std::string operator_test_image() {
  static const std::string ref = program_test_image(fleet_operator_binary(), "fleet-operator");
  return ref;
}

std::string callout_test_image() {
  static const std::string ref = program_test_image(fleet_callout_binary(), "fleet-callout");
  return ref;
}

namespace {

// e2e/fleet/zitadel/standin as an image whose entrypoint is `entrypoint`.
std::string standin_image(const std::string& name, const std::string& entrypoint) {
  const std::string dir = HARMONY_E2E_SOURCE "/e2e/fleet/zitadel/standin";
  const std::string ref = "harmony.local/" + name + ":" + file_fingerprint(dir + "/main.go");
  // The standard library only: nothing is fetched (GOPROXY=off), and the
  // installed Go builds it (GOTOOLCHAIN=local).
  return import_once(ref, "mkdir -p \"$work/root\" && cd '" + dir + "' && CGO_ENABLED=0 GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod go build -trimpath -o "
                          "\"$work/root/zitadel-standin\" . && . " HARMONY_E2E_SOURCE "/packaging/container/oci-archive.sh && "
                          "oci_archive \"$work/root\" " + ref + " '{\"Entrypoint\":" + entrypoint + "}' \"$archive\"");
}

}  // namespace

std::string zitadel_standin_image() {
  static const std::string ref = standin_image("zitadel-standin", "[\"/zitadel-standin\"]");
  return ref;
}

std::string postgres_standin_image() {
  static const std::string ref = standin_image("postgres-standin", "[\"/zitadel-standin\",\"postgres\"]");
  return ref;
}

FleetStack::FleetStack(const std::string& hint) : ns(unique_namespace(hint)) {
  (void)test_cluster();
  prune_dead_namespaces();
  box.make_dir("hbin");
  fs::create_symlink(harmony_binary(), box.path("hbin/harmony"));
  box.install_program(harmony_fleet_binary());
  box.install_program(harmony_agent_binary());
  box.path_dirs = {"hbin", "bin", "/usr/bin", "/bin"};
  // helm installs the operator's chart (and NATS's, with nats.deploy_with=chart).
  box.vars = {{"KUBECONFIG", test_cluster().kubeconfig}, {"HARMONY_HELM", test_cluster().helm}};
  // The namespace first, saying whose it is; harmony then finds it there.
  auto me = base::identify_process(::getpid());
  REQUIRE(me);
  std::string boot = me->boot_id;
  std::erase(boot, '-');
  const nlohmann::json object = {{"apiVersion", "v1"},
                                 {"kind", "Namespace"},
                                 {"metadata",
                                  {{"name", ns},
                                   {"labels",
                                    {{"harmony.test/owner-pid", std::to_string(me->pid)},
                                     {"harmony.test/owner-start", std::to_string(me->start_ticks)},
                                     {"harmony.test/owner-boot", boot}}}}}};
  auto r = kubectl({"apply", "-f", "-"}, object.dump());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);

  if (const char* t = std::getenv("HARMONY_E2E_FLEET_TOPOLOGY"); t != nullptr && std::string_view(t) == "k3d") {
    static std::atomic<int> clusters{0};
    const int n = ++clusters;
    std::cout << "NOTE: the fleet runs through the k3d topology against e2e/k3d-standin (backed by the test cluster); "
                 "real k3d and docker were NOT exercised"
              << std::endl;
    topology = "k3d";
    k3d_cluster = "f" + std::to_string(::getpid() % 100000) + "-" + std::to_string(n);
    k3d_node_port = static_cast<std::uint16_t>(30000 + (::getpid() * 7 + n * 13) % 2700);
    topology_flags = {"--cluster", k3d_cluster};
    box.path_dirs = {"hbin", "bin", HARMONY_E2E_K3D_STANDIN, "/usr/bin", "/bin"};
    const std::string state = box.make_dir("k3d-standin", 0700);
    box.vars.emplace_back("HARMONY_K3D_STANDIN_CLUSTER", test_cluster().state);
    box.vars.emplace_back("HARMONY_K3D_STANDIN_STATE", state);
  }
}

FleetStack::~FleetStack() {
  try {
    (void)harmony({"destroy", "fleet", "--yes", "--purge"});
    if (!k3d_cluster.empty()) (void)static_cast<const testing::Sandbox&>(box).run({"k3d", "cluster", "delete", k3d_cluster});
    (void)kubectl({"delete", "namespace", ns, "--wait=false", "--ignore-not-found"});
    // The FleetDevices its operator made are cluster-scoped.
    (void)kubectl({"delete", "fleetdevices", "-l", "fleet.harmony.dev/fleet=" + ns, "--wait=false", "--ignore-not-found"});
  } catch (...) {
  }
}

base::ProcessResult FleetStack::harmony(std::vector<std::string> args) const {
  std::vector<std::string> argv{"harmony"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--topology", topology, "-n", ns});
  argv.insert(argv.end(), topology_flags.begin(), topology_flags.end());
  return static_cast<const testing::Sandbox&>(box).run(argv, {}, 240s);
}

base::ProcessResult FleetStack::plain(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"harmony"};
  argv.insert(argv.end(), args.begin(), args.end());
  return static_cast<const testing::Sandbox&>(box).run(argv, {}, 60s);
}

base::ProcessResult FleetStack::deploy(const std::vector<std::string>& sets, const std::vector<std::string>& components) const {
  std::vector<std::string> args{"deploy", "fleet"};
  args.insert(args.end(), components.begin(), components.end());
  // node_port 0: each fleet gets the port Kubernetes picks, so that test
  // runs at once do not collide.
  const std::string node_port = "nats.node_port=" + std::to_string(k3d_node_port);  // 0: Kubernetes picks
  for (const auto& s : std::vector<std::string>{"nats.image=" + nats_test_image(), "agent.image=" + agent_test_image(),
                                                node_port, "agent.heartbeat=1s"})
    args.insert(args.end(), {"--set", s});
  if (components.empty() || std::find(components.begin(), components.end(), "operator") != components.end())
    args.insert(args.end(), {"--set", "operator.image=" + operator_test_image()});
  for (const auto& s : sets) args.insert(args.end(), {"--set", s});
  args.insert(args.end(), {"--timeout", "180s"});
  return harmony(args);
}

nlohmann::json FleetStack::get(const std::string& what) const {
  auto r = kubectl({"get", "-n", ns, what, "-o", "json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

std::vector<nlohmann::json> FleetStack::pods(const std::string& selector) const {
  auto r = kubectl({"get", "pods", "-n", ns, "-l", selector, "-o", "json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<nlohmann::json> out;
  const auto doc = nlohmann::json::parse(r.out);
  for (const auto& p : doc["items"])
    if (!p["metadata"].contains("deletionTimestamp")) out.push_back(p);
  return out;
}

}  // namespace harmony::e2e
