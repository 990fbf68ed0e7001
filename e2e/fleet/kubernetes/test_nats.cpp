// The fleet's NATS objects (harmony/fleet/kubernetes.hpp) in the test
// cluster: applied as FleetNatsScore will apply them, with an image made
// here from the cluster's nats-server binary; the StatefulSet becomes ready
// (its /healthz probe, JetStream writing as nobody on a read-only root) and
// the operator logs in through the NodePort from the host.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>
#include <thread>
#include <unistd.h>

#include <harmony/agent/client.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/process.hpp>
#include <harmony/fleet/config.hpp>
#include <harmony/fleet/kubernetes.hpp>
#include <harmony/kube/client.hpp>
#include <harmony/kube/readiness.hpp>
#include <harmony/topologies/kubernetes.hpp>

#include "cluster.hpp"
#include "temp_dir.hpp"

using namespace harmony;
using namespace std::chrono_literals;

namespace {

// harmony.local/nats-server-test:<pid>: the cluster's nats-server at
// /nats-server, as upstream's image has it, imported into its containerd.
std::string nats_image() {
  static const std::string ref = [] {
    const auto& c = e2e::test_cluster();
    testing::TempDir dir;
    const std::string nats = base::read_file(c.state + "/cluster.env").value_or("");
    const auto at = nats.find("HARMONY_CLUSTER_NATS_SERVER=");
    REQUIRE(at != std::string::npos);
    const std::string binary = nats.substr(at + 28, nats.find('\n', at) - at - 28);
    const std::string image = "harmony.local/nats-server-test:" + std::to_string(::getpid());
    const std::string script = ". " HARMONY_E2E_SOURCE "/packaging/container/oci-archive.sh && mkdir -p '" + dir / "root" +
                               "' && cp '" + binary + "' '" + dir / "root/nats-server" + "' && oci_archive '" + dir / "root" +
                               "' " + image + " '{\"Entrypoint\":[\"/nats-server\"]}' '" + dir / "nats.tar" + "' && ctr --address '" +
                               c.state + "/containerd/containerd.sock' -n k8s.io images import '" + dir / "nats.tar" + "' >/dev/null";
    base::ProcessSpec spec;
    spec.argv = {"/bin/bash", "-c", script};
    spec.timeout = 60s;
    auto r = base::run_process(spec);
    INFO((r ? r->err : r.error().message));
    REQUIRE((r && r->ok()));
    return image;
  }();
  return ref;
}

// A NodePort of its own (30700-32699), so that tests running at once do not collide.
std::uint16_t node_port() { return static_cast<std::uint16_t>(30700 + ::getpid() % 2000); }

}  // namespace

