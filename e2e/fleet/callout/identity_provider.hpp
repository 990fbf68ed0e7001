#pragma once
// What the callout tests share: a detached process with its log, and the
// test identity provider. The provider is the test issuer
// (callout/tests/test_issuer.*): test_idp.py serves its discovery document
// and JWKS from the sandbox on a port it picks, and the token endpoint of the
// JWT profile grant for the machine keys the test makes. Zitadel itself is
// not exercised: its build needs code generation and a web console build
// these machines cannot do; the issuer speaks the same discovery, JWKS,
// token and grant shapes.

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <map>
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
  Process(testing::Sandbox& box, std::vector<std::string> argv, const std::string& log,
          std::optional<base::Environment> env = std::nullopt)
      : log_(box.path(log)) {
    base::DetachedSpec spec;
    spec.argv = std::move(argv);
    spec.env = std::move(env);
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
    box_.make_dir("idp-private", 0700);
    box_.make_dir("idp-private/keys", 0700);
    box_.make_dir("idp-private/tokens", 0700);
    auto python = base::find_program("python3", "/usr/bin:/bin");
    REQUIRE(python);
    std::vector<std::string> argv{*python, "-u", HARMONY_E2E_TEST_IDP, box_.path("idp"), box_.path("idp-private"), where.host};
    if (where.tls) {
      make_certificate(where.host);
      argv.push_back(box_.path("pki/server.crt"));
      argv.push_back(box_.path("pki/server.key"));
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
  // A machine key for device `id`'s machine user, as Zitadel shows it once
  // (its JSON key); the token endpoint answers its grants with the device's
  // current token (a fresh device() token now; set_token changes it).
  std::string machine_key(const std::string& id) {
    const std::string key_id = std::to_string(300000000 + ++keys_made_);
    const std::string user_id = "user" + std::to_string(200000000 + keys_made_);
    const std::string dir = box_.path("idp-private");
    run_script("set -e; cd '" + dir + "'; openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key-" + key_id +
               ".pem 2>/dev/null; openssl pkey -in key-" + key_id + ".pem -pubout -out keys/" + key_id + ".pem");
    box_.write("idp-private/keys", key_id + ".user", user_id, 0600);
    set_token(user_id, device(id));
    users_[id] = user_id;
    const std::string pem = base::read_file(dir + "/key-" + key_id + ".pem", 1 << 16).value_or("");
    return nlohmann::json{{"type", "serviceaccount"}, {"keyId", key_id}, {"key", pem}, {"userId", user_id}}.dump();
  }
  // What the token endpoint gives device `id`'s machine user from now on.
  void set_token(const std::string& user_id, const std::string& token) {
    box_.write("idp-private/tokens", user_id, token, 0600);
  }
  void set_device_token(const std::string& id, const std::string& token) { set_token(users_.at(id), token); }
  // The expires_in of the token endpoint's answers.
  void set_expires_in(int seconds) { box_.write("idp-private", "expires_in", std::to_string(seconds), 0600); }
  // Forgets a machine key: its grants are refused from now on.
  void remove_key(const std::string& key_json) {
    const auto key_id = nlohmann::json::parse(key_json).at("keyId").get<std::string>();
    std::filesystem::remove(box_.path("idp-private/keys/" + key_id + ".pem"));
  }
  // A member of the fleet-ops project role.
  std::string ops() const { return token({{"urn:zitadel:iam:org:project:roles", {{"fleet-ops", {{"1", "fleet"}}}}}}); }

  std::unique_ptr<callout::testing::TestIssuer> issuer;
  std::string kid;

 private:
  void run_script(const std::string& script) {
    base::ProcessSpec spec;
    spec.argv = {"/bin/bash", "-c", script};
    spec.timeout = std::chrono::seconds(60);
    auto r = base::run_process(spec);
    REQUIRE(r);
    INFO(r->err);
    REQUIRE(r->exit_code == 0);
  }
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
    run_script(script);
  }

  testing::Sandbox& box_;
  std::unique_ptr<Process> web_;
  int keys_made_ = 0;
  std::map<std::string, std::string> users_;  // device id -> its machine user's id
};

}  // namespace harmony::e2e
