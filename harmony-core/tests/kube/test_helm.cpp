// The helm wrapper's steps, alone: versions, arguments, requests, manifests,
// helm's JSON and its failures. A fake `helm` (a shell script) stands in only
// where a process must run: finding helm, and what happens around a helm that
// fails (the values file, the environment, the error). Nothing here contacts
// a chart repository or a cluster.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/paths.hpp>
#include <harmony/base/text.hpp>
#include <harmony/kube/helm.hpp>
#include <harmony/kube/json.hpp>

#include "temp_dir.hpp"

using namespace harmony;
using namespace harmony::kube;
using nlohmann::json;
using Strings = std::vector<std::string>;
namespace es = base::exit_status;

namespace {

const base::Version helm4{4, 1, 4, {}};

HelmTarget shop() {
  HelmTarget t;
  t.namespace_ = "shop";
  return t;
}

HelmReleaseRequest request(HelmChart chart) {
  HelmReleaseRequest r;
  r.release = "web";
  r.chart = std::move(chart);
  return r;
}

std::vector<Object> manifest(std::string_view yaml, std::string_view namespace_ = "shop") {
  auto objects = parse_manifest(yaml, namespace_);
  INFO((objects ? std::string() : objects.error().message + ": " + objects.error().reason));
  REQUIRE(objects);
  return *objects;
}

}  // namespace

// ---- versions ----------------------------------------------------------------

TEST_CASE("helm: versions 3.12 and newer and 4.x are accepted, as helm prints them") {
  for (const char* printed : {"v3.12.0", "v3.16.2\n", "v4.1.4", "v4.1.4+g05fa379", "v4.0.0-rc.1", " v3.19.0 \n"}) {
    INFO(printed);
    auto v = parse_helm_version(printed, "/usr/bin/helm");
    REQUIRE(v);
    CHECK(helm_version_supported(*v));
  }
  CHECK(parse_helm_version("v4.1.4+g05fa379", "helm")->str() == "4.1.4");
}

TEST_CASE("helm: older, newer and unreadable versions are refused as unsupported, with an install hint") {
  auto old = parse_helm_version("v3.11.3", "/opt/helm");
  REQUIRE_FALSE(old);
  CHECK(old.error().status == es::unsupported);
  CHECK(old.error().message == "helm 3.11.3 is too old for harmony");
  CHECK_THAT(old.error().reason, Catch::Contains("'/opt/helm'") && Catch::Contains("3.12"));
  CHECK_THAT(old.error().hint, Catch::Contains("https://helm.sh/docs/intro/install/"));

  auto candidate = parse_helm_version("v3.12.0-rc.1", "helm");  // before 3.12.0
  REQUIRE_FALSE(candidate);
  CHECK(candidate.error().message == "helm 3.12.0-rc.1 is too old for harmony");
  CHECK_FALSE(parse_helm_version("v2.17.0", "helm"));
  auto future = parse_helm_version("v5.0.0", "helm");
  REQUIRE_FALSE(future);
  CHECK_THAT(future.error().message, Catch::Contains("newer than harmony knows"));

  for (const char* garbage : {"", "<no value>", "v3.12", "Client: &version.Version{SemVer:\"v2.16.1\"}", "\x1b[31mv4\x1b[0m"}) {
    INFO(garbage);
    auto v = parse_helm_version(garbage, "helm");
    REQUIRE_FALSE(v);
    CHECK(v.error().status == es::unsupported);
    CHECK_THAT(v.error().message, Catch::Contains("cannot tell which version"));
    CHECK(v.error().reason.find('\x1b') == std::string::npos);
  }
}

TEST_CASE("helm: a missing helm is unsupported, naming where it was looked for and how to install one") {
  auto missing = Helm::find("/nonexistent/bin/helm");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().status == es::unsupported);
  CHECK_THAT(missing.error().reason, Catch::Contains("'/nonexistent/bin/helm' does not exist"));
  CHECK_THAT(missing.error().hint, Catch::Contains("https://helm.sh/docs/intro/install/") && Catch::Contains("HARMONY_HELM"));

  auto not_in_path = Helm::find("harmony-no-such-helm");
  REQUIRE_FALSE(not_in_path);
  CHECK(not_in_path.error().message == "helm is not installed");
  CHECK_THAT(not_in_path.error().reason, Catch::Contains("in PATH"));
}

