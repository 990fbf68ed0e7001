#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <algorithm>
#include <fcntl.h>
#include <fstream>
#include <unistd.h>

#include <harmony/base/process.hpp>

#include "inheritance.hpp"
#include "temp_dir.hpp"

using namespace harmony::base;
using namespace std::chrono_literals;
using harmony::testing::TempDir;
using harmony::testing::LeakyDescriptor;
using harmony::testing::ParentSignals;
using harmony::testing::numbers_in;
using harmony::testing::status_field;

namespace {
ProcessResult must_run(ProcessSpec spec) {
  auto result = run_process(spec);
  INFO((result ? std::string() : result.error().message + ": " + result.error().reason));
  REQUIRE(result);
  return *result;
}

}  // namespace

TEST_CASE("a program's stdout, stderr and exit code are kept apart") {
  auto r = must_run({.argv = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}});
  CHECK(r.end == ProcessResult::End::exited);
  CHECK(r.exit_code == 3);
  CHECK(r.out == "out\n");
  CHECK(r.err == "err\n");
  CHECK_FALSE(r.ok());
  CHECK(r.describe() == "exited with status 3");
}

TEST_CASE("death by a signal is reported as the signal, not as 128+N") {
  auto r = must_run({.argv = {"/bin/sh", "-c", "kill -SEGV $$"}});
  CHECK(r.end == ProcessResult::End::signaled);
  CHECK(r.signal == SIGSEGV);
  CHECK(r.describe() == "was killed by signal 11 (SIGSEGV)");
}

TEST_CASE("a bare program name is looked up in the child's PATH, never in the current directory") {
  Environment env = Environment::current();
  env.set("PATH", "/usr/bin:/bin");
  auto r = must_run({.argv = {"echo", "hi"}, .env = env});
  CHECK(r.out == "hi\n");

  TempDir tmp;
  const std::string& dir = tmp.path();
  std::ofstream(dir + "/harmony-only-here") << "#!/bin/sh\necho ran\n";
  std::filesystem::permissions(dir + "/harmony-only-here", std::filesystem::perms::owner_all);
  env.set("PATH", ".:" + std::string("/usr/bin"));
  auto missing = run_process({.argv = {"harmony-only-here"}, .env = env, .cwd = dir});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().status == exit_status::not_found);
}

TEST_CASE("environment, working directory and stdin reach the child") {
  TempDir tmp;
  const std::string& dir = tmp.path();
  Environment env;
  env.set("GREETING", "hello");
  env.set("GREETING", "hello again");  // set replaces
  auto r = must_run({.argv = {"/bin/sh", "-c", "echo \"$GREETING\"; pwd; cat"},
                     .env = env,
                     .cwd = dir,
                     .stdin_mode = StdinMode::data,
                     .stdin_data = "from stdin"});
  CHECK(r.out == "hello again\n" + std::filesystem::canonical(dir).string() + "\nfrom stdin");
  CHECK(env.entries().size() == 1);
  env.unset("GREETING");
  CHECK_FALSE(env.get("GREETING"));
}

TEST_CASE("stdin that the child never reads does not hang or kill the caller") {
  auto r = must_run({.argv = {"/bin/true"}, .stdin_mode = StdinMode::data, .stdin_data = std::string(4 << 20, 'x')});
  CHECK(r.ok());
}

TEST_CASE("captured output is capped and the rest drained") {
  auto r = must_run({.argv = {"/bin/sh", "-c", "head -c 3000000 /dev/zero; echo done >&2"}, .output_limit = 1000});
  CHECK(r.out.size() == 1000);
  CHECK(r.out_truncated);
  CHECK(r.err == "done\n");
  CHECK_FALSE(r.err_truncated);
}

TEST_CASE("a timeout ends the whole process group and says so") {
  auto r = must_run({.argv = {"/bin/sh", "-c", "sleep 30 & sleep 30"}, .timeout = 200ms, .kill_grace = 100ms});
  CHECK(r.end == ProcessResult::End::timed_out);
  CHECK(r.elapsed < 5s);
  CHECK(r.describe().starts_with("timed out after"));
}

TEST_CASE("a child that ignores SIGTERM is killed after the grace period") {
  auto r = must_run({.argv = {"/bin/sh", "-c", "trap '' TERM; sleep 30"}, .timeout = 100ms, .kill_grace = 100ms});
  CHECK(r.end == ProcessResult::End::timed_out);
  CHECK(r.signal == SIGKILL);
  CHECK(r.elapsed < 5s);
}

TEST_CASE("failing to start is an error that says why") {
  SECTION("no such program") {
    auto r = run_process({.argv = {"/nonexistent/program"}});
    REQUIRE_FALSE(r);
    CHECK(r.error().status == exit_status::not_found);
  }
  SECTION("a bad interpreter line") {
    TempDir tmp;
  const std::string& dir = tmp.path();
    std::ofstream(dir + "/bad") << "#!/nonexistent/interpreter\n";
    std::filesystem::permissions(dir + "/bad", std::filesystem::perms::owner_all);
    auto r = run_process({.argv = {dir + "/bad"}});
    REQUIRE_FALSE(r);
    CHECK(r.error().status == exit_status::not_executable);
    CHECK(r.error().reason.find("#!/nonexistent/interpreter") != std::string::npos);
  }
  SECTION("not executable") {
    TempDir tmp;
  const std::string& dir = tmp.path();
    std::ofstream(dir + "/plain") << "#!/bin/sh\n";
    auto r = run_process({.argv = {dir + "/plain"}});
    REQUIRE_FALSE(r);
    CHECK(r.error().status == exit_status::not_executable);
    CHECK(r.error().hint.find("chmod +x") != std::string::npos);
  }
  SECTION("a missing working directory") {
    auto r = run_process({.argv = {"/bin/true"}, .cwd = "/nonexistent/dir"});
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("/nonexistent/dir") != std::string::npos);
  }
  SECTION("an empty argv") {
    CHECK_FALSE(run_process({}));
  }
}

