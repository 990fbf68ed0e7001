#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <optional>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <harmony/base/files.hpp>
#include <harmony/base/interrupt.hpp>
#include <harmony/base/lock.hpp>
#include <harmony/base/process.hpp>

#include "eventually.hpp"
#include "inheritance.hpp"
#include "temp_dir.hpp"

using namespace harmony::base;
using namespace std::chrono_literals;
using harmony::testing::eventually;
using harmony::testing::TempDir;

namespace {
auto record_nothing = [](const ProcessIdentity&) -> expected<void> { return {}; };

}  // namespace

TEST_CASE("a detached process runs on its own, logs to its file, and is known by its identity") {
  TempDir dir;
  auto id = spawn_detached({.argv = {"/bin/sh", "-c", "echo started; echo oops >&2; exec sleep 30"}, .log_path = dir / "log"},
                           record_nothing);
  REQUIRE(id);
  CHECK(id->pid > 0);
  CHECK(id->boot_id == current_boot_id());
  CHECK(check_process(*id) == Liveness::running);
  CHECK(eventually([&] { return read_file(dir / "log").value_or("") == "started\noops\n"; }));
  // It is not our child: a new session, its own group.
  CHECK(::getsid(id->pid) != ::getsid(0));
  CHECK(::getpgid(id->pid) == id->pid);

  auto stopped = terminate_process(*id, 2s);
  REQUIRE(stopped);
  CHECK(*stopped != Liveness::running);
  CHECK(check_process(*id) != Liveness::running);
}

TEST_CASE("if recording the identity fails, the program never runs") {
  TempDir dir;
  int seen_pid = 0;
  auto id = spawn_detached({.argv = {"/bin/sh", "-c", "touch " + (dir / "ran")}},
                           [&](const ProcessIdentity& identity) -> expected<void> {
                             seen_pid = identity.pid;
                             return fail(make_error("disk full"));
                           });
  REQUIRE_FALSE(id);
  CHECK(id.error().message == "disk full");
  // Gone: it had its chance to run `touch`.
  CHECK(eventually([&] { return !identify_process(seen_pid); }));
  CHECK_FALSE(std::filesystem::exists(dir / "ran"));
}

TEST_CASE("a program that cannot start is an error, not an identity") {
  auto missing = spawn_detached({.argv = {"/nonexistent/program"}}, record_nothing);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().status == exit_status::not_found);
  auto bad_cwd = spawn_detached({.argv = {"/bin/true"}, .cwd = "/nonexistent"}, record_nothing);
  REQUIRE_FALSE(bad_cwd);
}

TEST_CASE("a detached process inherits no descriptor, ignored signal or blocked signal from its starter") {
  TempDir dir;
  harmony::testing::LeakyDescriptor leaky;
  harmony::testing::ParentSignals parent;
  // ls lists its own directory descriptor besides 0, 1 and 2.
  auto id = spawn_detached({.argv = {"/bin/sh", "-c", "ls /proc/self/fd > fds; cat /proc/self/status > status; touch done"},
                            .cwd = dir.path()},
                           record_nothing);
  REQUIRE(id);
  REQUIRE(eventually([&] { return std::filesystem::exists(dir / "done"); }));
  auto fds = harmony::testing::numbers_in(read_file(dir / "fds").value_or(""));
  CHECK(std::count(fds.begin(), fds.end(), harmony::testing::LeakyDescriptor::number) == 0);
  CHECK(fds.size() == 4);
  CHECK(std::all_of(fds.begin(), fds.end(), [](int fd) { return fd <= 3; }));
  auto status = read_file(dir / "status").value_or("");
  CHECK(harmony::testing::status_field(status, "SigIgn") == "0000000000000000");
  CHECK(harmony::testing::status_field(status, "SigBlk") == "0000000000000000");
}

TEST_CASE("a reused pid, another boot, or a zombie is not our running process, and is never signalled") {
  auto id = spawn_detached({.argv = {"/bin/sleep", "30"}}, record_nothing);
  REQUIRE(id);
  ProcessIdentity other_start = *id;
  other_start.start_ticks += 1;
  CHECK(check_process(other_start) == Liveness::reused);
  auto untouched = terminate_process(other_start, 100ms);
  REQUIRE(untouched);
  CHECK(*untouched == Liveness::reused);
  CHECK(check_process(*id) == Liveness::running);  // still alive: we did not signal it

  ProcessIdentity other_boot = *id;
  other_boot.boot_id = "00000000-0000-0000-0000-000000000000";
  CHECK(check_process(other_boot) == Liveness::reused);
  REQUIRE(terminate_process(*id, 2s));

  // A child that exited and was not reaped is a zombie: down.
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  auto zombie = identify_process(child);
  REQUIRE(zombie);
  CHECK(eventually([&] { return check_process(*zombie) == Liveness::zombie; }));
  ::waitpid(child, nullptr, 0);
  CHECK(check_process(*zombie) == Liveness::gone);
}

