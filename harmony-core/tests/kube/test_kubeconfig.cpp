#include <catch2/catch.hpp>

#include <fstream>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/text.hpp>
#include <harmony/kube/kubeconfig.hpp>

#include "temp_dir.hpp"

using harmony::kube::LoadOptions;
using harmony::kube::load_client_config;
namespace es = harmony::base::exit_status;

namespace {

std::string write(const harmony::testing::TempDir& dir, const std::string& name, const std::string& text) {
  std::string path = dir / name;
  std::ofstream(path) << text;
  return path;
}

// A kubeconfig with one cluster, user and context of the given names.
std::string config(const std::string& context, const std::string& server, const std::string& current = {},
                   const std::string& user_body = "    token: t0k3n\n") {
  return "apiVersion: v1\nkind: Config\n" + (current.empty() ? "" : "current-context: " + current + "\n") +
         "clusters:\n- name: " + context + "-cluster\n  cluster:\n    server: " + server +
         "\nusers:\n- name: " + context + "-user\n  user:\n" + user_body + "contexts:\n- name: " + context +
         "\n  context:\n    cluster: " + context + "-cluster\n    user: " + context + "-user\n";
}

LoadOptions env_only(std::string kubeconfig) {
  LoadOptions o;
  o.kubeconfig_env = std::move(kubeconfig);
  o.home = "/nonexistent";
  return o;
}

}  // namespace

TEST_CASE("kubeconfig: the current context gives the server, the user and the default namespace") {
  harmony::testing::TempDir dir;
  auto path = write(dir, "config", config("dev", "https://127.0.0.1:6443", "dev"));
  auto c = load_client_config(env_only(path));
  REQUIRE(c);
  CHECK(c->context == "dev");
  CHECK(c->cluster.server == "https://127.0.0.1:6443");
  CHECK(c->user.token == "t0k3n");
  CHECK(c->namespace_ == "default");
  CHECK(c->describe().find(path) != std::string::npos);
}

TEST_CASE("kubeconfig: KUBECONFIG files merge by kubectl's rules (first definition and first current-context win)") {
  harmony::testing::TempDir dir;
  auto a = write(dir, "a", config("one", "https://a.invalid:1", "one"));
  // b redefines 'one' (ignored: a came first), adds 'two', names another current context (ignored).
  auto b = write(dir, "b", config("one", "https://b.invalid:2", "two") +
                               "- name: two\n  context:\n    cluster: one-cluster\n    user: one-user\n    namespace: team\n");
  auto c = load_client_config(env_only(a + ":" + dir.path() + "/missing:" + b));
  REQUIRE(c);
  CHECK(c->context == "one");
  CHECK(c->cluster.server == "https://a.invalid:1");
  CHECK(c->files == std::vector<std::string>{a, b});

  auto options = env_only(a + ":" + b);
  options.context = "two";
  auto two = load_client_config(options);
  REQUIRE(two);
  CHECK(two->namespace_ == "team");
  CHECK(two->cluster.server == "https://a.invalid:1");  // one-cluster from a

  options.namespace_ = "override";
  CHECK(load_client_config(options)->namespace_ == "override");
}

TEST_CASE("kubeconfig: --kubeconfig wins over KUBECONFIG and must exist") {
  harmony::testing::TempDir dir;
  auto a = write(dir, "a", config("one", "https://a.invalid:1", "one"));
  auto b = write(dir, "b", config("two", "https://b.invalid:2", "two"));
  auto options = env_only(a);
  options.explicit_path = b;
  CHECK(load_client_config(options)->context == "two");
  options.explicit_path = dir / "nope";
  auto missing = load_client_config(options);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().status == es::usage);
  CHECK_THAT(missing.error().message, Catch::Contains("does not exist"));
}

TEST_CASE("kubeconfig: without KUBECONFIG, ~/.kube/config is read") {
  harmony::testing::TempDir dir;
  std::filesystem::create_directories(dir / ".kube");
  write(dir, ".kube/config", config("home", "https://home.invalid:1", "home"));
  LoadOptions o;
  o.home = dir.path();
  CHECK(load_client_config(o)->context == "home");
  o.kubeconfig_env = "";  // empty KUBECONFIG means the default too
  CHECK(load_client_config(o)->context == "home");
}

TEST_CASE("kubeconfig: an unknown context is a usage error with the nearest name") {
  harmony::testing::TempDir dir;
  auto path = write(dir, "config", config("production", "https://p.invalid:1", "production"));
  auto options = env_only(path);
  options.context = "prodution";
  auto c = load_client_config(options);
  REQUIRE_FALSE(c);
  CHECK(c.error().status == es::usage);
  CHECK_THAT(c.error().message, Catch::Contains("no context named 'prodution'"));
  CHECK_THAT(c.error().hint, Catch::Contains("did you mean 'production'?"));
}

