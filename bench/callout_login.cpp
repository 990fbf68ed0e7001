// Login latency through fleet-callout against a password login on the same
// nats-server, and logins per second through the callout (bench/fleet-callout.sh).
// Runs its own stack in a scratch directory: Python's http.server as the
// identity provider (the test issuer's keys), nats-server >= 2.10 with an
// auth_callout block and one password user that bypasses the callout, and
// fleet-callout. Everything on 127.0.0.1; every loop is bounded.
//
//   callout-login-bench NATS_SERVER CALLOUT [LOGINS [xkey]]
//
// CALLOUT is fleet-callout, or bench/callout-floor (which takes its flags);
// `xkey` seals requests and answers, as harmony's deploys do.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include <nats/nats.h>

#include <harmony/base/files.hpp>
#include <harmony/base/process.hpp>
#include <harmony/callout/nkeys.hpp>

#include "test_issuer.hpp"

using namespace harmony;
using namespace std::chrono;
namespace fs = std::filesystem;

namespace {

struct Daemon {
  std::optional<base::ProcessIdentity> id;
  std::string log;
  Daemon(std::vector<std::string> argv, std::string log_path) : log(std::move(log_path)) {
    base::DetachedSpec spec;
    spec.argv = std::move(argv);
    spec.log_path = log;
    auto started = base::spawn_detached(spec, [](const base::ProcessIdentity&) { return base::expected<void>{}; });
    if (!started) throw std::runtime_error("cannot start " + spec.argv.front() + ": " + started.error().reason);
    id = *started;
  }
  ~Daemon() {
    if (id) (void)base::terminate_process(*id, seconds(2));
  }
  [[nodiscard]] std::string text() const { return base::read_file(log, 1 << 22).value_or(""); }
  // Waits (at most 20 s) for `what` in the log.
  std::string wait_for(const std::string& what) const {
    for (int i = 0; i < 200; ++i) {
      const std::string t = text();
      if (t.find(what) != std::string::npos) return t;
      std::this_thread::sleep_for(milliseconds(100));
    }
    throw std::runtime_error("no '" + what + "' in " + log + ":\n" + text());
  }
};

bool connect_once(const std::string& url, const std::string& user, const std::string& secret, bool token) {
  natsOptions* options = nullptr;
  natsOptions_Create(&options);
  natsOptions_SetURL(options, url.c_str());
  if (token)
    natsOptions_SetToken(options, secret.c_str());
  else
    natsOptions_SetUserInfo(options, user.c_str(), secret.c_str());
  natsOptions_SetAllowReconnect(options, false);
  natsConnection* nc = nullptr;
  const bool ok = natsConnection_Connect(&nc, options) == NATS_OK;
  natsConnection_Destroy(nc);
  natsOptions_Destroy(options);
  return ok;
}

struct Figures {
  double median_ms, p95_ms;
};

Figures figures(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[ms.size() * 95 / 100]};
}

