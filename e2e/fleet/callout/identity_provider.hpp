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

class TestIdentityProvider {
 public:
  explicit TestIdentityProvider(testing::Sandbox& box) : box_(box) {
    box_.make_dir("idp", 0755);
    auto python = base::find_program("python3", "/usr/bin:/bin");
    REQUIRE(python);
    web_ = std::make_unique<Process>(box_, std::vector<std::string>{*python, "-u", "-m", "http.server", "0", "--bind",
                                                                    "127.0.0.1", "--directory", box_.path("idp")},
                                     "idp.log");
    std::string port;
    REQUIRE(testing::eventually([&] {
      const std::string said = web_->log();
      const auto at_port = said.find(" port ");
      if (at_port == std::string::npos) return false;
      port = said.substr(at_port + 6, said.find(' ', at_port + 6) - at_port - 6);
      return true;
    }));
    issuer = std::make_unique<callout::testing::TestIssuer>("http://127.0.0.1:" + port);
    kid = issuer->add_rsa_key();
    publish_keys();
  }

  [[nodiscard]] std::string url() const { return issuer->url(); }
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
  testing::Sandbox& box_;
  std::unique_ptr<Process> web_;
};

}  // namespace harmony::e2e
