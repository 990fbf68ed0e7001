// The transport against a scripted HTTPS server (scripted_server.py) for what
// a real API server will not do on demand: 429/503 with Retry-After, a 401
// until the credentials change, streams split mid-line, hangs. What the real
// API server does is tested against the test cluster (e2e/kube).

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/process.hpp>
#include <harmony/kube/client.hpp>
#include <harmony/kube/transport.hpp>

#include "eventually.hpp"
#include "temp_dir.hpp"

using namespace harmony;
using kube::Request;
using kube::Transport;
using nlohmann::json;

namespace {

void run(const std::vector<std::string>& argv) {
  base::ProcessSpec spec;
  spec.argv = argv;
  auto r = base::run_process(spec);
  REQUIRE(r);
  INFO(r->err);
  REQUIRE(r->ok());
}

// A CA, a server certificate for 127.0.0.1 and api.test, and a client
// certificate (CN alice), made with openssl.
struct Pki {
  explicit Pki(const testing::TempDir& dir) : dir_(dir) {
    const std::string d = dir.path();
    run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
         "-subj", "/CN=test-ca", "-keyout", d + "/ca.key", "-out", d + "/ca.crt"});
    issue("server", "/CN=api", "subjectAltName=IP:127.0.0.1,DNS:api.test");
    issue("client", "/CN=alice", "extendedKeyUsage=clientAuth");
  }
  void issue(const std::string& name, const std::string& subject, const std::string& ext) {
    const std::string d = dir_.path();
    run({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", subject, "-keyout",
         d + "/" + name + ".key", "-out", d + "/" + name + ".csr"});
    std::ofstream(d + "/" + name + ".ext") << ext << "\n";
    run({"openssl", "x509", "-req", "-in", d + "/" + name + ".csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key",
         "-CAcreateserial", "-days", "1", "-extfile", d + "/" + name + ".ext", "-out", d + "/" + name + ".crt"});
  }
  const testing::TempDir& dir_;
};

class ScriptedServer {
 public:
  explicit ScriptedServer(const testing::TempDir& dir) : pki_(dir) {
    const std::string d = dir.path();
    base::DetachedSpec spec;
    spec.argv = {"python3", HARMONY_SCRIPTED_SERVER, d + "/server.crt", d + "/server.key", d + "/ca.crt", d + "/port",
                 std::to_string(::getpid())};
    spec.log_path = d + "/server.log";
    auto id = base::spawn_detached(spec, [](const base::ProcessIdentity&) -> base::expected<void> { return {}; });
    REQUIRE(id);
    identity_ = *id;
    REQUIRE(testing::eventually([&] { return base::read_file(d + "/port").has_value(); }, std::chrono::seconds(20)));
    port_ = *base::read_file(d + "/port");
    ca_ = d + "/ca.crt";
    dir_ = d;
  }
  ~ScriptedServer() { (void)base::terminate_process(identity_, std::chrono::milliseconds(500)); }

  [[nodiscard]] kube::ClientConfig config() const {
    kube::ClientConfig c;
    c.context = "scripted";
    c.cluster.server = "https://127.0.0.1:" + port_;
    c.cluster.certificate_authority = ca_;
    c.user.token = "t0k3n";
    return c;
  }
  [[nodiscard]] std::string file(const std::string& name) const { return dir_ + "/" + name; }

 private:
  Pki pki_;
  base::ProcessIdentity identity_;
  std::string port_, ca_, dir_;
};

json body_of(const base::expected<kube::Response>& r) {
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 200);
  return json::parse(r->body);
}

Request get(std::string path) {
  Request r;
  r.path = std::move(path);
  return r;
}

}  // namespace

TEST_CASE("transport: verifies the server against the kubeconfig's CA, sends the token and harmony's user agent") {
  testing::TempDir dir;
  ScriptedServer server(dir);
  Transport t(server.config());
  auto echo = body_of(t.send(get("/echo")));
  CHECK(echo["authorization"] == "Bearer t0k3n");
  CHECK(echo["user_agent"].get<std::string>().rfind("harmony/", 0) == 0);

  SECTION("the connection is reused across requests") {
    for (int i = 0; i < 5; ++i) REQUIRE(t.send(get("/counted")));
    CHECK(t.stats().connections == 1);
  }
  SECTION("a server the CA did not sign is refused, saying to check the certificate authority") {
    auto c = server.config();
    c.cluster.certificate_authority = server.file("client.crt");  // not a CA
    auto r = Transport(c).send(get("/echo"));
    REQUIRE_FALSE(r);
    CHECK(r.error().status == base::exit_status::unreachable);
    CHECK_THAT(r.error().hint, Catch::Contains("certificate-authority"));
  }
  SECTION("insecure-skip-tls-verify connects without a CA") {
    auto c = server.config();
    c.cluster.certificate_authority.clear();
    c.cluster.insecure_skip_tls_verify = true;
    CHECK(body_of(Transport(c).send(get("/echo")))["authorization"] == "Bearer t0k3n");
  }
  SECTION("tls-server-name: the certificate is checked against that name while connecting to the server's address") {
    auto c = server.config();
    c.cluster.tls_server_name = "api.test";
    CHECK(body_of(Transport(c).send(get("/echo")))["count"] >= 1);
    c.cluster.tls_server_name = "other.test";
    CHECK_FALSE(Transport(c).send(get("/echo")));
  }
}

