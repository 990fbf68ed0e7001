// The agent benchmark's load generator and its floor (bench/agent.sh).
//
//   agent-bench respond <url> <subject>
//       The floor: a raw libnats responder with SendAsap that answers every
//       request on <subject> with a fixed ping-sized reply. Runs until killed.
//   agent-bench measure <url> <subject> <requests> <concurrency>
//       Round-trip latency of <requests> sequential requests (p50, p99), then
//       throughput with <concurrency> requesters for as many requests again.
//       Prints one JSON object.
//   agent-bench floor <nats-server> <nats.conf> <monitor-port> <fleet-agent> <agent.yaml> <url> <device-id>
//       The fleet benchmark's floor: starts nats-server, waits for its
//       /healthz, starts fleet-agent, pings it until it answers, then stops
//       both. Prints {"up_ms": ..., "down_ms": ...}.
//
// Credentials, when the server wants them: $BENCH_NATS_USER and
// $BENCH_NATS_PASSWORD.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nats/nats.h>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

natsConnection* connect(const char* url, bool send_asap) {
  natsOptions* options = nullptr;
  natsConnection* nc = nullptr;
  natsOptions_Create(&options);
  natsOptions_SetURL(options, url);
  if (const char* user = std::getenv("BENCH_NATS_USER"))
    natsOptions_SetUserInfo(options, user, std::getenv("BENCH_NATS_PASSWORD") ? std::getenv("BENCH_NATS_PASSWORD") : "");
  natsOptions_SetSendAsap(options, send_asap);
  natsStatus s = natsConnection_Connect(&nc, options);
  natsOptions_Destroy(options);
  if (s != NATS_OK) {
    std::fprintf(stderr, "agent-bench: cannot connect to %s: %s\n", url, natsStatus_GetText(s));
    std::exit(2);
  }
  return nc;
}

int respond(const char* url, const char* subject) {
  natsConnection* nc = connect(url, true);
  // About the size of an agent's ping reply.
  static const std::string reply =
      R"({"id":"raw","labels":{"role":"bench","site":"lab"},"protocol":1,"time":"2026-11-26T00:00:00.000Z","uptime_ms":1234,"version":"0.1.0"})";
  natsSubscription* sub = nullptr;
  natsStatus s = natsConnection_Subscribe(
      &sub, nc, subject,
      [](natsConnection* conn, natsSubscription*, natsMsg* msg, void*) {
        if (const char* to = natsMsg_GetReply(msg)) natsConnection_Publish(conn, to, reply.data(), static_cast<int>(reply.size()));
        natsMsg_Destroy(msg);
      },
      nullptr);
  if (s != NATS_OK || natsConnection_Flush(nc) != NATS_OK) return 2;
  std::puts("ready");
  std::fflush(stdout);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int received = 0;
  sigwait(&set, &received);
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(nc);
  return 0;
}

int measure(const char* url, const char* subject, int requests, int concurrency) {
  natsConnection* nc = connect(url, true);
  auto ask = [&](natsConnection* conn) {
    natsMsg* reply = nullptr;
    natsStatus s = natsConnection_RequestString(&reply, conn, subject, "", 2000);
    if (s != NATS_OK) {
      std::fprintf(stderr, "agent-bench: request on %s failed: %s\n", subject, natsStatus_GetText(s));
      std::exit(3);
    }
    natsMsg_Destroy(reply);
  };
  for (int i = 0; i < 200; ++i) ask(nc);  // warm up both ends

  std::vector<double> micros;
  micros.reserve(static_cast<std::size_t>(requests));
  for (int i = 0; i < requests; ++i) {
    auto t = Clock::now();
    ask(nc);
    micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
  }
  std::sort(micros.begin(), micros.end());
  auto pct = [&](double p) { return micros[static_cast<std::size_t>(p * static_cast<double>(micros.size() - 1))]; };

  // Throughput: `concurrency` requesters, each on its own connection.
  std::vector<natsConnection*> conns;
  for (int i = 0; i < concurrency; ++i) conns.push_back(connect(url, true));
  std::atomic<int> left{requests};
  auto t = Clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < concurrency; ++i)
    threads.emplace_back([&, i] {
      while (left.fetch_sub(1) > 0) ask(conns[static_cast<std::size_t>(i)]);
    });
  for (auto& th : threads) th.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - t).count();
  for (auto* c : conns) natsConnection_Destroy(c);
  natsConnection_Destroy(nc);
  std::printf("{\"p50_us\": %.1f, \"p99_us\": %.1f, \"rps\": %.0f}\n", pct(0.50), pct(0.99), requests / seconds);
  return 0;
}

pid_t start(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) {
    std::fprintf(stderr, "agent-bench: cannot start %s\n", args[0]);
    std::exit(2);
  }
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

// One GET /healthz on 127.0.0.1:port: true on 200.
bool healthy(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const char request[] = "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::write(fd, request, sizeof request - 1) > 0) {
      char buffer[64] = {};
      ok = ::read(fd, buffer, sizeof buffer - 1) > 12 && std::string(buffer).find(" 200 ") != std::string::npos;
    }
  }
  ::close(fd);
  return ok;
}

int floor(char** argv) {
  const std::string nats_server = argv[2], nats_conf = argv[3], agent = argv[5], agent_conf = argv[6], url = argv[7],
                    id = argv[8];
  const int monitor = std::atoi(argv[4]);
  const auto t0 = Clock::now();
  const pid_t server = start({nats_server, "-c", nats_conf});
  while (!healthy(monitor)) std::this_thread::sleep_for(std::chrono::microseconds(500));
  const pid_t daemon = start({agent, "--config", agent_conf});
  natsConnection* nc = connect(url.c_str(), true);
  const std::string subject = "device-commands." + id + ".ping";
  while (true) {
    natsMsg* reply = nullptr;
    if (natsConnection_RequestString(&reply, nc, subject.c_str(), "", 1000) == NATS_OK) {
      natsMsg_Destroy(reply);
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  const double up = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  natsConnection_Destroy(nc);
  const auto t1 = Clock::now();
  ::kill(daemon, SIGTERM);
  ::kill(server, SIGTERM);
  ::waitpid(daemon, nullptr, 0);
  ::waitpid(server, nullptr, 0);
  const double down = std::chrono::duration<double, std::milli>(Clock::now() - t1).count();
  std::printf("{\"up_ms\": %.1f, \"down_ms\": %.1f}\n", up, down);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "respond" && argc == 4) return respond(argv[2], argv[3]);
  if (mode == "measure" && argc == 6) return measure(argv[2], argv[3], std::atoi(argv[4]), std::atoi(argv[5]));
  if (mode == "floor" && argc == 9) return floor(argv);
  std::fputs("usage: agent-bench respond <url> <subject>\n"
             "       agent-bench measure <url> <subject> <requests> <concurrency>\n"
             "       agent-bench floor <nats-server> <nats.conf> <monitor-port> <fleet-agent> <agent.yaml> <url> <id>\n",
             stderr);
  return 2;
}
