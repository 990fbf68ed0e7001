#include <harmony/base/process.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <tuple>
#include <vector>
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

// run_process in four steps, each below: open_streams (what the child's 0, 1
// and 2 are), start_child (fork, exec, and an exec failure as an Error),
// Supervisor (feed stdin, read output, enforce the deadline, reap), and
// classify (how it ended).

// The child's standard streams: the ends it gets, and the ends we keep.
struct ChildStreams {
  Fd null;
  Pipe in, out, err;
  int child_in = -1, child_out = -1, child_err = -1;
};

expected<ChildStreams> open_streams(const ProcessSpec& spec) {
  ChildStreams s;
  auto open_null = [&]() -> expected<int> {
    if (s.null.get() < 0) s.null.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (s.null.get() < 0) return fail(os_error(errno, "could not open /dev/null"));
    return s.null.get();
  };
  if (spec.stdin_mode == StdinMode::data) {
    auto p = make_pipe();
    if (!p) return fail(p.error());
    s.in = std::move(*p);
    s.child_in = s.in.read.get();
  } else if (spec.stdin_mode == StdinMode::null) {
    auto n = open_null();
    if (!n) return fail(n.error());
    s.child_in = *n;
  }
  for (auto [mode, pipe, child_fd] :
       {std::tuple{spec.stdout_mode, &s.out, &s.child_out}, std::tuple{spec.stderr_mode, &s.err, &s.child_err}}) {
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
  return s;
}

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void child_exec(const ProcessSpec& spec, const char* program, char** argv, char** envp,
                             const ChildStreams& streams, int error_fd) {
  auto die = [error_fd](int err) { child_fail(error_fd, err); };
  if (spec.timeout.count() > 0 && ::setpgid(0, 0) != 0) die(errno);
  if (streams.child_in >= 0 && ::dup2(streams.child_in, 0) < 0) die(errno);
  if (streams.child_out >= 0 && ::dup2(streams.child_out, 1) < 0) die(errno);
  if (streams.child_err >= 0 && ::dup2(streams.child_err, 2) < 0) die(errno);
  inherit_only_standard_streams();
  if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) die(errno);
  ::execve(program, argv, envp);
  child_fail(error_fd, errno);
}

// Forks and execs; returns the child's pid once it runs the program, or why
// it could not. Closes our copies of the child's ends, or we would never see
// EOF.
expected<pid_t> start_child(const ProcessSpec& spec, const std::string& program, const Environment& env,
                            ChildStreams& streams) {
  auto argv = c_strings(spec.argv);
  auto envp = c_strings(env.entries());
  auto error_pipe = make_pipe();
  if (!error_pipe) return fail(error_pipe.error());

  pid_t pid = 0;
  {
    SignalsBlocked blocked;
    pid = ::fork();
    if (pid == 0) child_exec(spec, program.c_str(), argv.data(), envp.data(), streams, error_pipe->write.get());
  }
  if (pid < 0) return fail(os_error(errno, "could not start '" + printable(spec.argv.front()) + "'"));

  if (spec.timeout.count() > 0) ::setpgid(pid, pid);  // both sides set it: no race with kill
  streams.in.read.reset();
  streams.out.write.reset();
  streams.err.write.reset();
  streams.null.reset();
  error_pipe->write.reset();

  int exec_errno = 0;
  ssize_t got = 0;
  do {
    got = ::read(error_pipe->read.get(), &exec_errno, sizeof exec_errno);
  } while (got < 0 && errno == EINTR);
  if (got != sizeof exec_errno) return pid;  // EOF: exec closed the pipe, the program runs

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  Error e = exec_failure(exec_errno, program);
  if (!spec.cwd.empty() && ::access(spec.cwd.c_str(), X_OK) != 0)
    e = os_error(exec_errno, "cannot start '" + printable(program) + "' in '" + printable(spec.cwd) + "'",
                 "check that the directory exists");
  return fail(std::move(e));
}

// A captured stream: our read end and where its bytes go.
struct Sink {
  int fd = -1;
  std::string* buffer = nullptr;
  bool* truncated = nullptr;
};