TEST_CASE("helm: find runs the helm it is given, or $HARMONY_HELM, and checks its version") {
  testing::TempDir dir;
  const std::string old_helm = dir / "helm-3.11";
  std::ofstream(old_helm) << "#!/bin/sh\n[ \"$1 $2 $3\" = 'version --template {{.Version}}' ] && echo v3.11.0\n";
  ::chmod(old_helm.c_str(), 0755);
  auto refused = Helm::find(old_helm);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().status == es::unsupported);
  CHECK_THAT(refused.error().reason, Catch::Contains(old_helm) && Catch::Contains("3.11.0"));

  const std::string good = dir / "helm-4";
  std::ofstream(good) << "#!/bin/sh\necho v4.1.4\n";
  ::chmod(good.c_str(), 0755);
  ::setenv("HARMONY_HELM", good.c_str(), 1);
  auto found = Helm::find();
  ::unsetenv("HARMONY_HELM");
  REQUIRE(found);
  CHECK(found->path() == good);
  CHECK(found->version() == helm4);

  const std::string broken = dir / "helm-broken";
  std::ofstream(broken) << "#!/bin/sh\necho 'Error: unknown flag: --template' >&2\nexit 1\n";
  ::chmod(broken.c_str(), 0755);
  auto unreadable = Helm::find(broken);
  REQUIRE_FALSE(unreadable);
  CHECK(unreadable.error().status == es::unsupported);
  CHECK_THAT(unreadable.error().reason, Catch::Contains("unknown flag: --template"));
}

// ---- requests and arguments --------------------------------------------------

TEST_CASE("helm: upgrade --install of a local chart, without --wait, values reset to the ones given") {
  testing::TempDir dir;
  auto r = request({dir.path(), "", ""});
  r.timeout = std::chrono::seconds(90);
  CHECK(source_of(r.chart) == HelmChartSource::local);
  REQUIRE(check_request(shop(), r));
  CHECK(helm_arguments(HelmOperation::upgrade_install, helm4, shop(), r, "/tmp/h/values.yaml") ==
        Strings{"upgrade", "--install", "--namespace", "shop", "--reset-values", "--timeout", "90s", "--output", "json",
                "--values", "/tmp/h/values.yaml", "--", "web", dir.path()});
  // No values: no file, and --reset-values still keeps the last release's values out.
  CHECK(helm_arguments(HelmOperation::upgrade_install, helm4, shop(), r, "") ==
        Strings{"upgrade", "--install", "--namespace", "shop", "--reset-values", "--timeout", "90s", "--output", "json",
                "--", "web", dir.path()});
}

TEST_CASE("helm: a chart from a repository URL, with a version, and the target's kubeconfig and context") {
  auto r = request({"nats", "https://nats-io.github.io/k8s/helm/charts/", "1.2.3"});
  r.create_namespace = true;
  r.timeout = std::chrono::milliseconds(1500);
  HelmTarget target{"/home/me/.kube/config", "dev", "fleet"};
  CHECK(source_of(r.chart) == HelmChartSource::repository);
  REQUIRE(check_request(target, r));
  CHECK(helm_arguments(HelmOperation::upgrade_install, helm4, target, r, "/v") ==
        Strings{"upgrade", "--install", "--namespace", "fleet", "--kubeconfig", "/home/me/.kube/config", "--kube-context",
                "dev", "--reset-values", "--create-namespace", "--timeout", "1500ms", "--output", "json", "--repo",
                "https://nats-io.github.io/k8s/helm/charts/", "--version", "1.2.3", "--values", "/v", "--", "web", "nats"});
  // A KUBECONFIG-style list goes to helm's environment, not to --kubeconfig.
  target.kubeconfig = "/a:/b";
  const auto args = helm_arguments(HelmOperation::upgrade_install, helm4, target, r, "");
  CHECK(std::find(args.begin(), args.end(), "--kubeconfig") == args.end());
}

TEST_CASE("helm: an OCI chart with a version constraint") {
  auto r = request({"oci://registry.example/charts/nats", "", "^1.2"});
  CHECK(source_of(r.chart) == HelmChartSource::oci);
  REQUIRE(check_request(shop(), r));
  CHECK(helm_arguments(HelmOperation::upgrade_install, helm4, shop(), r, "") ==
        Strings{"upgrade", "--install", "--namespace", "shop", "--reset-values", "--timeout", "300s", "--output", "json",
                "--version", "^1.2", "--", "web", "oci://registry.example/charts/nats"});
  // A registry without TLS (a local one) is said so to helm; a repository URL never is.
  r.chart.plain_http = true;
  const auto plain = helm_arguments(HelmOperation::upgrade_install, helm4, shop(), r, "");
  CHECK(std::find(plain.begin(), plain.end(), "--plain-http") != plain.end());
  auto repository = request({"nats", "https://charts.example/", "1.2.3"});
  repository.chart.plain_http = true;
  const auto by_url = helm_arguments(HelmOperation::upgrade_install, helm4, shop(), repository, "");
  CHECK(std::find(by_url.begin(), by_url.end(), "--plain-http") == by_url.end());
}