TEST_CASE("a process that ignores SIGTERM is killed after the grace period, with its children") {
  TempDir dir;
  auto id = spawn_detached({.argv = {"/bin/sh", "-c", "trap '' TERM; sleep 30 & echo $! > " + (dir / "child") + "; wait"}},
                           record_nothing);
  REQUIRE(id);
  REQUIRE(eventually([&] { return read_file(dir / "child").value_or("").size() > 1; }));
  int grandchild = std::stoi(*read_file(dir / "child"));
  auto started = std::chrono::steady_clock::now();
  auto stopped = terminate_process(*id, 200ms);
  REQUIRE(stopped);
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  CHECK(check_process(*id) != Liveness::running);
  CHECK(eventually([&] {
    auto g = identify_process(grandchild);
    return !g || check_process(*g) != Liveness::running;
  }));
}

TEST_CASE("a file lock is exclusive, says who holds it, and waits or gives up") {
  TempDir dir;
  auto first = FileLock::acquire(dir / "lock", {});
  REQUIRE(first);
  int told = -1;
  auto second = FileLock::acquire(dir / "lock", {.wait = 150ms, .on_wait = [&](int holder) { told = holder; }});
  REQUIRE_FALSE(second);
  CHECK(second.error().os_errno == EWOULDBLOCK);
  CHECK(second.error().reason == "process " + std::to_string(::getpid()) + " holds it");
  CHECK(told == ::getpid());
  {
    auto released = std::move(*first);
  }
  CHECK(FileLock::acquire(dir / "lock", {}));
}

TEST_CASE("a waiter whose lock file was removed by the holder locks the new file, so the lock still excludes") {
  TempDir dir;
  const std::string path = (dir / "state") + "/lock";
  REQUIRE(make_directories(dir / "state", 0700));
  auto holder = FileLock::acquire(path, {});
  REQUIRE(holder);
  std::optional<expected<FileLock>> waiter;
  std::thread waiting([&] { waiter.emplace(FileLock::acquire(path, {.wait = 5s})); });
  std::this_thread::sleep_for(200ms);  // the waiter has opened the old file and waits on it
  // What destroy --purge does while it holds the lock: the file and its
  // directory go, then the lock is released.
  std::filesystem::remove_all(dir / "state");
  { auto released = std::move(*holder); }
  waiting.join();
  REQUIRE(waiter.has_value());
  REQUIRE(*waiter);
  CHECK(std::filesystem::exists(path));
  // Whoever comes next is excluded by the waiter's lock on the file at the path.
  auto third = FileLock::acquire(path, {});
  REQUIRE_FALSE(third);
  CHECK(third.error().os_errno == EWOULDBLOCK);
}

TEST_CASE("Ctrl-C inside an interrupt scope is a request that waits can see") {
  struct sigaction before {};
  ::sigaction(SIGINT, nullptr, &before);
  {
    InterruptScope scope;
    CHECK_FALSE(interrupt_requested());
    CHECK(sleep_unless_interrupted(10ms));
    ::raise(SIGINT);
    CHECK(interrupt_requested());
    CHECK(interrupt_signal() == SIGINT);
    CHECK_FALSE(sleep_unless_interrupted(10s));
  }
  struct sigaction current {};
  ::sigaction(SIGINT, nullptr, &current);
  CHECK(current.sa_handler == before.sa_handler);  // restored
}

namespace {

// A child inside an interrupt scope that says when it is ready and when it saw
// the first signal, then lives `after_first` more and exits 0.
struct ScopedChild {
  pid_t pid = -1;
  int from_child = -1;

  explicit ScopedChild(std::chrono::milliseconds after_first) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      InterruptScope scope;
      (void)!::write(fds[1], "r", 1);
      while (sleep_unless_interrupted(10s)) {
      }
      (void)!::write(fds[1], "s", 1);
      std::this_thread::sleep_for(after_first);
      ::_exit(0);
    }
    ::close(fds[1]);
    from_child = fds[0];
  }
  ~ScopedChild() {
    if (from_child >= 0) ::close(from_child);
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  bool said(char expected) {
    char c = 0;
    return ::read(from_child, &c, 1) == 1 && c == expected;
  }
  int wait_status() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return status;
  }
};

}  // namespace

TEST_CASE("one request delivered twice (as timeout(1) does) is a clean stop, a second one is the end") {
  SECTION("the same sender again at once: one request") {
    ScopedChild child(500ms);
    REQUIRE(child.said('r'));
    ::kill(child.pid, SIGINT);
    REQUIRE(child.said('s'));
    ::kill(child.pid, SIGINT);  // after the first was handled, so never merged with it
    const int status = child.wait_status();
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  SECTION("the same sender a while later: the user means it") {
    ScopedChild child(5s);
    REQUIRE(child.said('r'));
    ::kill(child.pid, SIGTERM);
    REQUIRE(child.said('s'));
    std::this_thread::sleep_for(1200ms);
    ::kill(child.pid, SIGTERM);
    const int status = child.wait_status();
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGTERM);
  }
  SECTION("another sender at once: the second request") {
    ScopedChild child(5s);
    REQUIRE(child.said('r'));
    ::kill(child.pid, SIGINT);
    REQUIRE(child.said('s'));
    const pid_t other = ::fork();
    REQUIRE(other >= 0);
    if (other == 0) ::_exit(::kill(child.pid, SIGINT) == 0 ? 0 : 1);
    ::waitpid(other, nullptr, 0);
    const int status = child.wait_status();
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGINT);
  }
}