// The parent's side while the child runs. One loop waits on the output
// pipes, the stdin pipe and a pidfd for the child, and wakes for the next
// time limit:
// - while the child runs: the deadline (then SIGTERM to its group), and
//   kill_grace later (then SIGKILL to its group, and we stop reading);
// - once the child has exited: output_grace (capped by those limits) for
//   whoever still holds the pipes, then we stop reading and say so.
// So we never wait on a descendant, wherever it is.
class Supervisor {
 public:
  Supervisor(const ProcessSpec& spec, pid_t pid, ChildStreams& streams, ProcessResult& result, Clock::time_point started)
      : spec_(spec), pid_(pid), result_(result), input_(std::move(streams.in.write)) {
    // glibc 2.36 declares pidfd_open without C linkage; the raw syscall is portable.
    pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    for (auto [fd, buffer, truncated] : {std::tuple{&streams.out.read, &result.out, &result.out_truncated},
                                         std::tuple{&streams.err.read, &result.err, &result.err_truncated}}) {
      if (fd->get() < 0) continue;
      ::fcntl(fd->get(), F_SETFL, O_NONBLOCK);
      sinks_.push_back({fd->get(), buffer, truncated});
    }
    if (input_.get() >= 0) ::fcntl(input_.get(), F_SETFL, O_NONBLOCK);
    if (spec.timeout.count() > 0) next_signal_ = started + spec.timeout;
  }

  // Returns the child's wait status once it is reaped and we stopped reading.
  int run() {
    while (true) {
      const auto now = Clock::now();
      if (!child_done_ && now >= next_signal_ && escalate(now)) break;
      if (child_done_ && (sinks_.empty() || now >= stop_reading_)) break;
      poll_once(now);
    }
    finish();
    return status_;
  }

  [[nodiscard]] bool timed_out() const { return timed_out_; }

 private:
  static constexpr auto never = Clock::time_point::max();
  static constexpr auto kill_wait = std::chrono::seconds(2);