TEST_CASE("transport: client certificates from files and from data") {
  testing::TempDir dir;
  ScriptedServer server(dir);
  auto c = server.config();
  c.user.token.clear();
  c.user.client_certificate = server.file("client.crt");
  c.user.client_key = server.file("client.key");
  CHECK(body_of(Transport(c).send(get("/echo")))["client_cn"] == "alice");

  c.user.client_certificate.clear();
  c.user.client_key.clear();
  c.user.client_certificate_data = *base::read_file(server.file("client.crt"));
  c.user.client_key_data = *base::read_file(server.file("client.key"));
  CHECK(body_of(Transport(c).send(get("/echo")))["client_cn"] == "alice");
}

TEST_CASE("transport: bodies, methods and content types go as given") {
  testing::TempDir dir;
  ScriptedServer server(dir);
  Transport t(server.config());
  Request r = get("/echo");
  r.method = "PATCH";
  r.body = "apiVersion: v1\nkind: ConfigMap\n";
  r.content_type = "application/apply-patch+yaml";
  auto echo = body_of(t.send(r));
  CHECK(echo["method"] == "PATCH");
  CHECK(echo["body"] == r.body);
  CHECK(echo["content_type"] == "application/apply-patch+yaml");
}

TEST_CASE("transport: 429 is retried after Retry-After, 503 until attempts run out, and errors come back as responses") {
  testing::TempDir dir;
  ScriptedServer server(dir);
  kube::TransportOptions fast;
  fast.first_backoff = std::chrono::milliseconds(10);
  fast.max_attempts = 3;
  Transport t(server.config(), fast);
  const auto started = std::chrono::steady_clock::now();
  auto ok = body_of(t.send(get("/busy-then-ok")));
  CHECK(ok["attempt"] == 3);
  // Retry-After: 1 was honoured twice, not the 10 ms backoff.
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(1900));
  CHECK(t.stats().retries == 2);

  auto down = t.send(get("/always-503"));
  REQUIRE(down);
  CHECK(down->status == 503);
  CHECK(t.stats().requests == 3 + 3);

  auto missing = t.send(get("/nothing-here"));
  REQUIRE(missing);
  CHECK(missing->status == 404);
}

TEST_CASE("transport: a 401 refreshes exec credentials once and retries") {
  testing::TempDir dir;
  ScriptedServer server(dir);
  // The plugin answers 'first' on its first run and 'second' after.
  const std::string plugin = dir / "plugin.sh";
  std::ofstream(plugin) << "#!/bin/sh\nif [ -e " << dir.path() << "/ran ]; then t=second; else t=first; touch "
                        << dir.path() << "/ran; fi\n"
                        << "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                           "\"status\":{\"token\":\"'$t'\"}}'\n";
  ::chmod(plugin.c_str(), 0755);
  auto c = server.config();
  c.user.token.clear();
  c.user.exec = kube::ExecConfig{"client.authentication.k8s.io/v1", plugin, {}, {}, "", false, "Never"};
  Transport t(c);
  auto r = t.send(get("/token"));
  REQUIRE(r);
  CHECK(r->status == 200);
  // A static token that is refused is not retried.
  Transport fixed(server.config());
  auto refused = fixed.send(get("/token"));
  REQUIRE(refused);
  CHECK(refused->status == 401);
  CHECK(fixed.stats().requests == 1);
}

TEST_CASE("transport: streams give whole lines as they arrive, and stop when asked") {
  testing::TempDir dir;
  ScriptedServer server(dir);
  Transport t(server.config());
  std::vector<std::string> lines;
  auto r = t.stream(get("/stream"), [&](std::string_view line) {
    lines.emplace_back(line);
    return true;
  });
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(lines == std::vector<std::string>{R"({"n":1})", R"({"n":2})", R"({"n":3})"});

  int seen = 0;
  auto stopped = t.stream(get("/endless"), [&](std::string_view) { return ++seen < 3; });
  REQUIRE(stopped);
  CHECK(seen == 3);

  std::atomic<bool> stop{false};
  int count = 0;
  auto by_flag = t.stream(get("/endless"), [&](std::string_view) {
    if (++count == 2) stop = true;
    return true;
  }, &stop);
  REQUIRE(by_flag);
  CHECK(count >= 2);
  CHECK(count < 20);
}

