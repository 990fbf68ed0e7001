// The child-side steps of the process API, each run in a forked child of the
// test, so that every fallback is exercised whatever this kernel supports.

#include <catch2/catch.hpp>

#include <csignal>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process_internal.hpp"

using harmony::base::detail::CloexecMethod;

namespace {
// Runs `check` in a forked child; true when it returned true there.
template <typename Check>
bool in_child(Check check) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(check() ? 0 : 1);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool cloexec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }
}  // namespace

TEST_CASE("every descriptor from 3 up is marked close-on-exec, by each method, and 0-2 are left alone") {
  auto method = GENERATE(CloexecMethod::best, CloexecMethod::proc_walk, CloexecMethod::trying_all);
  CHECK(in_child([method] {
    const int fd = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC
    if (fd < 0 || ::dup2(fd, 200) != 200 || cloexec(fd) || cloexec(200)) return false;
    harmony::base::detail::mark_descriptors_cloexec(3, method);
    return cloexec(fd) && cloexec(200) && !cloexec(0) && !cloexec(1) && !cloexec(2);
  }));
}

TEST_CASE("signal dispositions go back to their defaults and the mask is emptied") {
  CHECK(in_child([] {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGUSR2, &ignore, nullptr);
    ::sigaction(SIGPIPE, &ignore, nullptr);
    sigset_t usr1;
    ::sigemptyset(&usr1);
    ::sigaddset(&usr1, SIGUSR1);
    ::sigprocmask(SIG_BLOCK, &usr1, nullptr);
    harmony::base::detail::reset_signals();
    struct sigaction now {};
    sigset_t mask;
    ::sigaction(SIGUSR2, nullptr, &now);
    bool usr2_default = now.sa_handler == SIG_DFL;
    ::sigaction(SIGPIPE, nullptr, &now);
    bool pipe_default = now.sa_handler == SIG_DFL;
    ::sigprocmask(SIG_SETMASK, nullptr, &mask);
    return usr2_default && pipe_default && ::sigismember(&mask, SIGUSR1) == 0;
  }));
}
