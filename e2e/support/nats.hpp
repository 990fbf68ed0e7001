#pragma once
// A real nats-server (the Debian package) for end-to-end tests: its own
// config, JetStream store and log inside a test sandbox, users with
// passwords, and stop/start on the same port to stage outages. The first
// start lets nats-server pick a free port itself (listen 127.0.0.1:-1) and
// reads it back from its log: no port is chosen, closed and hoped to be free.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <harmony/base/process.hpp>
#include <harmony/testing.hpp>

#include "skip.hpp"

struct __natsConnection;

namespace harmony::e2e {

struct NatsUser {
  std::string name;
  std::string password;
};

class NatsServer {
 public:
  struct Options {
    bool jetstream = true;
    std::vector<NatsUser> users{{"operator", "operator-secret-1"}, {"agent", "agent-secret-1"}};
    // Configuration added as is (accounts, an auth_callout block); users
    // then usually empty.
    std::string extra{};
    // The nats-server to run; empty: program().
    std::string program{};
  };

  // Writes the configuration under <sandbox>/nats/; does not start.
  explicit NatsServer(testing::Sandbox& box, Options options);
  explicit NatsServer(testing::Sandbox& box) : NatsServer(box, Options{}) {}
  ~NatsServer();
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  // Starts (or starts again, on the same port and store) and waits until it
  // says it is ready. Fails the test when it does not. url() and port() are
  // known from the first start on.
  void start();
  // SIGKILL: an outage, as a crash or a pulled cable looks to clients.
  void kill();
  // New users or JetStream setting, for the next start().
  void reconfigure(Options options);
  [[nodiscard]] const Options& options() const { return options_; }

  [[nodiscard]] std::string url() const;
  [[nodiscard]] std::uint16_t port() const;
  // A 0600 file holding the user's password.
  [[nodiscard]] std::string password_file(const std::string& user) const;
  [[nodiscard]] std::string log() const;

  // Where nats-server is; nullopt (and the tests skip, saying why) if absent.
  // HARMONY_E2E_NATS_SERVER names it instead of the usual directories (a
  // path that does not exist stages its absence).
  static std::optional<std::string> program();

 private:
  void write_config();
  bool start_once();  // false: the known port was taken; try again

  testing::Sandbox& box_;
  Options options_;
  std::uint16_t port_ = 0;  // 0 until the first start
  std::string config_;
  std::optional<base::ProcessIdentity> process_;
};

// A plain NATS connection as `user`, without reconnects (for what harmony's
// own clients never send); nullptr when the server refuses it. The caller
// destroys it with natsConnection_Destroy.
// `inbox` replaces the _INBOX prefix of its requests' replies (an agent's
// user may only receive under _INBOX.<id>).
__natsConnection* nats_connect(const std::string& url, const std::string& user, const std::string& password,
                               const std::string& inbox = {});

// Skips the test (skip.hpp), saying why, when nats-server is not installed.
#define HARMONY_REQUIRE_NATS()                                                            \
  do {                                                                                    \
    if (!::harmony::e2e::NatsServer::program())                                           \
      HARMONY_SKIP("nats-server is not installed (apt-get install nats-server)"); \
  } while (false)

}  // namespace harmony::e2e