TEST_CASE("helm: a dry run is --dry-run=server from helm 3.13 on, plain --dry-run on 3.12") {
  auto r = request({"oci://r/c", "", ""});
  r.dry_run = true;
  auto has = [](const Strings& args, const std::string& word) { return std::find(args.begin(), args.end(), word) != args.end(); };
  CHECK(has(helm_arguments(HelmOperation::upgrade_install, helm4, shop(), r, ""), "--dry-run=server"));
  CHECK(has(helm_arguments(HelmOperation::upgrade_install, {3, 13, 0, {}}, shop(), r, ""), "--dry-run=server"));
  const auto old = helm_arguments(HelmOperation::upgrade_install, {3, 12, 3, {}}, shop(), r, "");
  CHECK(has(old, "--dry-run"));
  CHECK_FALSE(has(old, "--dry-run=server"));
}

TEST_CASE("helm: render is helm template without hooks and without the cluster") {
  auto r = request({"nats", "https://charts.example/", "1.0.0"});
  HelmTarget target{"/home/me/.kube/config", "dev", "fleet"};
  CHECK(helm_arguments(HelmOperation::render, helm4, target, r, "/v") ==
        Strings{"template", "--namespace", "fleet", "--no-hooks", "--repo", "https://charts.example/", "--version", "1.0.0",
                "--values", "/v", "--", "web", "nats"});
}

TEST_CASE("helm: requests that cannot work are refused before helm runs") {
  testing::TempDir dir;
  auto refused = [](const HelmTarget& target, const HelmReleaseRequest& r) {
    auto checked = check_request(target, r);
    REQUIRE_FALSE(checked);
    return checked.error();
  };
  auto good = request({dir.path(), "", ""});
  REQUIRE(check_request(shop(), good));

  for (const char* name : {"", "Web", "web_1", "-web", "web.", "a..b", "web app",
                           "a-very-long-release-name-that-is-longer-than-fifty-three"}) {
    INFO(name);
    auto r = good;
    r.release = name;
    CHECK(refused(shop(), r).status == es::invalid_settings);
  }
  auto dotted = good;
  dotted.release = "web.v2";
  CHECK(check_request(shop(), dotted));

  CHECK_THAT(refused(HelmTarget{}, good).message, Catch::Contains("no namespace"));

  auto missing = request({dir / "no-such-chart", "", ""});
  auto e = refused(shop(), missing);
  CHECK(e.status == es::object_not_found);
  CHECK_THAT(e.message, Catch::Contains("no chart at") && Catch::Contains("no-such-chart"));
  CHECK_THAT(e.hint, Catch::Contains("repository URL") && Catch::Contains("oci://"));

  // "bitnami/nginx" would be looked up in one user's `helm repo add` list.
  CHECK(refused(shop(), request({"bitnami/nginx", "", ""})).status == es::object_not_found);
  CHECK_THAT(refused(shop(), request({dir.path(), "", "1.0.0"})).message, Catch::Contains("no version to choose"));
  CHECK(refused(shop(), request({"nats", "ftp://charts.example/", ""})).status == es::invalid_settings);
  CHECK(refused(shop(), request({"nats", "oci://charts.example/", ""})).status == es::invalid_settings);
  CHECK(refused(shop(), request({"repo/nats", "https://charts.example/", ""})).status == es::invalid_settings);
  CHECK(refused(shop(), request({"oci://r/c", "https://charts.example/", ""})).status == es::invalid_settings);
  CHECK(refused(shop(), request({"", "", ""})).status == es::invalid_settings);
  auto no_time = good;
  no_time.timeout = std::chrono::milliseconds(0);
  CHECK(refused(shop(), no_time).status == es::failure);
}

TEST_CASE("helm: values must be one YAML or JSON map, and a broken one is reported by place, never by content") {
  testing::TempDir dir;
  auto r = request({dir.path(), "", ""});
  for (const char* ok : {"", "replicaCount: 2\nimage: {tag: \"1\"}\n", R"({"password": "s3cret", "n": [1, 2]})", "# nothing\n"}) {
    INFO(ok);
    r.values = ok;
    CHECK(check_request(shop(), r));
  }
  r.values = "password: s3cret\n  broken: [\n";
  auto bad = check_request(shop(), r);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().status == es::invalid_settings);
  CHECK_THAT(bad.error().reason, Catch::Contains("line "));
  const std::string all = bad.error().message + bad.error().reason + bad.error().hint;
  CHECK(all.find("s3cret") == std::string::npos);

  for (const char* not_a_map : {"- a\n- b\n", "just text", "a: 1\n---\nb: 2\n"}) {
    INFO(not_a_map);
    r.values = not_a_map;
    auto refused = check_request(shop(), r);
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.error().message, Catch::Contains("not a map"));
  }
}

TEST_CASE("helm: helm_target reaches what the client reaches") {
  ClientConfig config;
  config.context = "dev";
  config.namespace_ = "shop";
  config.files = {"/home/me/.kube/config"};
  LoadOptions load;
  HelmTarget t = helm_target(load, config);
  CHECK(t.kubeconfig == "/home/me/.kube/config");
  CHECK(t.context == "dev");
  CHECK(t.namespace_ == "shop");
  load.kubeconfig_env = "/a:/b";
  CHECK(helm_target(load, config).kubeconfig == "/a:/b");
  load.explicit_path = "/x/admin.conf";
  CHECK(helm_target(load, config).kubeconfig == "/x/admin.conf");
  ClientConfig pod;
  pod.in_cluster = true;
  pod.namespace_ = "fleet";
  CHECK(helm_target(LoadOptions{}, pod).kubeconfig.empty());
}

