#pragma once
// Pieces shared by the two halves of the process API (process.cpp: run and
// wait; detached.cpp: start and track). Not installed.

#include <csignal>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

#include <harmony/base/process.hpp>

namespace harmony::base::detail {

// Closes on scope exit; -1 means "nothing".
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~Fd() { reset(); }
  [[nodiscard]] int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Blocks every signal in this thread while it lives. Around fork: the child
// starts with signals blocked, so none of our handlers can run in it before
// it resets dispositions and unblocks (inherit_only_standard_streams).
class SignalsBlocked {
 public:
  SignalsBlocked() {
    sigset_t all;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &saved_);
  }
  ~SignalsBlocked() { ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;

 private:
  sigset_t saved_{};
};

struct Pipe {
  Fd read;
  Fd write;
};

inline expected<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(os_error(errno, "could not create a pipe"));
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

inline std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Turns an execve errno into an error that says why the file could not run.
Error exec_failure(int err, const std::string& path);

// argv[0] as a path to execute: as given when it has a '/', else found in the
// PATH of `env` (empty and relative entries skipped).
expected<std::string> resolve_program(const std::string& argv0, const Environment& env);

// --- In the child, between fork and exec (async-signal-safe) ---

// How mark_descriptors_cloexec finds the open descriptors. `best` tries
// close_range(CLOSE_RANGE_CLOEXEC) (Linux 5.11), then a getdents64 walk of
// /proc/self/fd, then every number below RLIMIT_NOFILE; the others start
// further down that list, so that tests can reach each fallback.
enum class CloexecMethod { best, proc_walk, trying_all };

// Marks every descriptor >= `first` close-on-exec: libraries (libnats's
// socket, a shell's descriptors) leave some without it, and a child must not
// get them. Marking rather than closing keeps the exec-error pipe working.
void mark_descriptors_cloexec(int first, CloexecMethod method = CloexecMethod::best);

// Every signal back to its default action, and an empty signal mask: an
// ignored SIGPIPE or SIGINT, or a blocked signal, survives exec otherwise.
void reset_signals();

// Both of the above, keeping only 0, 1 and 2: call after the dup2s.
void inherit_only_standard_streams();

// Tells the parent why exec failed, through the close-on-exec error pipe.
[[noreturn]] void child_fail(int error_fd, int err);

}  // namespace harmony::base::detail