// The two kinds of login alternate, so that whatever else the machine does
// weighs on both alike.
std::pair<Figures, Figures> time_logins(int n, const std::function<bool()>& first, const std::function<bool()>& second) {
  std::vector<double> a, b;
  auto timed = [](const std::function<bool()>& login, std::vector<double>& into) {
    const auto t0 = steady_clock::now();
    if (!login()) throw std::runtime_error("a login failed during the measurement");
    into.push_back(duration<double, std::milli>(steady_clock::now() - t0).count());
  };
  for (int i = 0; i < n; ++i) {
    timed(first, a);
    timed(second, b);
  }
  return {figures(std::move(a)), figures(std::move(b))};
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 3) {
    std::fprintf(stderr, "usage: callout-login-bench NATS_SERVER CALLOUT [LOGINS [xkey]]\n");
    return 2;
  }
  const std::string nats_server = argv[1], fleet_callout = argv[2];
  const int logins = argc > 3 ? std::max(10, std::atoi(argv[3])) : 200;
  const bool sealed = argc > 4 && std::string_view(argv[4]) == "xkey";
  const std::string name = fs::path(fleet_callout).filename().string() + (sealed ? " (xkey)" : "");
  const fs::path dir = fs::temp_directory_path() / ("callout-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir / "idp/.well-known");
  fs::create_directories(dir / "idp/oauth/v2");
  struct Cleanup {
    fs::path dir;
    ~Cleanup() { fs::remove_all(dir); }
  } cleanup{dir};

  Daemon web({"/usr/bin/python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", (dir / "idp").string()},
             (dir / "idp.log").string());
  const std::string said = web.wait_for(" port ");
  const auto at = said.find(" port ") + 6;
  callout::testing::TestIssuer idp("http://127.0.0.1:" + said.substr(at, said.find(' ', at) - at));
  // RS256, as Zitadel signs its access tokens.
  const std::string kid = idp.add_rsa_key();
  (void)base::write_file_atomically((dir / "idp/.well-known/openid-configuration").string(), idp.discovery(), 0644);
  (void)base::write_file_atomically((dir / "idp/oauth/v2/keys").string(), idp.jwks(), 0644);

  const auto account = callout::KeyPair::generate(callout::KeyKind::account);
  (void)base::write_file_atomically((dir / "issuer.seed").string(), account.seed() + "\n", 0600);
  (void)base::write_file_atomically((dir / "callout.password").string(), "callout-secret\n", 0600);
  const auto xkey = callout::XKey::generate();
  (void)base::write_file_atomically((dir / "xkey.seed").string(), xkey.seed() + "\n", 0600);
  const std::string conf = "listen: 127.0.0.1:-1\n"
                           "accounts {\n"
                           "  AUTH { users: [ { user: callout, password: callout-secret }, { user: bench, password: bench-secret } ] }\n"
                           "  FLEET { }\n  SYS { }\n}\n"
                           "system_account: SYS\n"
                           "authorization { auth_callout { issuer: " + account.public_key() +
                           ", users: [ callout, bench ], account: AUTH" +
                           (sealed ? ", xkey: " + xkey.public_key() : std::string()) + " } }\n";
  (void)base::write_file_atomically((dir / "nats.conf").string(), conf, 0600);
  Daemon nats({nats_server, "-c", (dir / "nats.conf").string()}, (dir / "nats.log").string());
  const std::string ready = nats.wait_for("Server is ready");
  const std::string listening = "Listening for client connections on 127.0.0.1:";
  const std::string url = "nats://127.0.0.1:" + std::to_string(std::stoi(ready.substr(ready.find(listening) + listening.size())));
  std::vector<std::string> argv_callout{fleet_callout, "--nats-urls", url, "--nats-password-file", (dir / "callout.password").string(),
                                        "--issuer-seed-file", (dir / "issuer.seed").string(), "--oidc-issuer", idp.url(),
                                        "--oidc-audience", "fleet-nats"};
  if (sealed) argv_callout.insert(argv_callout.end(), {"--xkey-seed-file", (dir / "xkey.seed").string()});
  Daemon service(argv_callout, (dir / "callout.log").string());
  service.wait_for("answering authorization requests");

  const auto exp = duration_cast<seconds>((system_clock::now() + hours(1)).time_since_epoch()).count();
  const std::string token = idp.mint({{"iss", idp.url()}, {"aud", "fleet-nats"}, {"client_id", "device-edge-1"}, {"exp", exp}}, kid);
  // Warm both paths (the callout's first login waits for nothing: its keys
  // are fetched at start; this warms the sockets and caches).
  for (int i = 0; i < 5; ++i) {
    connect_once(url, "bench", "bench-secret", false);
    connect_once(url, "", token, true);
  }
  const auto [password, through] = time_logins(
      logins, [&] { return connect_once(url, "bench", "bench-secret", false); }, [&] { return connect_once(url, "", token, true); });

  // Logins per second: 4 clients logging in back to back for 3 seconds.
  std::atomic<int> done{0}, failed{0};
  const auto until = steady_clock::now() + seconds(3);
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c)
    clients.emplace_back([&] {
      while (steady_clock::now() < until) (connect_once(url, "", token, true) ? done : failed)++;
    });
  for (auto& t : clients) t.join();

  std::printf("%s\n", name.c_str());
  std::printf("  password login (same server)   median %.2f ms  p95 %.2f ms  (%d logins)\n", password.median_ms, password.p95_ms, logins);
  std::printf("  login through the callout      median %.2f ms  p95 %.2f ms  (%d logins)\n", through.median_ms, through.p95_ms, logins);
  const double ratio = through.median_ms / password.median_ms;
  std::printf("  ratio (median)                 %.2fx  target < 3x: %s\n", ratio, ratio < 3.0 ? "met" : "MISSED");
  std::printf("  logins per second, 4 clients   %.0f /s (%d failed)\n", done.load() / 3.0, failed.load());
  nats_Close();
  return ratio < 3.0 && failed == 0 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "callout-login-bench: %s\n", e.what());
  return 1;
}