// ---- manifests -----------------------------------------------------------------

TEST_CASE("manifest: documents in order, comment-only and empty documents skipped, namespaces filled in") {
  // As `helm get manifest` prints it.
  const auto objects = manifest(R"(---
# Source: demo/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: demo1
---
# Source: demo/templates/empty.yaml
---

---
# Source: demo/templates/clusterrole.yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: demo1-reader
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo1
  namespace: elsewhere
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
...
)");
  REQUIRE(objects.size() == 4);
  CHECK(objects[0].kind() == "ServiceAccount");
  CHECK(objects[0].namespace_() == "shop");
  CHECK(objects[1].kind() == "ClusterRole");
  CHECK_FALSE(objects[1].has("/metadata/namespace"));
  CHECK(objects[2].namespace_() == "elsewhere");
  CHECK(objects[3].namespace_() == "shop");  // a custom resource counts as namespaced

  CHECK(manifest("").empty());
  CHECK(manifest("\n").empty());
  CHECK(manifest("# Source: x\n---\n# Source: y\n").empty());
}

TEST_CASE("manifest: '---' inside a block or quoted string does not split documents") {
  const auto objects = manifest(R"(apiVersion: v1
kind: ConfigMap
metadata:
  name: scripts
data:
  run.sh: |
    echo start
    ---
    echo --- still here
  note: "a --- b"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: second
)");
  REQUIRE(objects.size() == 2);
  CHECK(objects[0].string_at("/data/run.sh") == "echo start\n---\necho --- still here\n");
  CHECK(objects[0].string_at("/data/note") == "a --- b");
  CHECK(objects[1].name() == "second");
}

TEST_CASE("manifest: scalars are typed as helm's YAML reader types them") {
  const auto objects = manifest(R"(apiVersion: v1
kind: Test
metadata: {name: t}
values:
  int: 3
  negative: -42
  octal: 0755
  octal12: 0o17
  hex: 0x1F
  binary: 0b101
  separated: 1_000
  float: 1.5
  whole: 3.0
  exponent: 1e3
  yes: yes
  switch: On
  negated: n
  true_quoted: "true"
  port_quoted: '8080'
  block: |
    42
  explicit: !!str 5
  null1: ~
  null2: null
  empty:
  date: 2024-05-01
  version: 1.2.3
  text: hello world
  infinite: .inf
  big: 18446744073709551615
  leading: +7
  1: one
)");
  REQUIRE(objects.size() == 1);
  const json& v = json_of(objects[0])["values"];
  INFO(v.dump());
  for (const char* key : {"int", "octal", "true", "switch", "negated", "1", "empty", "big", "leading"}) REQUIRE(v.contains(key));
  CHECK(v["int"] == 3);
  CHECK(v["negative"] == -42);
  CHECK(v["octal"] == 493);
  CHECK(v["octal12"] == 15);
  CHECK(v["hex"] == 31);
  CHECK(v["binary"] == 5);
  CHECK(v["separated"] == 1000);
  CHECK(v["float"] == 1.5);
  CHECK(v["whole"].is_number_integer());
  CHECK(v["whole"] == 3);
  CHECK(v["exponent"] == 1000);
  // A key `yes` (or `y`, `on`) is a boolean too, spelled as Go spells it:
  // kubectl create --dry-run=client -o json says the same.
  CHECK(v["true"] == true);
  CHECK(v["switch"] == true);
  CHECK(v["negated"] == false);
  CHECK(v["true_quoted"] == "true");
  CHECK(v["port_quoted"] == "8080");
  CHECK(v["block"] == "42\n");
  CHECK(v["explicit"] == "5");
  CHECK(v["null1"].is_null());
  CHECK(v["null2"].is_null());
  CHECK(v["empty"].is_null());
  CHECK(v["date"] == "2024-05-01");
  CHECK(v["version"] == "1.2.3");
  CHECK(v["text"] == "hello world");
  CHECK(v["infinite"] == ".inf");
  CHECK(v["big"].is_number_unsigned());
  CHECK(v["leading"] == 7);
  CHECK(v["1"] == "one");
  CHECK(objects[0].int_at("/values/int") == 3);
}

TEST_CASE("manifest: Lists are flattened, merge keys and anchors resolved") {
  const auto objects = manifest(R"(apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a}
  data: &common {x: "1", z: "2"}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: b}
  data:
    <<: *common
    z: "3"
)");
  REQUIRE(objects.size() == 2);
  CHECK(objects[0].namespace_() == "shop");
  CHECK(objects[1].string_at("/data/x") == "1");
  CHECK(objects[1].string_at("/data/z") == "3");
  CHECK_FALSE(objects[1].has("/data/<<"));
}

