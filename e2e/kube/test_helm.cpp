// harmony::kube::Helm against the test cluster (support/cluster.hpp), with
// the real helm of the cluster's tool set (helm 4), cross-checked with helm
// itself.
// Charts come from `helm create` in a temp directory: no repository, no
// registry, nothing leaves the machine. Namespaces are helmw-*, deleted at
// the end of each case.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/process.hpp>
#include <harmony/kube/helm.hpp>
#include <harmony/kube/readiness.hpp>

#include "kube_cases.hpp"
#include "eventually.hpp"
#include "skip.hpp"
#include "temp_dir.hpp"

using namespace harmony;
using namespace harmony::e2e;
using nlohmann::json;
namespace es = base::exit_status;

namespace {

kube::Helm find_helm() {
  auto helm = kube::Helm::find(test_cluster().helm);
  INFO((helm ? std::string() : helm.error().message + ": " + helm.error().reason));
  REQUIRE(helm);
  return *helm;
}

kube::HelmTarget target_in(const kube::Client& c, const std::string& namespace_) {
  kube::HelmTarget t = kube::helm_target(admin(), c.config());
  t.namespace_ = namespace_;
  return t;
}

// `helm create`'s chart, able to run the cluster's busybox (support/cluster.hpp).
struct BusyboxChart {
  testing::TempDir dir;
  std::string path = e2e::busybox_chart(dir / "demo");
  static json values(int replicas) { return e2e::busybox_chart_values(replicas); }
};

// What each case starts from: a client, a helmw-<hint> namespace of its own,
// the cluster's helm and the target that reaches that namespace.
struct HelmCase {
  explicit HelmCase(const std::string& hint)
      : c(client(admin())), ns(*c, hint, "helmw"), helm(find_helm()), target(target_in(*c, ns.name)) {}
  std::unique_ptr<kube::Client> c;
  Namespace ns;
  kube::Helm helm;
  kube::HelmTarget target;
};

// A chart without templates under `dir`, for the templates a case writes.
std::string bare_chart(const testing::TempDir& dir, const std::string& name) {
  const std::string path = dir / name;
  REQUIRE(base::make_directories(path + "/templates"));
  REQUIRE(base::write_file_atomically(path + "/Chart.yaml", "apiVersion: v2\nname: " + name + "\nversion: 0.1.0\n"));
  return path;
}

std::vector<std::string> kinds_and_names(const std::vector<kube::Object>& objects) {
  std::vector<std::string> out;
  for (const auto& o : objects) out.push_back(o.kind() + "/" + o.name());
  return out;
}

}  // namespace