TEST_CASE("transport: a cluster that is not there fails fast, naming the server and the context") {
  kube::ClientConfig c;
  c.context = "gone";
  c.files = {"/tmp/kubeconfig"};
  c.cluster.server = "https://127.0.0.1:1";  // nothing listens on port 1
  c.cluster.insecure_skip_tls_verify = true;
  kube::TransportOptions fast;
  fast.first_backoff = std::chrono::milliseconds(10);
  Transport t(c, fast);
  Request r = get("/version");
  r.timeout = std::chrono::seconds(3);
  const auto started = std::chrono::steady_clock::now();
  auto e = t.send(r);
  REQUIRE_FALSE(e);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(3));
  CHECK(e.error().status == base::exit_status::unreachable);
  CHECK_THAT(e.error().message, Catch::Contains("https://127.0.0.1:1"));
  CHECK_THAT(e.error().hint, Catch::Contains("'gone'") && Catch::Contains("cluster-info"));
}

TEST_CASE("transport: a request that outlives its timeout is a timed_out error") {
  testing::TempDir dir;
  ScriptedServer server(dir);
  Transport t(server.config());
  Request r = get("/hang");
  r.timeout = std::chrono::milliseconds(500);
  r.retry = false;
  auto e = t.send(r);
  REQUIRE_FALSE(e);
  CHECK(e.error().status == base::exit_status::timed_out);
}

TEST_CASE("client: a watch whose version expired (410) relists, says so, and goes on from the new version") {
  testing::TempDir dir;
  ScriptedServer server(dir);
  kube::ClientOptions options;
  options.cache_dir = dir / "cache";
  kube::Client client(server.config(), options);
  std::vector<std::string> events;
  kube::WatchOptions w;
  w.timeout = std::chrono::seconds(20);
  auto r = client.watch("v1", "ConfigMap", "w", w, [&](const kube::WatchEvent& e) {
    using T = kube::WatchEvent::Type;
    if (e.type == T::bookmark) return true;
    events.push_back(std::string(e.type == T::relisted ? "relisted" : e.type == T::synced ? "synced" : e.type == T::added ? "added " : "other ") +
                     e.object.name());
    return e.object.name() != "after";
  });
  REQUIRE(r);
  CHECK(events == std::vector<std::string>{"added first", "synced", "relisted", "added first", "added second", "synced", "added after"});
}

TEST_CASE("plain http is allowed to this machine's loopback only, however the URL is dressed") {
  for (const char* url : {"http://127.0.0.1:8080/.well-known/openid-configuration", "http://127.1.2.3", "http://localhost:9/x",
                          "http://[::1]:443/", "http://localhost?x", "http://127.0.0.1#f"})
    CHECK(kube::is_loopback_http_url(url));
  for (const char* url : {"https://127.0.0.1/", "http://127.evil.example/", "http://localhost.corp.example/",
                          "http://localhost:80@evil.example/", "http://127.0.0.1@evil.example", "http://evil.example/127.0.0.1",
                          "http://127.0.0.256/", "http://127.0.0.1.evil.example/", "http://[::1].evil/", "http://localhost:x/",
                          "http://localhost:/", "http://10.0.0.1/", "ftp://127.0.0.1/", "http://127.0.0/"})
    CHECK_FALSE(kube::is_loopback_http_url(url));
  auto refused = kube::send_to_url("http://localhost:80@evil.example/", {});
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().reason, Catch::Contains("only for loopback"));
}

TEST_CASE("a cluster Service over plain http is named NAME.NAMESPACE.svc, optionally .cluster.local and a port, nothing else") {
  for (const char* url : {"http://fleet-zitadel.fleet-system.svc:8080/oauth/v2/keys", "http://zitadel.ns.svc",
                          "http://zitadel.ns.svc.cluster.local:80/", "http://a.b.svc/.well-known/openid-configuration"})
    CHECK(kube::is_cluster_service_http_url(url));
  for (const char* url : {"https://zitadel.ns.svc/", "http://zitadel.svc/", "http://a.b.c.svc/", "http://.ns.svc/",
                          "http://zitadel.ns.svc.evil.example/", "http://zitadel.ns.svc@evil.example/",
                          "http://evil.example/zitadel.ns.svc", "http://zitadel.ns.svc:/", "http://zitadel.ns.svc:123456/",
                          "http://Zitadel.ns.svc/", "http://zitadel.ns.svc?x", "http://zitadel.ns.svc.cluster.local.evil/"})
    CHECK_FALSE(kube::is_cluster_service_http_url(url));
}