TEST_CASE("manifest: what is not a manifest is an error, with the place") {
  auto scalar = parse_manifest("apiVersion: v1\nkind: A\n---\njust text\n", "shop");
  REQUIRE_FALSE(scalar);
  CHECK_THAT(scalar.error().reason, Catch::Contains("document 2"));
  auto broken = parse_manifest("kind: A\nmetadata: [\n", "shop");
  REQUIRE_FALSE(broken);
  CHECK_THAT(broken.error().reason, Catch::Contains("line "));
  // A Secret's text is not quoted back, even where yaml-cpp would.
  auto escape = parse_manifest("kind: Secret\nstringData:\n  password: \"s3cret\\q\"\n", "shop");
  REQUIRE_FALSE(escape);
  CHECK(escape.error().reason.find("q") == std::string::npos);
}

TEST_CASE("manifest: odd but valid documents are kept as they are") {
  const auto objects = manifest("apiVersion: v1\nkind: 5\nmetadata:\n  name: x\n  namespace:\n---\nmetadata: [1]\n");
  REQUIRE(objects.size() == 2);
  CHECK(objects[0].namespace_() == "shop");  // an empty namespace is none
  CHECK(objects[0].int_at("/kind") == 5);
  CHECK(objects[1].has("/metadata/0"));
}

// ---- helm's JSON -----------------------------------------------------------------

TEST_CASE("status: the last revision of `helm history -o json`") {
  // helm 4.1.4, a release whose upgrade failed.
  const std::string history = R"([{"revision":1,"updated":"2026-12-01T05:05:09.266877815Z","status":"failed","chart":"hook-0.1.0",
    "app_version":"","description":"Release \"pend2\" failed: context canceled"},
    {"revision":2,"updated":"2026-12-01T05:05:14.348437317Z","status":"deployed","chart":"hook-0.1.0","app_version":"1.16.0",
    "description":"Upgrade complete"}])";
  auto info = parse_history(history, "pend2", "shop");
  REQUIRE(info);
  CHECK(info->name == "pend2");
  CHECK(info->namespace_ == "shop");
  CHECK(info->revision == 2);
  CHECK(info->status == "deployed");
  CHECK(info->chart == "hook-0.1.0");
  CHECK(info->app_version == "1.16.0");
  CHECK(info->updated == "2026-12-01T05:05:14.348437317Z");
  CHECK(info->description == "Upgrade complete");

  // `helm list` spells the revision as a string.
  CHECK(parse_history(R"([{"revision":"7","status":"deployed"}])", "x", "y")->revision == 7);
  CHECK_FALSE(parse_history("[]", "x", "y"));
  CHECK_FALSE(parse_history("Error: nonsense", "x", "y"));
}

TEST_CASE("status: the release `helm upgrade --install -o json` prints, with its objects") {
  json release = {{"name", "demo1"},
                  {"namespace", "shop"},
                  {"version", 3},
                  {"info", {{"status", "deployed"}, {"last_deployed", "2026-12-01T05:03:45.123817667Z"},
                            {"description", "Upgrade complete"}, {"notes", "1. Get the application URL"}}},
                  {"chart", {{"metadata", {{"name", "demo"}, {"version", "0.1.0"}, {"appVersion", "1.16.0"}}}}},
                  {"config", {{"password", "s3cret"}}},
                  {"manifest", "---\n# Source: demo/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata:\n"
                               "  name: demo1\nspec:\n  ports:\n  - port: 80\n"},
                  {"hooks", json::array()}};
  // helm 3 may print a notice first.
  auto parsed = parse_release("Release \"demo1\" does not exist. Installing it now.\n" + release.dump());
  REQUIRE(parsed);
  CHECK(parsed->info.name == "demo1");
  CHECK(parsed->info.revision == 3);
  CHECK(parsed->info.status == "deployed");
  CHECK(parsed->info.chart == "demo-0.1.0");
  CHECK(parsed->info.app_version == "1.16.0");
  CHECK(parsed->info.updated == "2026-12-01T05:03:45.123817667Z");
  REQUIRE(parsed->objects.size() == 1);
  CHECK(parsed->objects[0].kind() == "Service");
  CHECK(parsed->objects[0].namespace_() == "shop");
  CHECK(parsed->objects[0].int_at("/spec/ports/0/port") == 80);
  CHECK_FALSE(parse_release("{}"));
}