TEST_CASE("helm: a chart installs, reads back as helm reports it, upgrades, renders the same, and uninstalls") {
  HelmCase t("life");
  auto& [c, ns, helm, target] = t;
  CHECK(helm.version().major == 4);
  BusyboxChart chart;

  kube::HelmReleaseRequest request;
  request.release = "demo";
  request.chart.chart = chart.path;
  request.values = BusyboxChart::values(1).dump();
  request.timeout = std::chrono::seconds(120);
  auto installed = helm.upgrade_install(target, request);
  INFO((installed ? std::string() : installed.error().message + ": " + installed.error().reason));
  REQUIRE(installed);
  CHECK(installed->info.name == "demo");
  CHECK(installed->info.namespace_ == ns.name);
  CHECK(installed->info.revision == 1);
  CHECK(installed->info.status == "deployed");
  CHECK(installed->info.chart == "demo-0.1.0");
  CHECK(installed->info.app_version == "1.16.0");
  CHECK(kinds_and_names(installed->objects) == std::vector<std::string>{"ServiceAccount/demo", "Service/demo", "Deployment/demo"});
  for (const auto& o : installed->objects) CHECK(o.namespace_() == ns.name);

  // No --wait: the caller waits on the objects, here with the client's rules.
  for (const auto& o : installed->objects) {
    INFO(o.kind() + "/" + o.name());
    CHECK(testing::eventually([&] {
      auto live = c->get(kube::ObjectRef::of(o));
      return live && kube::evaluate(*live).ready();
    }, std::chrono::seconds(120)));
  }

  // What harmony reads back is what helm itself reports.
  auto objects = helm.manifest(target, "demo");
  REQUIRE(objects);
  REQUIRE(objects->size() == installed->objects.size());
  for (std::size_t i = 0; i < objects->size(); ++i) CHECK((*objects)[i].to_json() == installed->objects[i].to_json());
  auto status = helm.status(target, "demo");
  REQUIRE(status);
  REQUIRE(status->has_value());
  const auto& info = **status;
  const json helm_status = json::parse(helm_cli({"status", "demo", "-n", ns.name, "-o", "json"}).out);
  CHECK(info.name == helm_status["name"]);
  CHECK(info.namespace_ == helm_status["namespace"]);
  CHECK(info.revision == helm_status["version"]);
  CHECK(info.status == helm_status["info"]["status"]);
  CHECK(info.updated == helm_status["info"]["last_deployed"]);
  CHECK(info.description == helm_status["info"]["description"]);
  const json helm_list = json::parse(helm_cli({"list", "-n", ns.name, "-o", "json", "--filter", "^demo$"}).out);
  REQUIRE(helm_list.size() == 1);
  CHECK(info.chart == helm_list[0]["chart"]);
  CHECK(info.app_version == helm_list[0]["app_version"]);
  CHECK(std::to_string(info.revision) == helm_list[0]["revision"]);
  CHECK(info.status == helm_list[0]["status"]);
  auto values = helm.values(target, "demo");
  REQUIRE(values);
  CHECK(json::parse(*values) == BusyboxChart::values(1));

  // An upgrade with other values is revision 2, and the values are exactly those.
  request.values = BusyboxChart::values(2).dump();
  auto upgraded = helm.upgrade_install(target, request);
  REQUIRE(upgraded);
  CHECK(upgraded->info.revision == 2);
  CHECK(upgraded->info.status == "deployed");
  CHECK(upgraded->objects.back().int_at("/spec/replicas") == 2);
  CHECK(json::parse(*helm.values(target, "demo")) == BusyboxChart::values(2));
  CHECK((*helm.status(target, "demo"))->revision == 2);

  // Rendering without the cluster gives the objects the release holds.
  auto rendered = helm.render(target, request);
  REQUIRE(rendered);
  auto stored = helm.manifest(target, "demo");
  REQUIRE(stored);
  REQUIRE(rendered->size() == stored->size());
  for (std::size_t i = 0; i < stored->size(); ++i) CHECK((*rendered)[i].to_json() == (*stored)[i].to_json());

  // A dry run shows the next revision and changes nothing.
  request.values = BusyboxChart::values(3).dump();
  request.dry_run = true;
  auto planned = helm.upgrade_install(target, request);
  REQUIRE(planned);
  CHECK(planned->objects.back().int_at("/spec/replicas") == 3);
  CHECK((*helm.status(target, "demo"))->revision == 2);
  CHECK(c->get({"apps/v1", "Deployment", ns.name, "demo"})->int_at("/spec/replicas") == 2);

  // Uninstalling waits until the objects are gone; twice is fine.
  REQUIRE(helm.uninstall(target, "demo", std::chrono::seconds(120)));
  for (const auto& o : installed->objects) {
    auto gone = c->find(kube::ObjectRef::of(o));
    REQUIRE(gone);
    CHECK_FALSE(gone->has_value());
  }
  auto after = helm.status(target, "demo");
  REQUIRE(after);
  CHECK_FALSE(after->has_value());
  CHECK(helm.uninstall(target, "demo"));
  auto no_manifest = helm.manifest(target, "demo");
  REQUIRE_FALSE(no_manifest);
  CHECK(no_manifest.error().status == es::object_not_found);
}

TEST_CASE("helm: a chart from a repository URL at a pinned version installs that version, and an unknown version is 18") {
  HelmCase t("repo");
  auto& [c, ns, helm, target] = t;
  // A chart repository of two versions, served by Python's http.server on
  // loopback: `helm package` and `helm repo index`, as a publisher makes one.
  BusyboxChart chart;
  testing::TempDir repo, next;
  // The next version: the same chart at 0.2.0.
  std::filesystem::copy(chart.path, next / "demo", std::filesystem::copy_options::recursive);
  auto chart_yaml = base::read_file(next / "demo/Chart.yaml");
  REQUIRE(chart_yaml);
  std::string bumped = *chart_yaml;
  bumped.replace(bumped.find("version: 0.1.0"), 14, "version: 0.2.0");
  REQUIRE(base::write_file_atomically(next / "demo/Chart.yaml", bumped));
  LoopbackChartRepository published({chart.path, next / "demo"}, repo.path());
  const std::string url = published.url;

  kube::HelmReleaseRequest request;
  request.release = "published";
  request.chart = {"demo", url, "0.1.0"};
  request.values = BusyboxChart::values(1).dump();
  request.timeout = std::chrono::seconds(120);
  CHECK(kube::source_of(request.chart) == kube::HelmChartSource::repository);
  auto installed = helm.upgrade_install(target, request);
  INFO((installed ? std::string() : installed.error().message + ": " + installed.error().reason));
  REQUIRE(installed);
  CHECK(installed->info.chart == "demo-0.1.0");
  // helm itself agrees.
  auto listed = helm_cli({"list", "-n", ns.name, "-o", "json"});
  CHECK_THAT(listed.out, Catch::Contains("\"chart\":\"demo-0.1.0\""));
  // The next pinned version upgrades to it.
  request.chart.version = "0.2.0";
  auto upgraded = helm.upgrade_install(target, request);
  REQUIRE(upgraded);
  CHECK(upgraded->info.chart == "demo-0.2.0");
  CHECK(upgraded->info.revision == 2);

  request.chart.version = "9.9.9";
  auto unknown = helm.upgrade_install(target, request);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().status == es::object_not_found);
  CHECK_THAT(unknown.error().reason, Catch::Contains("9.9.9"));
}

