// Detached processes (the second half of process.hpp).
//
// spawn_detached forks twice. The child starts a new session and forks the
// grandchild, which becomes its own process group, reports its pid, and then
// blocks on a "go" pipe. The parent reads the grandchild's identity from
// /proc while it is blocked (so the identity is certain), runs the caller's
// `before_exec`, and only then sends "go". If the parent dies or gives up
// first, the grandchild reads EOF and exits without running anything.

#include <harmony/base/process.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <optional>
#include <thread>
#include <unistd.h>

#include <harmony/base/files.hpp>

#include "process_internal.hpp"

namespace harmony::base {
namespace {

using namespace detail;

// The state letter and start time from /proc/<pid>/stat. The command name
// (field 2) may contain spaces and parentheses, so parsing starts after the
// last ')'.
struct ProcStat {
  char state = '?';
  std::uint64_t start_ticks = 0;
};

std::optional<ProcStat> read_proc_stat(int pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!text) return std::nullopt;
  auto close = text->rfind(')');
  if (close == std::string::npos || close + 2 >= text->size()) return std::nullopt;
  ProcStat out;
  out.state = (*text)[close + 2];
  // Fields after ')' start at field 3 (state); starttime is field 22.
  std::size_t pos = close + 2;
  for (int field = 3; field < 22; ++field) {
    pos = text->find(' ', pos);
    if (pos == std::string::npos) return std::nullopt;
    ++pos;
  }
  out.start_ticks = std::strtoull(text->c_str() + pos, nullptr, 10);
  return out;
}

bool read_exact(int fd, void* buffer, std::size_t length) {
  auto* p = static_cast<char*>(buffer);
  std::size_t done = 0;
  while (done < length) {
    ssize_t n = ::read(fd, p + done, length - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Runs in the grandchild: async-signal-safe calls only.
[[noreturn]] void grandchild(const DetachedSpec& spec, const char* program, char** argv, char** envp, int log_fd,
                             int null_fd, int go_fd, int pid_fd, int error_fd) {
  auto die = [error_fd](int err) { child_fail(error_fd, err); };
  ::setpgid(0, 0);
  pid_t self = ::getpid();
  if (::write(pid_fd, &self, sizeof self) != sizeof self) ::_exit(126);
  ::close(pid_fd);
  char go = 0;
  ssize_t n;
  do {
    n = ::read(go_fd, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) ::_exit(0);  // the parent gave up: run nothing
  if (::dup2(null_fd, 0) < 0) die(errno);
  if (::dup2(log_fd >= 0 ? log_fd : null_fd, 1) < 0) die(errno);
  if (::dup2(log_fd >= 0 ? log_fd : null_fd, 2) < 0) die(errno);
  inherit_only_standard_streams();  // a service must not keep its deployer's descriptors
  if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) die(errno);
  ::execve(program, argv, envp);
  child_fail(error_fd, errno);
}

}  // namespace

std::string_view liveness_name(Liveness liveness) {
  switch (liveness) {
    case Liveness::running: return "running";
    case Liveness::zombie: return "exited";
    case Liveness::gone: return "gone";
    case Liveness::reused: return "gone (pid reused)";
  }
  return "unknown";
}

std::string current_boot_id() {
  auto text = read_file("/proc/sys/kernel/random/boot_id", 256);
  if (!text) return {};
  while (!text->empty() && (text->back() == '\n' || text->back() == ' ')) text->pop_back();
  return *text;
}

std::optional<ProcessIdentity> identify_process(int pid) {
  auto stat = read_proc_stat(pid);
  if (!stat) return std::nullopt;
  return ProcessIdentity{pid, stat->start_ticks, current_boot_id()};
}

Liveness check_process(const ProcessIdentity& identity) {
  if (identity.pid <= 0) return Liveness::gone;
  if (!identity.boot_id.empty() && identity.boot_id != current_boot_id()) return Liveness::reused;
  auto stat = read_proc_stat(identity.pid);
  if (!stat) return Liveness::gone;
  if (stat->start_ticks != identity.start_ticks) return Liveness::reused;
  if (stat->state == 'Z' || stat->state == 'X') return Liveness::zombie;
  return Liveness::running;
}

expected<Liveness> terminate_process(const ProcessIdentity& identity, std::chrono::milliseconds grace) {
  Liveness now = check_process(identity);
  if (now != Liveness::running) return now;
  auto wait_until_gone = [&](std::chrono::milliseconds budget) {
    const auto until = std::chrono::steady_clock::now() + budget;
    while (std::chrono::steady_clock::now() < until) {
      if (check_process(identity) != Liveness::running) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return check_process(identity) != Liveness::running;
  };
  // The whole group: a service's own children go with it.
  if (::kill(-identity.pid, SIGTERM) != 0 && ::kill(identity.pid, SIGTERM) != 0 && errno != ESRCH)
    return fail(os_error(errno, "cannot stop process " + std::to_string(identity.pid)));
  if (wait_until_gone(grace)) return check_process(identity);
  if (check_process(identity) == Liveness::running) {
    ::kill(-identity.pid, SIGKILL);
    ::kill(identity.pid, SIGKILL);
  }
  if (wait_until_gone(std::chrono::seconds(5))) return check_process(identity);
  return fail(make_error("process " + std::to_string(identity.pid) + " did not stop", "it survived SIGKILL for 5s",
                         "it may be stuck in the kernel (state D); check 'ps -o stat,cmd -p " +
                             std::to_string(identity.pid) + "'"));
}

expected<ProcessIdentity> spawn_detached(const DetachedSpec& spec,
                                         const std::function<expected<void>(const ProcessIdentity&)>& before_exec) {
  if (spec.argv.empty() || spec.argv.front().empty())
    return fail(make_error("cannot start a process without a program", "argv is empty"));
  const Environment env = spec.env ? *spec.env : Environment::current();
  auto program = resolve_program(spec.argv.front(), env);
  if (!program) return fail(program.error());
  if (!spec.cwd.empty()) {
    struct stat st {};
    if (::stat(spec.cwd.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return fail(os_error(errno ? errno : ENOTDIR, "cannot start '" + printable(*program) + "' in '" + printable(spec.cwd) + "'",
                           "check that the directory exists"));
  }
  auto argv = c_strings(spec.argv);
  auto envp = c_strings(env.entries());

  Fd log_fd;
  if (!spec.log_path.empty()) {
    log_fd.reset(::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640));
    if (log_fd.get() < 0) return fail(os_error(errno, "cannot open the log file '" + printable(spec.log_path) + "'"));
  }
  Fd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (null_fd.get() < 0) return fail(os_error(errno, "could not open /dev/null"));
  auto go = make_pipe();
  auto pid_pipe = make_pipe();
  auto error_pipe = make_pipe();
  if (!go || !pid_pipe || !error_pipe)
    return fail(!go ? go.error() : !pid_pipe ? pid_pipe.error() : error_pipe.error());

  std::optional<SignalsBlocked> blocked(std::in_place);  // until both forks are done
  pid_t child = ::fork();
  if (child < 0) return fail(os_error(errno, "could not start '" + printable(*program) + "'"));
  if (child == 0) {
    ::setsid();
    go->write.reset();
    pid_t g = ::fork();
    if (g < 0) ::_exit(126);
    if (g == 0)
      grandchild(spec, program->c_str(), argv.data(), envp.data(), log_fd.get(), null_fd.get(), go->read.get(),
                 pid_pipe->write.get(), error_pipe->write.get());
    ::_exit(0);
  }
  blocked.reset();
  pid_pipe->write.reset();
  error_pipe->write.reset();
  go->read.reset();
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }

  pid_t pid = 0;
  if (!read_exact(pid_pipe->read.get(), &pid, sizeof pid) || pid <= 0)
    return fail(make_error("could not start '" + printable(*program) + "'", "the intermediate process failed"));
  auto identity = identify_process(pid);
  if (!identity) return fail(make_error("could not start '" + printable(*program) + "'", "the new process vanished"));

  if (auto recorded = before_exec(*identity); !recorded) return fail(recorded.error());  // closing `go` ends it

  char go_byte = 1;
  if (::write(go->write.get(), &go_byte, 1) != 1) return fail(os_error(errno, "could not start '" + printable(*program) + "'"));
  go->write.reset();

  int exec_errno = 0;
  if (read_exact(error_pipe->read.get(), &exec_errno, sizeof exec_errno)) return fail(exec_failure(exec_errno, *program));
  return *identity;
}

}  // namespace harmony::base
