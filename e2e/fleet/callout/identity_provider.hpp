#pragma once
// What the callout tests share: a detached process with its log, and the
// test identity provider. The provider is the test issuer
// (callout/tests/test_issuer.*), whose discovery document and JWKS Python's
// http.server serves from the sandbox on a loopback port it picks. Zitadel
// itself is not exercised: its build needs code generation and a web
// console build these machines cannot do; the issuer speaks the same
// discovery, JWKS and token shapes.

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <harmony/base/files.hpp>
#include <harmony/base/process.hpp>
#include <harmony/testing.hpp>

#include "eventually.hpp"
#include "test_issuer.hpp"

namespace harmony::e2e {

// A detached process with its log in the sandbox, stopped at the end.
class Process {
 public:
  Process(testing::Sandbox& box, std::vector<std::string> argv, const std::string& log) : log_(box.path(log)) {
    base::DetachedSpec spec;
    spec.argv = std::move(argv);
    spec.log_path = log_;
    auto started = base::spawn_detached(spec, [](const base::ProcessIdentity&) { return base::expected<void>{}; });
    REQUIRE(started);
    identity_ = *started;
  }
  ~Process() { stop(); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  void stop() {
    if (identity_) (void)base::terminate_process(*identity_, std::chrono::seconds(2));
    identity_.reset();
  }
  [[nodiscard]] std::string log() const { return base::read_file(log_, 1 << 22).value_or(""); }
  [[nodiscard]] bool running() const { return identity_ && base::check_process(*identity_) == base::Liveness::running; }

 private:
  std::string log_;
  std::optional<base::ProcessIdentity> identity_;
};

// Where the provider listens: loopback over plain HTTP (fleet-callout
// allows http there), or an address of this machine that pods reach, over
// HTTPS with a certificate for that address from a CA of the test's
// (ca_file(), for callout.ca_file).
struct ProviderAddress {
  std::string host = "127.0.0.1";
  bool tls = false;
};

class TestIdentityProvider {
 public:
  explicit TestIdentityProvider(testing::Sandbox& box, ProviderAddress where = {}) : box_(box) {
    box_.make_dir("idp", 0755);
    auto python = base::find_program("python3", "/usr/bin:/bin");
    REQUIRE(python);
    std::vector<std::string> argv{*python, "-u", "-m", "http.server", "0", "--bind", where.host, "--directory", box_.path("idp")};
    if (where.tls) {
      make_certificate(where.host);
      // http.server with its socket wrapped in TLS; it prints the same "port N" line.
      argv = {*python, "-u", "-c",
              "import functools, http.server, ssl, sys\n"
              "handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])\n"
              "server = http.server.ThreadingHTTPServer((sys.argv[1], 0), handler)\n"
              "context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
              "context.load_cert_chain(sys.argv[3], sys.argv[4])\n"
              "server.socket = context.wrap_socket(server.socket, server_side=True)\n"
              "print('Serving HTTPS on', sys.argv[1], 'port', server.server_address[1], '(https)', flush=True)\n"
              "server.serve_forever()\n",
              where.host, box_.path("idp"), box_.path("pki/server.crt"), box_.path("pki/server.key")};
    }
    web_ = std::make_unique<Process>(box_, argv, "idp.log");
    std::string port;
    REQUIRE(testing::eventually([&] {
      const std::string said = web_->log();
      const auto at_port = said.find(" port ");
      if (at_port == std::string::npos) return false;
      port = said.substr(at_port + 6, said.find(' ', at_port + 6) - at_port - 6);
      return true;
    }));
    issuer = std::make_unique<callout::testing::TestIssuer>((where.tls ? "https://" : "http://") + where.host + ":" + port);
    kid = issuer->add_rsa_key();
    publish_keys();
  }

  [[nodiscard]] std::string url() const { return issuer->url(); }
  // The CA that signed the HTTPS certificate (ProviderAddress::tls).
  [[nodiscard]] std::string ca_file() const { return box_.path("pki/ca.crt"); }
  // Serves the issuer's current keys.
  void publish_keys() {
    box_.write("idp/.well-known", "openid-configuration", issuer->discovery(), 0644);
    box_.write("idp/oauth/v2", "keys", issuer->jwks(), 0644);
  }
  // A token for the audience fleet-nats, valid ten minutes, with `extra` claims.
  std::string token(nlohmann::json extra, const std::string& signing_kid = {}) const {
    const auto exp = std::chrono::duration_cast<std::chrono::seconds>(
        (std::chrono::system_clock::now() + std::chrono::minutes(10)).time_since_epoch());
    nlohmann::json claims = {{"iss", url()}, {"aud", "fleet-nats"}, {"sub", "2718"}, {"exp", exp.count()}};
    for (auto& [k, v] : extra.items()) claims[k] = v;
    return issuer->mint(claims, signing_kid.empty() ? kid : signing_kid);
  }
  // Device `id`'s machine user, as Zitadel names it in client_id.
  std::string device(const std::string& id) const { return token({{"client_id", "device-" + id}}); }
  // A member of the fleet-ops project role.
  std::string ops() const { return token({{"urn:zitadel:iam:org:project:roles", {{"fleet-ops", {{"1", "fleet"}}}}}}); }

  std::unique_ptr<callout::testing::TestIssuer> issuer;
  std::string kid;

 private:
  // A CA and a certificate it signed for `host` (an IP address), by openssl.
  void make_certificate(const std::string& host) {
    box_.make_dir("pki", 0700);
    const std::string dir = box_.path("pki");
    const std::string script =
        "set -e; cd '" + dir + "'; "
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj '/CN=harmony test issuer CA' -keyout ca.key -out ca.crt 2>/dev/null; "
        "openssl req -newkey rsa:2048 -nodes -subj '/CN=" + host + "' -keyout server.key -out server.csr 2>/dev/null; "
        "printf 'subjectAltName=IP:" + host + "\\n' > ext.cnf; "
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile ext.cnf -out server.crt 2>/dev/null";
    base::ProcessSpec spec;
    spec.argv = {"/bin/bash", "-c", script};
    spec.timeout = std::chrono::seconds(60);
    auto r = base::run_process(spec);
    REQUIRE(r);
    INFO(r->err);
    REQUIRE(r->exit_code == 0);
  }

  testing::Sandbox& box_;
  std::unique_ptr<Process> web_;
};

}  // namespace harmony::e2e