TEST_CASE("helm: a chart pushed to an OCI registry installs from its oci:// reference at a pinned version") {
  if (::access(HARMONY_E2E_REGISTRY, X_OK) != 0)
    HARMONY_SKIP("no OCI registry here (e2e/cluster/build-components registry builds it)");
  HelmCase t("oci");
  auto& [c, ns, helm, target] = t;
  // go-containerregistry's registry, in memory, on a port it picks; helm
  // pushes the packaged chart to it as a publisher would.
  testing::TempDir dir;
  LoopbackServer registry_server({HARMONY_E2E_REGISTRY, "-port", "0"}, dir / "registry.log", "serving on port ");
  const std::string& port = registry_server.port;
  BusyboxChart chart;
  auto packaged = helm_cli({"package", chart.path, "-d", dir.path()});
  INFO(packaged.out + packaged.err);
  REQUIRE(packaged.exit_code == 0);
  const std::string registry = "oci://127.0.0.1:" + port + "/charts";
  auto pushed = helm_cli({"push", dir / "demo-0.1.0.tgz", registry, "--plain-http"});
  INFO(pushed.out + pushed.err);
  REQUIRE(pushed.exit_code == 0);

  kube::HelmReleaseRequest request;
  request.release = "from-oci";
  request.chart = {.chart = registry + "/demo", .repository = {}, .version = "0.1.0", .plain_http = true};
  request.values = BusyboxChart::values(1).dump();
  request.timeout = std::chrono::seconds(120);
  CHECK(kube::source_of(request.chart) == kube::HelmChartSource::oci);
  auto installed = helm.upgrade_install(target, request);
  INFO((installed ? std::string() : installed.error().message + ": " + installed.error().reason));
  REQUIRE(installed);
  CHECK(installed->info.chart == "demo-0.1.0");
  CHECK_THAT(helm_cli({"list", "-n", ns.name, "-o", "json"}).out, Catch::Contains("\"chart\":\"demo-0.1.0\""));

  request.chart.version = "0.9.0";
  auto unknown = helm.upgrade_install(target, request);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().status == es::object_not_found);
}