  // The deadline passed: SIGTERM to the group, or, kill_grace later, SIGKILL.
  // Returns true when it is time to stop (after SIGKILL).
  bool escalate(Clock::time_point now) {
    if (!timed_out_) {
      timed_out_ = true;
      ::kill(-pid_, SIGTERM);
      next_signal_ = now + spec_.kill_grace;
      return false;
    }
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);  // in case it left its group; not reaped yet, so still ours
    reap_after_kill();
    return true;
  }

  // SIGKILL cannot be ignored, but a process in uninterruptible sleep (a hung
  // network file system) dies only when the kernel lets it. Wait a bounded
  // time, then leave the reaping to a thread of its own, so the caller's
  // deadline holds.
  void reap_after_kill() {
    const auto until = Clock::now() + kill_wait;
    while (!reap(false)) {
      if (Clock::now() >= until) {
        std::thread([pid = pid_] {
          int ignored = 0;
          while (::waitpid(pid, &ignored, 0) < 0 && errno == EINTR) {
          }
        }).detach();
        status_ = SIGKILL;  // as a wait status: killed by SIGKILL
        child_done_ = true;
        return;
      }
      pollfd p{pidfd_.get(), POLLIN, 0};
      ::poll(&p, pidfd_.get() >= 0 ? 1 : 0, 20);
    }
  }

  void poll_once(Clock::time_point now) {
    std::vector<pollfd> fds;
    fds.reserve(sinks_.size() + 2);
    for (const auto& s : sinks_) fds.push_back({s.fd, POLLIN, 0});
    const std::size_t input_index = fds.size();
    if (input_.get() >= 0) fds.push_back({input_.get(), POLLOUT, 0});
    if (!child_done_ && pidfd_.get() >= 0) fds.push_back({pidfd_.get(), POLLIN, 0});

    const auto wake = child_done_ ? stop_reading_ : next_signal_;
    int wait_ms = -1;
    if (wake != never)
      wait_ms = static_cast<int>(
          std::clamp<long long>(std::chrono::ceil<std::chrono::milliseconds>(wake - now).count(), 0, 1 << 30));
    if (pidfd_.get() < 0 && !child_done_) wait_ms = wait_ms < 0 ? 10 : std::min(wait_ms, 10);

    const int ready = ::poll(fds.data(), fds.size(), wait_ms);
    if (ready > 0) {
      if (input_.get() >= 0 && (fds[input_index].revents & (POLLOUT | POLLERR | POLLHUP))) feed_input();
      // Backwards, so that erasing a finished stream keeps fds[] and sinks_[] aligned.
      for (std::size_t i = sinks_.size(); i-- > 0;)
        if (fds[i].revents != 0 && !read_some(sinks_[i])) sinks_.erase(sinks_.begin() + static_cast<long>(i));
    }
    if (!child_done_ && reap(false)) child_exited(Clock::now());
  }

  // What is left for descendants once the child is gone: output_grace, but
  // never past the deadline (or, once timed out, past the SIGKILL).
  void child_exited(Clock::time_point now) {
    stop_reading_ = std::min(now + spec_.output_grace, next_signal_);
    input_.reset();  // no one we started reads it any more
  }

  void feed_input() {
    const std::string& data = spec_.stdin_data;
    ssize_t n = ::write(input_.get(), data.data() + written_, data.size() - written_);
    if (n > 0) written_ += static_cast<std::size_t>(n);
    if ((n < 0 && errno != EAGAIN && errno != EINTR) || written_ >= data.size()) input_.reset();
  }

  // One read into the sink's buffer, keeping at most output_limit bytes and
  // dropping the rest. Returns what read returned.
  ssize_t read_into(const Sink& sink) {
    const ssize_t n = ::read(sink.fd, buffer_, sizeof buffer_);
    if (n <= 0) return n;
    std::string& kept = *sink.buffer;
    const std::size_t room = spec_.output_limit > kept.size() ? spec_.output_limit - kept.size() : 0;
    const std::size_t take = std::min(room, static_cast<std::size_t>(n));
    kept.append(buffer_, take);
    if (take < static_cast<std::size_t>(n)) *sink.truncated = true;
    return n;
  }

  // False at EOF or on an error: the stream is done.
  bool read_some(const Sink& sink) {
    const ssize_t n = read_into(sink);
    return n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN));
  }

  // We stop: keep what is already in the pipes (the child's last words), and
  // call the output incomplete if a writer still holds one open.
  void finish() {
    input_.reset();
    for (const auto& sink : sinks_) {
      ssize_t n = 1;
      for (int reads = 0; reads < 64 && (n > 0 || (n < 0 && errno == EINTR)); ++reads) n = read_into(sink);
      if (n != 0) result_.output_incomplete = true;  // EAGAIN, or still writing: someone holds it open
    }
    sinks_.clear();
    // The rest of a timed-out group had its SIGTERM; it does not outlive us quietly.
    if (timed_out_) ::kill(-pid_, SIGKILL);
    reap(true);
  }

  bool reap(bool block) {
    if (child_done_) return true;
    pid_t r;
    do {
      r = ::waitpid(pid_, &status_, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid_) child_done_ = true;
    return child_done_;
  }

  const ProcessSpec& spec_;
  const pid_t pid_;
  ProcessResult& result_;
  Fd input_;
  Fd pidfd_;
  std::vector<Sink> sinks_;
  std::size_t written_ = 0;
  Clock::time_point next_signal_ = never;   // the deadline, then the SIGKILL
  Clock::time_point stop_reading_ = never;  // set when the child exits
  bool child_done_ = false;
  bool timed_out_ = false;
  int status_ = 0;
  char buffer_[65536];
};

void classify(int status, bool timed_out, ProcessResult& result) {
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
}

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
  auto program = resolve_program(spec.argv.front(), env);
  if (!program) return fail(program.error());
  auto streams = open_streams(spec);
  if (!streams) return fail(streams.error());

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
  auto pid = start_child(spec, *program, env, *streams);
  if (!pid) return fail(pid.error());

  ProcessResult result;
  result.pid = *pid;
  Supervisor supervisor(spec, *pid, *streams, result, started);
  const int status = supervisor.run();
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  classify(status, supervisor.timed_out(), result);
  return result;
}

}  // namespace harmony::base
