#pragma once
// Pieces shared by the two halves of the process API (process.cpp: run and
// wait; detached.cpp: start and track). Not installed.

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

// Tells the parent why exec failed, through the close-on-exec error pipe.
[[noreturn]] void child_fail(int error_fd, int err);

}  // namespace harmony::base::detail