TEST_CASE("helm's stored release is read from its Secrets as helm writes them: the latest revision, decoded") {
  // A Secret as helm's storage driver writes it: data.release is base64 (the
  // Secret's) of base64 (helm's) of gzip of the release's JSON. Made with
  // Python's gzip module, with a file name in the header.
  const std::string stored =
      "SDRzSUNBQUFBQUFDLzNKbGJHVmhjMlV1YW5OdmJnQjFrTDFPQXpFUWhGOWx0YlM1dXdRNnQ5QlNSVkM1V2V5OXhPSzh0czVPb2lpNmQ4YzJQNGVRNkR5ajhUZWp2YUdR"
      "WjFTQUYzN0REVFNaSXBubXBXT0kxVHp6bkZ5UVlqMFU1V1FNNVhuRGxDbWZVZzFhamxPNHNxMWh5OG5NTHViUEQvZ1NEek5aQmhOOG5EZ3pMaVZqampUbnh2Q2N5VkttSnY1"
      "c1dXdHgxMi83YmZVb3h0ZlZ2c2VsNGp5Skd6bFZJblpkcCtVTzl1RTBHMVpRVUVQbVVrMlowMkI4ZnlVL2FhSG92akFLempzdDcwNnNnc2Nnb3pzOFU5VHl2VXRwQWFpN0dr"
      "ckxqMGNLaW14dHYyRmxYeHBXNGxNN2pHZkoveU54K1FBVXBVV25oZ0VBQUE9PQ==";
  auto secret = [&](int version, const std::string& status, const std::string& data) {
    json s = {{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"metadata",
               {{"name", "sh.helm.release.v1.web.v" + std::to_string(version)},
                {"namespace", "shop"},
                {"labels", {{"owner", "helm"}, {"name", "web"}, {"status", status}, {"version", std::to_string(version)}}}}},
              {"type", "helm.sh/release.v1"},
              {"data", {{"release", data}}}};
    auto o = Object::parse(s.dump());
    REQUIRE(o);
    return *o;
  };
  // Revision 3 is the latest, whatever the order of the list; 2 is garbage
  // and never read.
  auto found = parse_stored_release({secret(2, "superseded", "not base64!"), secret(3, "deployed", stored)});
  REQUIRE(found);
  REQUIRE(found->has_value());
  const HelmRelease& r = **found;
  CHECK(r.info.name == "web");
  CHECK(r.info.revision == 3);
  CHECK(r.info.status == "deployed");
  CHECK(r.info.chart == "web-1.0.0");
  REQUIRE(r.objects.size() == 2);
  CHECK(r.objects[0].kind() == "ConfigMap");
  CHECK(r.objects[0].namespace_() == "shop");
  CHECK(r.objects[1].kind() == "Deployment");

  CHECK_FALSE(parse_stored_release({}).value().has_value());                             // no release
  CHECK_FALSE(parse_stored_release({secret(4, "deployed", "not base64!")}));             // unreadable: an error
  const std::string json_only = base::base64_encode(base::base64_encode(R"({"name":"web","version":1,"info":{"status":"failed"}})"));
  auto plain = parse_stored_release({secret(1, "failed", json_only)});                   // helm also reads uncompressed
  REQUIRE(plain);
  CHECK((*plain)->info.status == "failed");
}

TEST_CASE("gunzip refuses what is not gzip, truncated data, and more than its limit") {
  const auto inner = base::base64_decode(
      *base::base64_decode("SDRzSUNBQUFBQUFDLzNKbGJHVmhjMlV1YW5OdmJnQjFrTDFPQXpFUWhGOWx0YlM1dXdRNnQ5QlNSVkM1V2V5OXhPSzh0czVPb2lpNmQ4YzJQNGVRNkR5ajhUZWp2YUdR"
                                    "WjFTQUYzN0REVFNaSXBubXBXT0kxVHp6bkZ5UVlqMFU1V1FNNVhuRGxDbWZVZzFhamxPNHNxMWh5OG5NTHViUEQvZ1NEek5aQmhOOG5EZ3pMaVZqampUbnh2Q2N5VkttSnY1"
                                    "c1dXdHgxMi83YmZVb3h0ZlZ2c2VsNGp5Skd6bFZJblpkcCtVTzl1RTBHMVpRVUVQbVVrMlowMkI4ZnlVL2FhSG92akFLempzdDcwNnNnc2Nnb3pzOFU5VHl2VXRwQWFpN0dr"
                                    "ckxqMGNLaW14dHYyRmxYeHBXNGxNN2pHZkoveU54K1FBVXBVV25oZ0VBQUE9PQ=="));
  REQUIRE(inner);
  auto whole = gunzip(*inner, 1 << 20);
  REQUIRE(whole);
  CHECK(whole->starts_with(R"({"name": "web")"));
  CHECK_FALSE(gunzip("plain text, long enough to look", 1 << 20));
  CHECK_FALSE(gunzip(inner->substr(0, inner->size() / 2), 1 << 20));
  auto small = gunzip(*inner, 16);
  REQUIRE_FALSE(small);
  CHECK_THAT(small.error().reason, Catch::Contains("more than 16 bytes"));
}

// ---- helm's failures -------------------------------------------------------------