TEST_CASE("kubeconfig: malformed files are refused with the file and line") {
  harmony::testing::TempDir dir;
  auto broken = write(dir, "broken", "clusters:\n- name: x\n  cluster: {server: [\n");
  auto c = load_client_config(env_only(broken));
  REQUIRE_FALSE(c);
  CHECK_THAT(c.error().message, Catch::Contains(broken + ":") && Catch::Contains("not valid YAML"));

  auto shape = write(dir, "shape", "current-context: x\ncontexts:\n- name: x\n  context:\n    cluster: [a, b]\n");
  auto s = load_client_config(env_only(shape));
  REQUIRE_FALSE(s);
  CHECK_THAT(s.error().message, Catch::Contains(shape + ":5") && Catch::Contains("'cluster' must be a string"));

  auto dangling = write(dir, "dangling", "current-context: x\ncontexts:\n- name: x\n  context:\n    cluster: nowhere\n");
  auto d = load_client_config(env_only(dangling));
  REQUIRE_FALSE(d);
  CHECK_THAT(d.error().message, Catch::Contains("cluster 'nowhere'"));
}

TEST_CASE("kubeconfig: no current context names the contexts there are") {
  harmony::testing::TempDir dir;
  auto path = write(dir, "config", config("a", "https://a.invalid:1"));
  auto c = load_client_config(env_only(path));
  REQUIRE_FALSE(c);
  CHECK(c.error().status == es::usage);
  CHECK_THAT(c.error().hint, Catch::Contains("--context") && Catch::Contains("a"));
}

TEST_CASE("kubeconfig: certificate data is decoded and relative files resolve against the kubeconfig's directory") {
  harmony::testing::TempDir dir;
  std::filesystem::create_directories(dir / "sub");
  const std::string ca = harmony::base::base64_encode("-----BEGIN CERTIFICATE-----\nabc\n");
  auto path = write(dir, "sub/config",
                    "current-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://x.invalid\n"
                    "    certificate-authority-data: " + ca + "\n    tls-server-name: api.internal\n"
                    "    insecure-skip-tls-verify: false\n"
                    "users:\n- name: u\n  user:\n    client-certificate: certs/client.crt\n    client-key: /abs/client.key\n"
                    "    tokenFile: token\n"
                    "contexts:\n- name: c\n  context: {cluster: k, user: u}\n");
  auto c = load_client_config(env_only(path));
  REQUIRE(c);
  CHECK(c->cluster.certificate_authority_data == "-----BEGIN CERTIFICATE-----\nabc\n");
  CHECK(c->cluster.tls_server_name == "api.internal");
  CHECK(c->user.client_certificate == dir.path() + "/sub/certs/client.crt");
  CHECK(c->user.client_key == "/abs/client.key");
  CHECK(c->user.token_file == dir.path() + "/sub/token");

  auto bad = write(dir, "bad", "current-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://x\n"
                               "    certificate-authority-data: '***'\ncontexts:\n- name: c\n  context: {cluster: k}\n");
  auto b = load_client_config(env_only(bad));
  REQUIRE_FALSE(b);
  CHECK_THAT(b.error().message, Catch::Contains("not valid base64"));
}

TEST_CASE("kubeconfig: exec credential plugins are read with their arguments and environment") {
  harmony::testing::TempDir dir;
  auto path = write(dir, "config", config("c", "https://x.invalid", "c",
                                          "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                                          "      command: ./bin/get-token\n      args: [--audience, k8s]\n"
                                          "      env: [{name: MODE, value: test}]\n      installHint: install get-token\n"
                                          "      provideClusterInfo: true\n      interactiveMode: Never\n"));
  auto c = load_client_config(env_only(path));
  REQUIRE(c);
  REQUIRE(c->user.exec);
  CHECK(c->user.exec->command == dir.path() + "/./bin/get-token");
  CHECK(c->user.exec->args == std::vector<std::string>{"--audience", "k8s"});
  CHECK(c->user.exec->env.at(0) == std::pair<std::string, std::string>{"MODE", "test"});
  CHECK(c->user.exec->provide_cluster_info);

  auto old = write(dir, "old", config("c", "https://x.invalid", "c",
                                      "    exec:\n      apiVersion: client.authentication.k8s.io/v1alpha1\n      command: x\n"));
  auto o = load_client_config(env_only(old));
  REQUIRE_FALSE(o);
  CHECK_THAT(o.error().message, Catch::Contains("v1alpha1") && Catch::Contains("not supported"));
}

TEST_CASE("kubeconfig: with no kubeconfig, a pod's service account is used") {
  harmony::testing::TempDir dir;
  write(dir, "token", "sa-token\n");
  write(dir, "namespace", "fleet-system");
  write(dir, "ca.crt", "pem");
  LoadOptions o;
  o.home = "/nonexistent";
  o.service_host = "10.96.0.1";
  o.service_port = "443";
  o.service_account_dir = dir.path();
  auto c = load_client_config(o);
  REQUIRE(c);
  CHECK(c->in_cluster);
  CHECK(c->cluster.server == "https://10.96.0.1:443");
  CHECK(c->namespace_ == "fleet-system");
  CHECK(c->user.token_file == dir / "token");
  CHECK(c->cluster.certificate_authority == dir / "ca.crt");
}

TEST_CASE("kubeconfig: the contexts are listed in the order they are defined") {
  harmony::testing::TempDir dir;
  auto a = write(dir, "a", config("zeta", "https://a.invalid:1", "zeta"));
  auto b = write(dir, "b", config("alpha", "https://b.invalid:1"));
  auto list = harmony::kube::list_contexts(env_only(a + ":" + b));
  REQUIRE(list);
  CHECK(*list == std::vector<std::string>{"zeta", "alpha"});
}
