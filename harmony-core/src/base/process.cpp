#include <harmony/base/process.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <harmony/base/paths.hpp>

#include "process_internal.hpp"

extern char** environ;

namespace harmony::base {
namespace detail {

// Reads the first line of a file, for diagnosing a bad "#!" line.
std::string first_line(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return {};
  char buf[256];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n <= 0) return {};
  std::string line(buf, static_cast<std::size_t>(n));
  if (auto nl = line.find('\n'); nl != std::string::npos) line.resize(nl);
  return line;
}

// Turns an execve errno into an error that says why the file could not run.
Error exec_failure(int err, const std::string& path) {

  const std::string what = "cannot run '" + printable(path) + "'";
  if (err == ENOENT || err == ENOTDIR) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      std::string line = first_line(path);
      if (line.rfind("#!", 0) == 0) {
        Error e = os_error(err, what, "fix the interpreter line, or install the interpreter it names");
        e.status = exit_status::not_executable;
        e.reason = "its interpreter line '" + printable(line) + "' names a program that does not exist";
        return e;
      }
      Error e = os_error(err, what, "reinstall it for this machine");
      e.status = exit_status::not_executable;
      e.reason = "its program loader or a library it needs is missing";
      return e;
    }
    Error e = os_error(err, what, "check the path");
    e.status = exit_status::not_found;
    e.reason = "no such file";
    return e;
  }
  if (err == ENOEXEC) {
    Error e = os_error(err, what, "add an interpreter line such as '#!/bin/sh', or rebuild it for this machine");
    e.status = exit_status::not_executable;
    e.reason = "it is neither a binary for this machine nor a script with a '#!' line";
    return e;
  }
  if (err == E2BIG) {
    Error e = os_error(err, what, "pass large data through a file or standard input instead");
    e.reason = "its arguments and environment are larger than the system allows";
    return e;
  }
  if (err == EACCES) {
    Error e = os_error(err, what, "make it executable (chmod +x), or check the permissions of its directories");
    e.status = exit_status::not_executable;
    return e;
  }
  Error e = os_error(err, what);
  e.status = exit_status::not_executable;
  return e;
}


void child_fail(int error_fd, int err) {
  ssize_t ignored = ::write(error_fd, &err, sizeof err);
  (void)ignored;
  ::_exit(127);
}

expected<std::string> resolve_program(const std::string& argv0, const Environment& env) {
  if (argv0.find('/') != std::string::npos) return argv0;
  if (auto found = find_program(argv0, env.get("PATH").value_or("/usr/bin:/bin"))) return *found;
  Error e = make_error("cannot run '" + printable(argv0) + "'", "no executable of that name in PATH",
                       "install it, or give its full path");
  e.status = exit_status::not_found;
  e.os_errno = ENOENT;
  return fail(std::move(e));
}

}  // namespace detail

namespace {

using namespace detail;
using Clock = std::chrono::steady_clock;

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void child_exec(const ProcessSpec& spec, const char* program, char** argv, char** envp,
                             int stdin_fd, int stdout_fd, int stderr_fd, int error_fd) {
  auto die = [error_fd](int err) { child_fail(error_fd, err); };
  if (spec.timeout.count() > 0 && ::setpgid(0, 0) != 0) die(errno);
  sigset_t all;
  ::sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  if (stdin_fd >= 0 && ::dup2(stdin_fd, 0) < 0) die(errno);
  if (stdout_fd >= 0 && ::dup2(stdout_fd, 1) < 0) die(errno);
  if (stderr_fd >= 0 && ::dup2(stderr_fd, 2) < 0) die(errno);
  if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) die(errno);
  ::execve(program, argv, envp);
  child_fail(error_fd, errno);
}

struct Sink {
  int fd = -1;
  std::string* buffer = nullptr;
  bool* truncated = nullptr;
};

}  // namespace

Environment Environment::current() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.entries_.emplace_back(*e);
  return env;
}

std::optional<std::string> Environment::get(std::string_view name) const {
  for (const auto& entry : entries_) {
    if (entry.size() > name.size() && entry.compare(0, name.size(), name) == 0 &&
        entry[name.size()] == '=')
      return entry.substr(name.size() + 1);
  }
  return std::nullopt;
}

void Environment::set(std::string_view name, std::string_view value) {
  std::string entry;
  entry.reserve(name.size() + 1 + value.size());
  entry.append(name).append("=").append(value);
  for (auto& existing : entries_) {
    if (existing.size() > name.size() && existing.compare(0, name.size(), name) == 0 &&
        existing[name.size()] == '=') {
      existing = std::move(entry);
      return;
    }
  }
  entries_.push_back(std::move(entry));
}