TEST_CASE("helm: a missing chart, a missing namespace, an invalid object and an unreachable cluster are told apart") {
  HelmCase t("errors");
  auto& [c, ns, helm, target] = t;

  kube::HelmReleaseRequest missing;
  missing.release = "nothing";
  missing.chart.chart = "/nonexistent/charts/demo";
  auto no_chart = helm.upgrade_install(target, missing);
  REQUIRE_FALSE(no_chart);
  CHECK(no_chart.error().status == es::object_not_found);
  CHECK_THAT(no_chart.error().message, Catch::Contains("no chart at '/nonexistent/charts/demo'"));

  // A chart of our own making for the cluster to refuse.
  testing::TempDir dir;
  kube::HelmReleaseRequest bad;
  bad.release = "bad";
  bad.chart.chart = bare_chart(dir, "bad");
  REQUIRE(base::write_file_atomically(bad.chart.chart + "/templates/cm.yaml",
                                      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n"));
  bad.values = json{{"name", "Not_A_Name"}}.dump();
  auto invalid = helm.upgrade_install(target, bad);
  REQUIRE_FALSE(invalid);
  CHECK(invalid.error().status == es::invalid);
  CHECK_THAT(invalid.error().reason, Catch::Contains("Not_A_Name") && Catch::Contains("is invalid"));

  bad.values = json{{"name", "fine"}}.dump();
  kube::HelmTarget elsewhere = target;
  elsewhere.namespace_ = ns.name + "-absent";
  auto no_namespace = helm.upgrade_install(elsewhere, bad);
  REQUIRE_FALSE(no_namespace);
  CHECK(no_namespace.error().status == es::object_not_found);
  CHECK_THAT(no_namespace.error().hint, Catch::Contains("create_namespace"));

  // Asked to, helm creates it (and the release with it).
  bad.create_namespace = true;
  auto created = helm.upgrade_install(elsewhere, bad);
  REQUIRE(created);
  CHECK(created->info.status == "deployed");
  CHECK(c->get({"v1", "ConfigMap", elsewhere.namespace_, "fine"}));
  kube::DeleteOptions no_wait;
  no_wait.wait = false;
  CHECK(c->remove({"v1", "Namespace", "", elsewhere.namespace_}, no_wait));

  // A cluster nobody listens for.
  const std::string closed = dir / "closed.kubeconfig";
  auto admin_config = base::read_file(test_cluster().kubeconfig);
  REQUIRE(admin_config);
  const auto server = admin_config->find("server: ");
  REQUIRE(server != std::string::npos);
  std::string text = *admin_config;
  text.replace(server, text.find('\n', server) - server, "server: https://127.0.0.1:1");
  REQUIRE(base::write_file_atomically(closed, text));
  kube::HelmTarget unreachable = target;
  unreachable.kubeconfig = closed;
  auto down = helm.status(unreachable, "demo");
  REQUIRE_FALSE(down);
  CHECK(down.error().status == es::unreachable);
  CHECK_THAT(down.error().hint, Catch::Contains("kubectl cluster-info"));
}

TEST_CASE("helm: a release left pending by a helm that was killed is lock_held, with the way out") {
  HelmCase t("pending");
  auto& [c, ns, helm, target] = t;

  // A pre-install hook that never finishes keeps helm waiting; SIGKILL then
  // leaves the release pending-install, as a crash or a lost terminal would.
  testing::TempDir dir;
  const std::string slow = bare_chart(dir, "slow");
  const json hook = {{"apiVersion", "v1"},
                     {"kind", "Pod"},
                     {"metadata", {{"name", "slow-hook"}, {"annotations", {{"helm.sh/hook", "pre-install,pre-upgrade"}}}}},
                     {"spec", {{"restartPolicy", "Never"},
                               {"containers", {{{"name", "sleep"}, {"image", test_cluster().busybox_image},
                                                {"imagePullPolicy", "Never"}, {"command", {"sleep", "3600"}}}}}}}};
  REQUIRE(base::write_file_atomically(slow + "/templates/hook.json", hook.dump()));
  const auto killer = base::find_program("timeout", "/usr/bin:/bin");
  REQUIRE(killer);
  base::ProcessSpec spec;
  spec.argv = {*killer, "-s", "KILL", "5", test_cluster().helm, "upgrade", "--install", "slow", slow,
               "--kubeconfig", test_cluster().kubeconfig, "-n", ns.name};
  spec.timeout = std::chrono::seconds(60);
  auto killed = base::run_process(spec);
  REQUIRE(killed);
  REQUIRE_FALSE(killed->ok());
  auto pending = helm.status(target, "slow");
  REQUIRE(pending);
  REQUIRE(pending->has_value());
  CHECK((*pending)->status == "pending-install");

  kube::HelmReleaseRequest again;
  again.release = "slow";
  again.chart.chart = slow;
  again.timeout = std::chrono::seconds(30);
  auto locked = helm.upgrade_install(target, again);
  REQUIRE_FALSE(locked);
  CHECK(locked.error().status == es::lock_held);
  CHECK_THAT(locked.error().reason, Catch::Contains("another operation"));
  CHECK_THAT(locked.error().hint, Catch::Contains("helm history slow -n " + ns.name) &&
                                      Catch::Contains("helm uninstall slow -n " + ns.name));
}

TEST_CASE("helm: a helm older than 3.12 is refused with a hint to install another") {
  testing::TempDir dir;
  const std::string old = dir / "helm";
  REQUIRE(base::write_file_atomically(old, "#!/bin/sh\necho v3.11.0\n", 0755));
  auto refused = kube::Helm::find(old);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().status == es::unsupported);
  CHECK(refused.error().message == "helm 3.11.0 is too old for harmony");
  CHECK_THAT(refused.error().hint, Catch::Contains("https://helm.sh/docs/intro/install/"));
  // The real one is fine.
  CHECK(kube::Helm::find(test_cluster().helm));
}
