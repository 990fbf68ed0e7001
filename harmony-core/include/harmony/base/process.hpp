#pragma once
// The one subprocess API of harmony. Every program start in the project goes
// through this header; nothing else calls fork, exec or a shell.
//
// Rules
// - A command is an argv vector, never a shell string. argv[0] names the
//   program: a path containing '/' is used as given; a bare name is looked up
//   in the PATH of the child's environment (see `find_program`), never in the
//   current directory, and empty or relative PATH entries are ignored.
// - The environment is inherited unless `ProcessSpec::env` replaces it; use
//   `Environment::current()` and edit the copy.
// - `cwd` sets the child's working directory (empty: inherit).
// - stdin is /dev/null unless `stdin_mode` says otherwise; stdout and stderr are
//   captured unless told to inherit or discard. Captured output is capped at
//   `output_limit` bytes per stream; what is cut off is drained and dropped and
//   the stream is marked truncated, so a chatty child can never block or
//   exhaust memory.
// - The child inherits descriptors 0, 1 and 2 and nothing else: every other
//   descriptor is marked close-on-exec in the child before exec, whoever
//   opened it without O_CLOEXEC (libnats's socket, a launching shell's). Its
//   signal dispositions are the defaults and its signal mask is empty, even
//   when we ignore or block signals. The same holds for `spawn_detached`;
//   `exec_replace` keeps its own semantics (the plugin gets our process).
// - With a `timeout`, the child runs in its own process group. When the
//   deadline passes and the child still runs, the group gets SIGTERM, and
//   SIGKILL after `kill_grace`; the result is `timed_out`, at the latest about
//   `timeout + kill_grace` after the start, whoever still holds the pipes.
//   Without a timeout the child shares our group, so a terminal's Ctrl-C
//   reaches it as it reaches us.
// - We read output until EOF, but never wait on descendants for it. A program
//   that leaves a descendant holding its stdout or stderr (a daemon it started
//   without redirecting, anything that called setsid) ends when the child
//   ends: once the child has exited we read for at most `output_grace` (and
//   never past the deadline), then close our ends, keep what was already in
//   the pipes, and set `output_incomplete`. The result is still the child's
//   real exit status: `timed_out` only ever means the deadline passed.
// - Descendants are not contained. Ones still in a timed-out child's group get
//   SIGKILL when we stop; one that left the group (setsid, setpgid) is not
//   ours to find, and keeps running with closed pipes (EPIPE on its next
//   write). We do not use PR_SET_CHILD_SUBREAPER: it is process-wide, so in
//   the agent daemon or a plugin every orphan of every command would become
//   ours to reap, racing the waitpid of other threads; and cgroups are not
//   available on the machines we target.
// - How the child ended is kept exact: exited with a code, killed by a signal
//   (with the signal number, never folded into 128+N), or timed out.
// - Failing to start (no such file, not executable, bad interpreter, bad cwd)
//   is an Error from `run_process`, not a ProcessResult: a program that ran
//   and failed is a result.
// - `exec_replace` and `exec_replace_fd` replace the current process image
//   (the dispatcher's way to run a plugin) and return only on failure.
// - Not thread-safe against other code that changes the signal mask or
//   SIGCHLD disposition while a child runs.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <harmony/base/expected.hpp>

namespace harmony::base {

// An ordered NAME=VALUE list, as execve takes it.
class Environment {
 public:
  Environment() = default;
  static Environment current();  // a copy of this process's environment

  [[nodiscard]] std::optional<std::string> get(std::string_view name) const;
  void set(std::string_view name, std::string_view value);
  void unset(std::string_view name);
  [[nodiscard]] const std::vector<std::string>& entries() const { return entries_; }

