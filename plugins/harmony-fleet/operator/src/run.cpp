#include "run.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>

#include <nats/nats.h>

#include <harmony/base/daemon_options.hpp>
#include <harmony/base/error.hpp>
#include <harmony/base/exit_status.hpp>
#include <harmony/base/secrets.hpp>
#include <harmony/base/text.hpp>
#include <harmony/base/time.hpp>
#include <harmony/version.hpp>

#include "operator.hpp"

namespace harmony::fleet::op {
namespace {

constexpr const char* usage =
    "usage: fleet-operator [options]\n"
    "\n"
    "The harmony fleet operator: makes each FleetDeployment's workload the desired\n"
    "state of the devices its selector matches, and counts what they report.\n"
    "See docs/fleet-operator.md. Every option also reads FLEET_OPERATOR_<NAME>\n"
    "(--nats-urls: FLEET_OPERATOR_NATS_URLS).\n"
    "\n"
    "  --kubeconfig FILE          default: in the cluster, its service account; else as kubectl\n"
    "  --context NAME\n"
    "  --namespace NS             where the leader Lease lives (default: $POD_NAMESPACE, else fleet-system)\n"
    "  --watch-namespace NS       only FleetDeployments of NS (default: every namespace)\n"
    "  --nats-urls URL[,URL]      default nats://127.0.0.1:4222\n"
    "  --nats-user NAME           default fleet-operator\n"
    "  --nats-password-file FILE  0600 (or 0640/0440 for the group): the user's password\n"
    "  --nats-ca-file FILE        TLS: the CA of NATS's certificate\n"
    "  --listen ADDR:PORT         /healthz, /readyz, /metrics (default 0.0.0.0:8080)\n"
    "  --identity NAME            this replica in the Lease (default: $POD_NAME, else host-pid)\n"
    "  --lease-duration DURATION  default 15s\n"
    "  --status-interval DURATION at most one status write per object this often (default 500ms)\n"
    "  --resync DURATION          read everything again this often (default 5m)\n"
    "  --version, --help\n";

int report(const base::Error& e) {
  std::fputs(base::render_error(e, "fleet-operator", false).c_str(), stderr);
  return e.status;
}

base::expected<std::chrono::milliseconds> duration(const std::string& flag, const std::string& text) {
  auto d = base::parse_duration(text);
  if (!d || d->count() <= 0)
    return base::fail(base::usage_error(flag + ": '" + base::printable(text) + "' is not a duration", "e.g. 15s or 500ms"));
  return *d;
}

}  // namespace

int run(int argc, char** argv) {
  static constexpr std::string_view flags[] = {"--kubeconfig", "--context", "--namespace", "--watch-namespace",
                                               "--nats-urls", "--nats-user", "--nats-password-file", "--nats-ca-file",
                                               "--listen", "--identity", "--lease-duration", "--status-interval", "--resync"};
  auto given = base::parse_daemon_options(argc, argv, flags, "FLEET_OPERATOR_", "fleet-operator");
  if (!given) return report(given.error());
  if (given->version) {
    std::printf("fleet-operator %s\n", harmony::version);
    return 0;
  }
  if (given->help) {
    std::fputs(usage, stdout);
    return 0;
  }
  auto get = [&](const std::string& flag, std::string fallback = {}) { return given->get(flag, std::move(fallback)); };

  OperatorOptions o;
  o.kube = kube::LoadOptions::from_environment();
  o.kube.explicit_path = get("--kubeconfig");
  o.kube.context = get("--context");
  o.watch_namespace = get("--watch-namespace");
  const char* pod_namespace = std::getenv("POD_NAMESPACE");
  o.lease.namespace_ = get("--namespace", pod_namespace ? pod_namespace : "fleet-system");
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const char* pod_name = std::getenv("POD_NAME");
  o.lease.identity = get("--identity", pod_name ? pod_name : std::string(host) + "-" + std::to_string(::getpid()));
  o.nats.urls = base::split_list(get("--nats-urls", "nats://127.0.0.1:4222"), ',');
  o.nats.user = get("--nats-user", "fleet-operator");
  o.nats.ca_file = get("--nats-ca-file");
  if (auto file = get("--nats-password-file"); !file.empty()) {
    auto password = base::read_secret_file(file, "the NATS password file");
    if (!password) {
      base::Error e = base::make_error(password.error().message, password.error().reason, password.error().hint);
      e.status = base::exit_status::invalid_settings;
      return report(e);
    }
    o.nats.password = *password;
  }
  const std::string listen = get("--listen", "0.0.0.0:8080");
  const auto colon = listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos) port = std::atoi(listen.c_str() + colon + 1);
  if (colon == std::string::npos || port < 0 || port > 65535)
    return report(base::usage_error("--listen: '" + base::printable(listen) + "' is not ADDRESS:PORT", "e.g. 0.0.0.0:8080"));
  o.listen_address = listen.substr(0, colon);
  if (o.listen_address.size() > 2 && o.listen_address.front() == '[') o.listen_address = o.listen_address.substr(1, o.listen_address.size() - 2);
  o.listen_port = static_cast<std::uint16_t>(port);
  for (auto [flag, target] : {std::pair{"--lease-duration", &o.lease.duration}, std::pair{"--status-interval", &o.status_interval},
                              std::pair{"--resync", &o.resync}}) {
    if (auto text = get(flag); !text.empty()) {
      auto d = duration(flag, text);
      if (!d) return report(d.error());
      *target = *d;
    }
  }
  o.nats.resync = o.resync;
  // client-go's proportions: renew well before the others may take over.
  o.lease.renew_deadline = o.lease.duration * 2 / 3;
  o.lease.retry = std::max(std::chrono::milliseconds(200), o.lease.duration / 7);

  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT}) {
    std::signal(s, SIG_DFL);
    sigaddset(&signals, s);
  }
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  int status = 0;
  {
    Operator op(o);
    if (auto started = op.start(); !started) {
      status = report(started.error());
    } else {
      int received = 0;
      sigwait(&signals, &received);
      log_line("info", std::string(received == SIGTERM ? "SIGTERM" : "SIGINT") + ": stopping");
      op.stop();
    }
  }
  nats_Close();
  return status;
}

}  // namespace harmony::fleet::op
