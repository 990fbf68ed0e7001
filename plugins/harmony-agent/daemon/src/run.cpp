#include "run.hpp"

#include <csignal>
#include <malloc.h>
#include <cstdio>
#include <string>
#include <unistd.h>

#include <nats/nats.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <harmony/version.hpp>

#include "agent.hpp"
#include "config.hpp"
#include "workloads.hpp"

namespace harmony::agent::daemon {
namespace {

constexpr const char* usage =
    "usage: fleet-agent [--config FILE]\n"
    "\n"
    "The harmony fleet agent: serves ping, status, exec and logs on\n"
    "device-commands.<id>.<verb> over NATS, and publishes heartbeats.\n"
    "Configuration: FILE (or $FLEET_AGENT_CONFIG), then FLEET_AGENT_* variables.\n"
    "See docs/agent.md and docs/agent-protocol.md.\n";

int report(const base::Error& e) {
  std::string text = base::render_error(e, "fleet-agent", false);
  std::fputs(text.c_str(), stderr);
  return e.status;
}

}  // namespace

int run(int argc, char** argv) {
  // The wrapper the agent starts each process workload through.
  if (argc >= 5 && std::string_view(argv[1]) == "--run-workload" && std::string_view(argv[3]) == "--")
    return run_workload(argv[2], std::vector<std::string>(argv + 4, argv + argc));
  // A few threads, each asking little of malloc: one arena per thread would
  // keep a heap of its own resident for nothing (ADR 0011).
  mallopt(M_ARENA_MAX, 1);
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--config" || a == "-c") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a.starts_with("--config=")) {
      config_path = a.substr(9);
    } else if (a == "--version") {
      std::printf("fleet-agent %s (agent protocol %d)\n", harmony::version, protocol_version);
      return 0;
    } else if (a == "-h" || a == "--help") {
      std::fputs(usage, stdout);
      return 0;
    } else {
      return report(base::usage_error("unknown argument '" + base::printable(a) + "'", {}, "run 'fleet-agent --help'"));
    }
  }
  const Getenv getenv = process_environment();
  if (config_path.empty()) config_path = getenv("FLEET_AGENT_CONFIG").value_or("");

  auto config = load_config(config_path, getenv);
  if (!config) return report(config.error());
  std::string password;
  if (!config->nats_user.empty()) {
    auto read = read_password(*config);
    if (!read) return report(read.error());
    password = std::move(*read);
  }

  // Logs go to stderr (the service manager keeps them) and to a ring buffer
  // that the logs verb serves.
  auto recent = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(config->log_lines);
  auto console = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto log = std::make_shared<spdlog::logger>("fleet-agent", spdlog::sinks_init_list{console, recent});
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  log->set_level(spdlog::level::from_str(config->log_level));
  log->flush_on(spdlog::level::info);

  // Signals are taken by this thread with sigwait; every other thread
  // (libnats's, exec workers) inherits them blocked.
  // A parent may have left them ignored (a shell's background job ignores
  // SIGINT), and an ignored signal is dropped, not queued for sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) {
    std::signal(s, SIG_DFL);
    sigaddset(&signals, s);
  }
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  int status = 0;
  {
    Agent agent(*config, password, log, recent);
    if (auto started = agent.start(); !started) {
      log->error("{}: {}", started.error().message, started.error().reason);
      status = report(started.error());
    } else {
      int received = 0;
      while (true) {
        sigwait(&signals, &received);
        if (received == SIGHUP) {
          log->info("SIGHUP: nothing to reload; restart the agent to read its configuration again");
          continue;
        }
        break;
      }
      log->info("{}: draining", received == SIGTERM ? "SIGTERM" : "SIGINT");
      agent.stop();
    }
  }
  nats_Close();
  return status;
}

}  // namespace harmony::agent::daemon