 private:
  std::vector<std::string> entries_;
};

enum class StdinMode { null, inherit, data };
enum class OutputMode { capture, inherit, discard };

struct ProcessSpec {
  std::vector<std::string> argv{};
  std::optional<Environment> env{};  // nullopt: inherit ours
  std::string cwd{};               // empty: inherit ours
  StdinMode stdin_mode = StdinMode::null;
  std::string stdin_data{};        // written to the child when stdin_mode == data
  OutputMode stdout_mode = OutputMode::capture;
  OutputMode stderr_mode = OutputMode::capture;
  std::size_t output_limit = 1024 * 1024;              // bytes kept per captured stream
  std::chrono::milliseconds timeout{0};                // 0: wait for ever
  std::chrono::milliseconds kill_grace{500};           // SIGTERM -> SIGKILL delay on timeout
  // How long we keep reading after the child exited, for descendants that
  // still hold its stdout or stderr; then we stop and set output_incomplete.
  std::chrono::milliseconds output_grace{250};
};

struct ProcessResult {
  enum class End { exited, signaled, timed_out };
  End end = End::exited;
  int exit_code = 0;  // valid when end == exited
  int signal = 0;     // valid when end == signaled (or the signal that ended a timed-out child)
  int pid = 0;
  std::string out;
  std::string err;
  bool out_truncated = false;
  bool err_truncated = false;
  // A descendant still held stdout or stderr open when we stopped reading
  // (output_grace after the child exited, or at the deadline): what it wrote
  // later is lost. `end` is unaffected.
  bool output_incomplete = false;
  std::chrono::milliseconds elapsed{0};

  [[nodiscard]] bool ok() const { return end == End::exited && exit_code == 0; }
  // "exited with status 3", "was killed by signal 11 (SIGSEGV)", "timed out after 2s".
  [[nodiscard]] std::string describe() const;
};

// Starts the program and waits for it. See the rules at the top of this file.
expected<ProcessResult> run_process(const ProcessSpec& spec);

// Replaces this process with `path` (no PATH lookup). Returns only on failure,
// with an error that says why the file could not be run (missing interpreter,
// not an executable format, permission).
Error exec_replace(const std::string& path, const std::vector<std::string>& argv,
                   const Environment& env);

// Like exec_replace, but runs the file open on `fd` (execveat with
// AT_EMPTY_PATH): what runs is the file that was opened, even if `path` has
// been replaced since. `path` names it in errors. Not for `#!` scripts: their
// interpreter would be handed /dev/fd/N, which a close-on-exec `fd` no
// longer is by then.
Error exec_replace_fd(int fd, const std::string& path, const std::vector<std::string>& argv,
                      const Environment& env);

// Looks `name` up in a PATH-style list, skipping empty and relative entries.
// Returns the first regular file that we may execute.
std::optional<std::string> find_program(std::string_view name, std::string_view path_list);

// "SIGSEGV" for 11, "signal 99" for unknown numbers.
std::string signal_name(int signal);

}  // namespace harmony::base

// ---------------------------------------------------------------------------
// Detached processes: started in their own session and process group,
// reparented to init (not our children), outliving us. Used by the `local`
// topology, which tracks them by identity instead of by parenthood.

namespace harmony::base {

// Who a process is, beyond its pid: pids are reused, but (boot, start time,
// pid) is unique. A process whose identity no longer matches is not ours and
// is never signalled.
struct ProcessIdentity {
  int pid = 0;
  std::uint64_t start_ticks = 0;  // /proc/<pid>/stat field 22
  std::string boot_id;            // /proc/sys/kernel/random/boot_id
};

enum class Liveness {
  running,  // the same process is alive
  zombie,   // it exited and nobody has reaped it yet: down
  gone,     // no process with that pid
  reused,   // the pid belongs to another process now (or to another boot)
};
std::string_view liveness_name(Liveness liveness);

struct DetachedSpec {
  std::vector<std::string> argv{};  // argv[0] absolute, or looked up in the child's PATH
  std::optional<Environment> env{};
  std::string cwd{};
  std::string log_path{};           // stdout and stderr are appended here; empty: /dev/null
};

// Starts the program detached. `before_exec` runs once the process exists
// (its identity is known) but before it runs the program: record the identity
// there. If `before_exec` fails, or we die before it returns, the process ends
// without running anything, so a failed deploy leaves no orphan.
expected<ProcessIdentity> spawn_detached(const DetachedSpec& spec,
                                         const std::function<expected<void>(const ProcessIdentity&)>& before_exec);

// The identity of a running process, or nullopt if there is none.
std::optional<ProcessIdentity> identify_process(int pid);
Liveness check_process(const ProcessIdentity& identity);

// SIGTERM to the process's group, then SIGKILL after `grace`; waits until it
// is gone. Does nothing (and says so) unless `identity` still matches.
expected<Liveness> terminate_process(const ProcessIdentity& identity, std::chrono::milliseconds grace);

// This boot's id; empty if the kernel does not say.
std::string current_boot_id();

}  // namespace harmony::base