namespace {

base::Error failure(const std::string& err) { return helm_failure("install or upgrade release 'web' in namespace 'shop'", err, "web", "shop"); }

}  // namespace

TEST_CASE("helm failures: each kind of failure has its exit status, helm's words as the reason, and a hint") {
  struct Sample {
    const char* err;
    int status;
    const char* hint;
  };
  // helm 4.1.4's own words unless marked; helm 3 prefixes "UPGRADE FAILED:" or "INSTALLATION FAILED:".
  const Sample samples[] = {
      {"Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n", es::lock_held,
       "helm rollback web -n shop"},
      {"Error: kubernetes cluster unreachable: Get \"https://127.0.0.1:1/version\": dial tcp 127.0.0.1:1: connect: connection refused\n",
       es::unreachable, "kubectl cluster-info"},
      {"Error: Kubernetes cluster unreachable: Get \"https://k8s.example:6443/version\": dial tcp: lookup k8s.example: no such host\n",
       es::unreachable, "kubectl cluster-info"},  // helm 3
      {"Error: kubernetes cluster unreachable: the server has asked for the client to provide credentials\n", es::unauthorized,
       "expired"},
      {"Error: kubernetes cluster unreachable: context \"nope\" does not exist\n", es::usage, "get-contexts"},
      {"Error: query: failed to query with labels: secrets is forbidden: User \"system:serviceaccount:shop:viewer\" cannot "
       "list resource \"secrets\" in API group \"\" in the namespace \"shop\"\n",
       es::forbidden, "Secrets in namespace 'shop'"},
      {"Error: INSTALLATION FAILED: configmaps \"x\" is forbidden: unable to create new content in namespace shop because it "
       "is being terminated\n",
       es::forbidden, "is being deleted"},
      {"Error: UPGRADE FAILED: cannot patch \"p\" with kind Pod: Pod \"p\" is invalid: spec: Forbidden: pod updates may not "
       "change fields other than `spec.containers[*].image`\n",
       es::invalid, "fix the values"},
      {"Error: ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain\n",
       es::invalid, "fix the values"},
      {"Error: failed to create typed patch object (shop/cmf; /v1, Kind=ConfigMap): .bogus: field not declared in schema\n",
       es::invalid, "fix the values"},
      {"Error: unable to build kubernetes objects from release manifest: resource mapping not found for name: \"w\" namespace: "
       "\"\" from \"\": no matches for kind \"Widget\" in version \"example.com/v1\"\nensure CRDs are installed first\n",
       es::object_not_found, "CustomResourceDefinitions"},
      {"Error: create: failed to create: namespaces \"shop\" not found\n", es::object_not_found, "create_namespace"},
      {"Error: execution error at (bad/templates/x.yaml:15:11): name is required\n", es::invalid_settings, "values"},
      {"Error: values don't meet the specifications of the schema(s) in the following chart(s):\ndemo:\n- replicaCount: Invalid "
       "type. Expected: integer, given: string\n",
       es::invalid_settings, "values"},
      {"Error: YAML parse error on bad/templates/x.yaml: error converting YAML to JSON: yaml: line 3: did not find expected node "
       "content\n",
       es::failure, "helm template"},
      {"Error: unable to continue with install: ConfigMap \"preexisting\" in namespace \"shop\" exists and cannot be imported "
       "into the current release: invalid ownership metadata; label validation error: missing key "
       "\"app.kubernetes.io/managed-by\": must be set to \"Helm\"\n",
       es::conflict, "meta.helm.sh/release-name=web"},
      {"Error: UPGRADE FAILED: Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas\n",
       es::conflict, "field manager"},
      {"Error: path \"./nosuch\" not found\n", es::object_not_found, "oci://"},
      {"Error: INSTALLATION FAILED: chart \"nats\" version \"9.9.9\" not found in https://nats-io.github.io/k8s/helm/charts "
       "repository\n",
       es::object_not_found, "version"},  // helm 3
      {"Error: looks like \"https://charts.invalid/\" is not a valid chart repository or cannot be reached: Get "
       "\"https://charts.invalid/index.yaml\": dial tcp: lookup charts.invalid: no such host\n",
       es::unreachable, "repository's URL"},
      {"Error: failed to perform \"FetchReference\" on source: registry.example/charts/nats:9.9.9: not found\n",
       es::object_not_found, "oci://"},
      {"Error: failed to authorize: failed to fetch oauth token: unexpected status from POST request to "
       "https://registry.example/token: 401 Unauthorized\n",
       es::failure, "helm registry login"},
      {"Error: An error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch "
       "missing dependencies: found in Chart.yaml, but missing in charts/ directory: common\n",
       es::object_not_found, "helm dependency build"},
      {"Error: chart requires kubeVersion: >=1.36.0-0 which is incompatible with Kubernetes v1.35.4\n", es::unsupported,
       "made for this cluster"},
      {"level=WARN msg=\"upgrade failed\" name=pend2 error=\"pre-upgrade hooks failed\"\nError: UPGRADE FAILED: pre-upgrade "
       "hooks failed: resource Pod/shop/hook-sleeper not ready. status: InProgress, message: Pod in progress\ncontext deadline "
       "exceeded\n",
       es::not_ready, "allow more time"},
      {"Error: release: not found\n", es::object_not_found, "helm list -n shop"},
      {"Error: something nobody has seen before\n", es::failure, "--debug"},
  };
  for (const Sample& s : samples) {
    INFO(s.err);
    const base::Error e = failure(s.err);
    CHECK(e.status == s.status);
    CHECK(e.message == "helm could not install or upgrade release 'web' in namespace 'shop'");
    CHECK_THAT(e.hint, Catch::Contains(s.hint));
    CHECK(e.reason.rfind("Error:", 0) == std::string::npos);
    CHECK(e.reason.rfind("UPGRADE FAILED", 0) == std::string::npos);
    CHECK(e.reason.rfind("INSTALLATION FAILED", 0) == std::string::npos);
    CHECK(e.reason.find('\n') == std::string::npos);
  }
}

