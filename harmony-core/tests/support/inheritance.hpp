#pragma once
// Test support: what a child process must not inherit from its parent. A
// descriptor left open without close-on-exec, ignored signals and a blocked
// signal mask, set up for one test and undone after it; and parsers for what
// the child reports (`ls /proc/self/fd`, `/proc/self/status`).

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <pthread.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace harmony::testing {
// Descriptor 200, open without close-on-exec for the test's duration, like
// the socket libnats leaves behind.
struct LeakyDescriptor {
  static constexpr int number = 200;
  LeakyDescriptor() {
    int fd = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC, on purpose
    REQUIRE(fd >= 0);
    REQUIRE(::dup2(fd, number) == number);
    ::close(fd);
  }
  ~LeakyDescriptor() { ::close(number); }
};

inline std::vector<int> numbers_in(const std::string& lines) {
  std::vector<int> out;
  std::size_t pos = 0;
  while (pos < lines.size()) {
    auto end = lines.find('\n', pos);
    if (end == std::string::npos) end = lines.size();
    if (end > pos) out.push_back(std::atoi(lines.substr(pos, end - pos).c_str()));
    pos = end + 1;
  }
  return out;
}

// The hex mask after "<field>:\t" in /proc/<pid>/status text.
inline std::string status_field(const std::string& status, const std::string& field) {
  auto at = status.find("\n" + field + ":\t");
  if (at == std::string::npos) return "missing";
  at += field.size() + 3;
  return status.substr(at, status.find('\n', at) - at);
}

// Ignores SIGINT, SIGPIPE and SIGUSR2 and blocks SIGUSR1 in this thread, as a daemon
// or a shell's background job may; restores all of it at the end.
struct ParentSignals {
  struct sigaction old_int {}, old_pipe {}, old_usr2 {};
  sigset_t old_mask{};
  ParentSignals() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGINT, &ignore, &old_int);
    ::sigaction(SIGPIPE, &ignore, &old_pipe);
    ::sigaction(SIGUSR2, &ignore, &old_usr2);
    sigset_t usr1;
    ::sigemptyset(&usr1);
    ::sigaddset(&usr1, SIGUSR1);
    ::pthread_sigmask(SIG_BLOCK, &usr1, &old_mask);
  }
  ~ParentSignals() {
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGPIPE, &old_pipe, nullptr);
    ::sigaction(SIGUSR2, &old_usr2, nullptr);
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  }
};

}  // namespace harmony::testing