TEST_CASE("the fleet's NATS objects run in a real cluster: ready on /healthz, and the operator logs in through the NodePort") {
  const auto& cluster = e2e::test_cluster();
  kube::LoadOptions load;
  load.explicit_path = cluster.kubeconfig;
  auto c = kube::Client::connect(load);
  REQUIRE(c);
  kube::Client& api = **c;
  const std::string ns = "fleet-nats-" + std::to_string(::getpid());
  auto namespace_object = kube::Object::parse(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")" + ns + "\"}}");
  REQUIRE(api.apply(*namespace_object));
  struct Cleanup {
    kube::Client& api;
    std::string ns;
    ~Cleanup() {
      kube::DeleteOptions d;
      d.wait = false;
      (void)api.remove({"v1", "Namespace", "", ns}, d);
    }
  } cleanup{api, ns};

  fleet::NatsSettings s;
  s.image = nats_image();
  s.node_port = Port{node_port()};
  s.tls = false;  // TLS, with the certificates harmony makes, is tested through harmony deploy fleet
  const std::string password = fleet::generate_password();
  const std::string accounts = fleet::render_accounts({{std::string(fleet::operator_user), password, ""}});
  auto objects = fleet::nats_objects(s, fleet::generate_password());
  objects.insert(objects.begin(), fleet::nats_accounts_object(accounts));
  for (auto o : objects) {
    o.set_string("/metadata/namespace", ns);
    auto applied = api.apply(o);
    INFO((applied ? std::string() : applied.error().message + ": " + applied.error().reason));
    REQUIRE(applied);
  }

  // Ready: the StatefulSet's rule (its pod passed /healthz).
  kube::Readiness ready;
  for (int i = 0; i < 240 && !ready.ready(); ++i) {
    auto set = api.get({"apps/v1", "StatefulSet", ns, fleet::nats_statefulset});
    REQUIRE(set);
    ready = kube::evaluate(*set);
    if (!ready.ready()) std::this_thread::sleep_for(250ms);
  }
  INFO(ready.message << "\n" << e2e::kubectl({"describe", "pods", "-n", ns}).out);
  REQUIRE(ready.ready());

  // The operator, from the host, through the NodePort on the node's address
  // (once kube-proxy has the port).
  agent::Connection connection{{"nats://" + cluster.node_ip + ":" + std::to_string(s.node_port.value)},
                               std::string(fleet::operator_user), password, "test"};
  bool connected = false;
  std::string why;
  for (int i = 0; i < 40 && !connected; ++i) {
    auto client = agent::Client::connect(connection, 2s);
    connected = client.has_value();
    if (!connected) {
      why = client.error().message + ": " + client.error().reason;
      std::this_thread::sleep_for(250ms);
    }
  }
  INFO(why);
  CHECK(connected);
  // A wrong password is refused: the accounts are the ones applied.
  connection.password = "not-the-password";
  CHECK_FALSE(agent::Client::connect(connection, 2s).has_value());
}

TEST_CASE("FleetNatsScore's Kubernetes realisation through the kubeconfig topology: deployed, checked, unchanged again, and destroyed") {
  const auto& cluster = e2e::test_cluster();
  testing::TempDir state;
  // The deploy writes harmony agent's connection files: here, not in the caller's home.
  ::setenv("XDG_STATE_HOME", (state / "xdg").c_str(), 1);
  TopologyEnvironment env;
  env.plugin = "fleet";
  env.state_root = state / "fleet";
  env.kubeconfig = cluster.kubeconfig;
  env.namespace_ = "fleet-deploy-" + std::to_string(::getpid());
  RunContext ctx;
  ctx.plugin = "fleet";
  ctx.topology = "kubeconfig";
  ctx.component = "nats";
  ctx.operation = "deploy";
  ctx.deadline = Clock::now() + 120s;

  fleet::NatsSettings s;
  s.image = nats_image();
  s.node_port = Port{static_cast<std::uint16_t>(node_port() + 1)};
  {
    topologies::Kubeconfig topology(env);
    auto ready = topology.ensure_ready(ctx);
    INFO((ready ? std::string() : ready.error().message));
    REQUIRE(ready);
    Outcome first = fleet::deploy_nats_on_kubernetes(s, {}, topology.kubernetes(), ctx);
    INFO(first.message << (first.error ? ": " + first.error->message + ": " + first.error->reason : std::string()));
    REQUIRE_FALSE(first.failed());
    CHECK(first.changed());
    CHECK(topology.record(ctx, {"nats", "{}", "now"}));
    auto checked = fleet::check_nats_on_kubernetes(s, topology.kubernetes(), ctx);
    INFO((checked ? std::string() : checked.error().message + ": " + checked.error().reason));
    CHECK(checked);
  }
  {
    topologies::Kubeconfig topology(env);
    REQUIRE(topology.ensure_ready(ctx));
    Outcome again = fleet::deploy_nats_on_kubernetes(s, {}, topology.kubernetes(), ctx);
    INFO(again.message);
    CHECK(again.status == OutcomeStatus::no_change);  // same password, same objects, the bucket there
  }
  {
    topologies::Kubeconfig topology(env);
    ctx.operation = "destroy";
    REQUIRE(topology.ensure_ready(ctx));
    auto gone = topology.destroy(ctx, {true, false});
    INFO((gone ? gone->message : gone.error().message));
    CHECK(gone);
    CHECK(e2e::kubectl({"get", "namespace", env.namespace_, "-o", "name", "--ignore-not-found"}).out.empty());
  }
}