TEST_CASE("helm failures: the reason is helm's error, not its log lines, and shows no terminal escapes") {
  auto e = failure("WARNING: Kubernetes configuration file is group-readable. This is insecure.\n"
                   "level=WARN msg=\"upgrade failed\"\n"
                   "Error: UPGRADE FAILED: pre-upgrade hooks failed\ncontext deadline exceeded\n");
  CHECK(e.reason == "pre-upgrade hooks failed; context deadline exceeded");
  CHECK(failure("").reason == "helm gave no reason on its standard error");
  CHECK(failure("Error: \x1b]0;owned\x07 boom").reason.find('\x1b') == std::string::npos);
  CHECK(failure("crashed without the usual words").reason == "crashed without the usual words");
}

TEST_CASE("helm failures: around a failing helm, the values are in a private file, gone afterwards, and in no message") {
  testing::TempDir dir;
  // A helm that reports what it was given, then fails as a locked release does.
  const std::string fake = dir / "helm";
  std::ofstream(fake) << "#!/bin/sh\n"
                      << "[ \"$1\" = version ] && { echo v4.1.4; exit 0; }\n"
                      << "printf '%s\\n' \"$@\" > " << dir.path() << "/argv\n"
                      << "env | grep '^HELM_' > " << dir.path() << "/env\n"
                      << "while [ $# -gt 0 ]; do\n"
                      << "  if [ \"$1\" = --values ]; then\n"
                      << "    echo \"$2\" > " << dir.path() << "/path\n"
                      << "    stat -c %a \"$2\" > " << dir.path() << "/mode\n"
                      << "    stat -c %a \"$(dirname \"$2\")\" > " << dir.path() << "/dirmode\n"
                      << "    cat \"$2\" > " << dir.path() << "/seen\n"
                      << "    echo \"Error: UPGRADE FAILED: failed parsing $2: another operation (install/upgrade/rollback) "
                         "is in progress\" >&2\n"
                      << "  fi\n"
                      << "  shift\n"
                      << "done\n"
                      << "exit 1\n";
  ::chmod(fake.c_str(), 0755);
  auto helm = Helm::find(fake);
  REQUIRE(helm);

  auto r = request({dir.path(), "", ""});
  r.values = "password: s3cret-value\n";
  ::setenv("HELM_KUBETOKEN", "someone-elses-token", 1);
  ::setenv("HELM_NAMESPACE", "elsewhere", 1);
  auto result = helm->upgrade_install(shop(), r);
  ::unsetenv("HELM_KUBETOKEN");
  ::unsetenv("HELM_NAMESPACE");
  REQUIRE_FALSE(result);
  CHECK(result.error().status == es::lock_held);

  const std::string values_path = base::split_lines(*base::read_file(dir / "path")).front();
  CHECK(*base::read_file(dir / "seen") == r.values);
  CHECK(base::split_lines(*base::read_file(dir / "mode")).front() == "600");
  CHECK(base::split_lines(*base::read_file(dir / "dirmode")).front() == "700");
  struct stat st {};
  CHECK(::stat(values_path.c_str(), &st) != 0);
  CHECK(::stat(base::parent_dir(values_path).c_str(), &st) != 0);

  const std::string argv = *base::read_file(dir / "argv");
  CHECK(argv.find("s3cret") == std::string::npos);
  const std::string env = *base::read_file(dir / "env");
  CHECK(env.find("HELM_KUBETOKEN") == std::string::npos);
  CHECK(env.find("HELM_NAMESPACE") == std::string::npos);
  const base::Error& e = result.error();
  const std::string said = e.message + e.reason + e.hint;
  CHECK(said.find("s3cret") == std::string::npos);
  CHECK(said.find(values_path) == std::string::npos);
  CHECK_THAT(e.reason, Catch::Contains("(the values)"));
}