void Environment::unset(std::string_view name) {
  std::erase_if(entries_, [&](const std::string& entry) {
    return entry.size() > name.size() && entry.compare(0, name.size(), name) == 0 &&
           entry[name.size()] == '=';
  });
}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGUSR1: return "SIGUSR1";
    case SIGSEGV: return "SIGSEGV";
    case SIGUSR2: return "SIGUSR2";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    default: return "signal " + std::to_string(signal);
  }
}

std::string ProcessResult::describe() const {
  switch (end) {
    case End::exited: return "exited with status " + std::to_string(exit_code);
    case End::signaled:
      return "was killed by signal " + std::to_string(signal) + " (" + signal_name(signal) + ")";
    case End::timed_out: {
      auto ms = elapsed.count();
      return "timed out after " +
             (ms >= 1000 ? std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + "s"
                         : std::to_string(ms) + "ms");
    }
  }
  return "ended";
}

std::optional<std::string> find_program(std::string_view name, std::string_view path_list) {
  if (name.empty() || name.find('/') != std::string_view::npos) return std::nullopt;
  for (const auto& dir : split_path_list(path_list)) {
    if (dir.empty() || dir.front() != '/') continue;
    std::string candidate = dir;
    if (candidate.back() != '/') candidate += '/';
    candidate += name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return std::nullopt;
}

Error exec_replace(const std::string& path, const std::vector<std::string>& argv,
                   const Environment& env) {
  auto args = c_strings(argv);
  auto envp = c_strings(env.entries());
  ::execve(path.c_str(), args.data(), envp.data());
  return exec_failure(errno, path);
}

Error exec_replace_fd(int fd, const std::string& path, const std::vector<std::string>& argv,
                      const Environment& env) {
  auto args = c_strings(argv);
  auto envp = c_strings(env.entries());
  ::execveat(fd, "", args.data(), envp.data(), AT_EMPTY_PATH);
  return exec_failure(errno, path);
}

expected<ProcessResult> run_process(const ProcessSpec& spec) {
  if (spec.argv.empty() || spec.argv.front().empty())
    return fail(make_error("cannot start a process without a program", "argv is empty"));

  const Environment env = spec.env ? *spec.env : Environment::current();
  auto resolved = resolve_program(spec.argv.front(), env);
  if (!resolved) return fail(resolved.error());
  const std::string program = *resolved;

  auto argv = c_strings(spec.argv);
  auto envp = c_strings(env.entries());

  Fd null_fd;
  auto open_null = [&]() -> expected<int> {
    if (null_fd.get() < 0) null_fd.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (null_fd.get() < 0) return fail(os_error(errno, "could not open /dev/null"));
    return null_fd.get();
  };

  Pipe in_pipe, out_pipe, err_pipe;
  int child_in = -1, child_out = -1, child_err = -1;
  if (spec.stdin_mode == StdinMode::data) {
    auto p = make_pipe();
    if (!p) return fail(p.error());
    in_pipe = std::move(*p);
    child_in = in_pipe.read.get();
  } else if (spec.stdin_mode == StdinMode::null) {
    auto n = open_null();
    if (!n) return fail(n.error());
    child_in = *n;
  }
  for (auto [mode, pipe, child_fd] :
       {std::tuple{spec.stdout_mode, &out_pipe, &child_out}, std::tuple{spec.stderr_mode, &err_pipe, &child_err}}) {
    if (mode == OutputMode::capture) {
      auto p = make_pipe();
      if (!p) return fail(p.error());
      *pipe = std::move(*p);
      *child_fd = pipe->write.get();
    } else if (mode == OutputMode::discard) {
      auto n = open_null();
      if (!n) return fail(n.error());
      *child_fd = *n;
    }
  }
  auto error_pipe = make_pipe();
  if (!error_pipe) return fail(error_pipe.error());

  // Writing to a child that exited must not kill us with SIGPIPE: block it in
  // this thread while we talk to the child, and swallow any pending one.
  sigset_t pipe_set, old_mask;
  ::sigemptyset(&pipe_set);
  ::sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
  struct MaskGuard {
    sigset_t pipe_set, old_mask;
    ~MaskGuard() {
      timespec zero{};
      while (::sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
      }
      ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    }
  } mask_guard{pipe_set, old_mask};

  const auto started = Clock::now();
  pid_t pid = ::fork();
  if (pid < 0) return fail(os_error(errno, "could not start '" + printable(spec.argv.front()) + "'"));
  if (pid == 0)
    child_exec(spec, program.c_str(), argv.data(), envp.data(), child_in, child_out, child_err,
               error_pipe->write.get());

  if (spec.timeout.count() > 0) ::setpgid(pid, pid);  // both sides set it: no race with kill
  // Our copies of the child's ends must close, or we would never see EOF.
  in_pipe.read.reset();
  out_pipe.write.reset();
  err_pipe.write.reset();
  error_pipe->write.reset();

  int exec_errno = 0;
  ssize_t got = 0;
  do {
    got = ::read(error_pipe->read.get(), &exec_errno, sizeof exec_errno);
  } while (got < 0 && errno == EINTR);
  if (got == sizeof exec_errno) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    Error e = exec_failure(exec_errno, program);
    if (!spec.cwd.empty() && ::access(spec.cwd.c_str(), X_OK) != 0)
      e = os_error(exec_errno, "cannot start '" + printable(program) + "' in '" + printable(spec.cwd) + "'",
                   "check that the directory exists");
    return fail(std::move(e));
  }

  ProcessResult result;
  result.pid = pid;
  // glibc 2.36 declares pidfd_open without C linkage; the raw syscall is portable.
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  std::vector<Sink> sinks;
  if (out_pipe.read.get() >= 0) sinks.push_back({out_pipe.read.get(), &result.out, &result.out_truncated});
  if (err_pipe.read.get() >= 0) sinks.push_back({err_pipe.read.get(), &result.err, &result.err_truncated});
  std::size_t written = 0;
  bool input_open = in_pipe.write.get() >= 0;
  if (input_open) ::fcntl(in_pipe.write.get(), F_SETFL, O_NONBLOCK);

  const bool has_deadline = spec.timeout.count() > 0;
  auto deadline = started + spec.timeout;
  bool timed_out = false, term_sent = false, child_done = false;
  int status = 0;

  auto reap = [&](bool block) {
    if (child_done) return;
    pid_t r;
    do {
      r = ::waitpid(pid, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid) child_done = true;
  };

  char buffer[65536];
  while (true) {
    if (sinks.empty() && !input_open) {
      if (child_done) break;
      if (!has_deadline) break;  // nothing left to watch: the blocking wait below ends it
    }
    std::vector<pollfd> fds;
    fds.reserve(sinks.size() + 2);
    for (const auto& s : sinks) fds.push_back({s.fd, POLLIN, 0});
    const std::size_t input_index = fds.size();
    if (input_open) fds.push_back({in_pipe.write.get(), POLLOUT, 0});
    if (!child_done && pidfd.get() >= 0) fds.push_back({pidfd.get(), POLLIN, 0});

    int wait_ms = -1;
    if (has_deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      wait_ms = static_cast<int>(std::max<long long>(0, left));
    }
    if (pidfd.get() < 0 && !child_done) wait_ms = wait_ms < 0 ? 10 : std::min(wait_ms, 10);

    int ready = ::poll(fds.data(), fds.size(), wait_ms);
    if (ready < 0 && errno != EINTR) break;

    if (has_deadline && Clock::now() >= deadline) {
      // Out of time: end the whole group. If the child itself is gone, its
      // descendants may still hold our pipes open; they go too, silently.
      if (!child_done) timed_out = true;
      if (!term_sent) {
        term_sent = true;
        ::kill(-pid, SIGTERM);
        deadline = Clock::now() + spec.kill_grace;
      } else {
        ::kill(-pid, SIGKILL);
        deadline = Clock::now() + std::chrono::hours(24);
      }
      reap(false);
      continue;
    }
    if (ready <= 0) {
      reap(false);
      continue;
    }

    if (input_open && (fds[input_index].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = ::write(in_pipe.write.get(), spec.stdin_data.data() + written,
                          spec.stdin_data.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written >= spec.stdin_data.size()) {
        in_pipe.write.reset();
        input_open = false;
      }
    }
    // Backwards, so that erasing a finished stream keeps fds[] and sinks[] aligned.
    for (std::size_t i = sinks.size(); i-- > 0;) {
      if (fds[i].revents == 0) continue;
      ssize_t n = ::read(sinks[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        auto& buf = *sinks[i].buffer;
        std::size_t room = spec.output_limit > buf.size() ? spec.output_limit - buf.size() : 0;
        std::size_t take = std::min(room, static_cast<std::size_t>(n));
        buf.append(buffer, take);
        if (take < static_cast<std::size_t>(n)) *sinks[i].truncated = true;
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        sinks.erase(sinks.begin() + static_cast<long>(i));
      }
    }
    reap(false);
  }
  reap(true);
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);

  if (timed_out) {
    result.end = ProcessResult::End::timed_out;
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.end = ProcessResult::End::signaled;
    result.signal = WTERMSIG(status);
  } else {
    result.end = ProcessResult::End::exited;
    result.exit_code = WEXITSTATUS(status);
  }
  return result;
}

}  // namespace harmony::base
