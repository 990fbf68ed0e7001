// What a child gets from us, decided in the child between fork and exec.
//
// Everything here runs after fork in a process that may have had other
// threads: only async-signal-safe calls, no allocation, no locks. That is why
// the /proc walk uses getdents64 on a stack buffer instead of opendir.

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "process_internal.hpp"

namespace harmony::base::detail {
namespace {

bool cloexec_by_close_range(int first) {
#ifdef CLOSE_RANGE_CLOEXEC
  return ::close_range(static_cast<unsigned>(first), ~0U, CLOSE_RANGE_CLOEXEC) == 0;
#else
  (void)first;
  return false;
#endif
}

// Parses a directory entry name that is a non-negative number; -1 otherwise.
int fd_number(const char* name) {
  if (*name == '\0') return -1;
  int value = 0;
  for (; *name != '\0'; ++name) {
    if (*name < '0' || *name > '9' || value > 100'000'000) return -1;
    value = value * 10 + (*name - '0');
  }
  return value;
}

bool cloexec_by_proc(int first) {
  const int dir = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  alignas(8) char buffer[4096];
  bool ok = true;
  while (true) {
    const long got = ::syscall(SYS_getdents64, dir, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) ok = false;
    if (got <= 0) break;
    // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
    for (long offset = 0; offset < got;) {
      unsigned short length = 0;
      std::memcpy(&length, buffer + offset + 16, sizeof length);
      const int fd = fd_number(buffer + offset + 19);
      if (fd >= first && fd != dir) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
      offset += length;
    }
  }
  ::close(dir);
  return ok;
}

// Without /proc: every possible number up to the descriptor limit.
void cloexec_by_trying_all(int first) {
  struct rlimit limit {};
  rlim_t last = 65536;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) last = limit.rlim_cur;
  // Containers may set the limit near 2^30: a billion fcntl calls would stall
  // the start for minutes. Descriptors past a million are not seen in practice.
  last = std::min<rlim_t>(last, 1 << 20);
  for (rlim_t fd = static_cast<rlim_t>(first); fd < last; ++fd) ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
}

}  // namespace

void mark_descriptors_cloexec(int first, CloexecMethod method) {
  if (method == CloexecMethod::best && cloexec_by_close_range(first)) return;  // ENOSYS before 5.11, EINVAL before 5.9
  if (method != CloexecMethod::trying_all && cloexec_by_proc(first)) return;
  cloexec_by_trying_all(first);
}

void reset_signals() {
  struct sigaction defaults {};
  defaults.sa_handler = SIG_DFL;
  ::sigemptyset(&defaults.sa_mask);
  // glibc refuses its own two real-time signals (EINVAL); exec resets their handlers anyway.
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &defaults, nullptr);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

void inherit_only_standard_streams() {
  reset_signals();
  mark_descriptors_cloexec(3);
}

}  // namespace harmony::base::detail