TEST_CASE("find_program skips relative and empty PATH entries") {
  CHECK(find_program("sh", "/nonexistent::.:/bin") == "/bin/sh");
  CHECK_FALSE(find_program("sh", ".:relative"));
  CHECK_FALSE(find_program("../sh", "/bin"));
}

// --- Deadlines against descendants that keep the pipes open --------------------------------------

namespace {
// Runs `script` after starting a grandchild in its own session that prints
// its pid and then sleeps 30s with our stdout and stderr open. The grandchild
// is killed when the test ends, whatever happened.
struct EscapedGrandchild {
  ProcessResult result;
  ~EscapedGrandchild() {
    int pid = std::atoi(result.out.c_str());
    if (pid > 1) ::kill(pid, SIGKILL);
  }
};

ProcessResult run_with_escaped_grandchild(ProcessSpec spec, EscapedGrandchild& guard) {
  spec.argv = {"/bin/sh", "-c", "setsid sh -c 'echo $$; exec sleep 30' & " + spec.argv.front()};
  guard.result = must_run(std::move(spec));
  return guard.result;
}
}  // namespace

TEST_CASE("a deadline holds even when a descendant in another session keeps the output open") {
  EscapedGrandchild guard;
  auto r = run_with_escaped_grandchild({.argv = {"sleep 30"}, .timeout = 300ms, .kill_grace = 100ms}, guard);
  CHECK(r.end == ProcessResult::End::timed_out);
  CHECK(r.signal == SIGTERM);
  // The grandchild holds stdout for 30s; we must not have waited for it.
  CHECK(r.elapsed < 20s);
}

TEST_CASE("a timed-out child that ignores SIGTERM is killed even while a descendant holds the output") {
  EscapedGrandchild guard;
  auto r = run_with_escaped_grandchild({.argv = {"trap '' TERM; sleep 30"}, .timeout = 200ms, .kill_grace = 100ms},
                                       guard);
  CHECK(r.end == ProcessResult::End::timed_out);
  CHECK(r.signal == SIGKILL);
  CHECK(r.elapsed < 20s);
}

TEST_CASE("a child that exits while a descendant holds its output reports its own status, flagged incomplete") {
  // With a timeout that has not passed, too: the result is the exit, not a timeout.
  const auto timeout = GENERATE(0ms, 20s);
  INFO("timeout " << timeout.count() << "ms");
  EscapedGrandchild guard;
  auto r = run_with_escaped_grandchild({.argv = {"exit 3"}, .timeout = timeout, .output_grace = 100ms}, guard);
  CHECK(r.end == ProcessResult::End::exited);
  CHECK(r.exit_code == 3);
  CHECK(r.output_incomplete);
  CHECK(r.elapsed < 20s);  // the grandchild holds the pipes for 30s
}

TEST_CASE("what a child wrote before it exited is kept when a descendant holds its output") {
  EscapedGrandchild guard;
  auto r = run_with_escaped_grandchild({.argv = {"sleep 0.2; echo last words; exit 4"}, .output_grace = 50ms}, guard);
  CHECK(r.exit_code == 4);
  CHECK_THAT(r.out, Catch::EndsWith("last words\n"));
}

TEST_CASE("output that ends with the child is complete") {
  auto r = must_run({.argv = {"/bin/sh", "-c", "echo a; (sleep 0.1; echo b) & exit 0"}, .output_grace = 5s});
  CHECK(r.out == "a\nb\n");  // a descendant that finishes within the grace is read to the end
  CHECK_FALSE(r.output_incomplete);
}

// --- What a child inherits ------------------------------------------------------------------------

TEST_CASE("a child inherits no descriptor beyond 0, 1 and 2") {
  LeakyDescriptor leaky;
  auto r = must_run({.argv = {"/bin/ls", "/proc/self/fd"}});
  REQUIRE(r.ok());
  // ls has one of its own open: the directory it lists.
  auto fds = numbers_in(r.out);
  CHECK(std::count(fds.begin(), fds.end(), LeakyDescriptor::number) == 0);
  CHECK(fds.size() == 4);
  CHECK(std::all_of(fds.begin(), fds.end(), [](int fd) { return fd <= 3; }));
}

TEST_CASE("a child starts with default signal dispositions and an empty signal mask") {
  ParentSignals parent;
  auto r = must_run({.argv = {"/bin/cat", "/proc/self/status"}});
  REQUIRE(r.ok());
  CHECK(status_field(r.out, "SigIgn") == "0000000000000000");
  CHECK(status_field(r.out, "SigBlk") == "0000000000000000");
}
