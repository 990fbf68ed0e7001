// The exit-code table of docs/exit-codes.md, as a user's shell sees it.

#include <catch2/catch.hpp>

#include <csignal>

#include "sandbox.hpp"

using namespace harmony::e2e;
using End = harmony::base::ProcessResult::End;

namespace {
Sandbox& probe_box() {
  static Sandbox box;
  static bool ready = false;
  if (!ready) {
    box.install("probe", "bin", "harmony-probe");
    box.path_dirs = {"bin"};
    ready = true;
  }
  return box;
}
}  // namespace

TEST_CASE("exit 0: success") {
  auto r = probe_box().harmony({"version"});
  CHECK(r.end == End::exited);
  CHECK(r.exit_code == 0);
}

TEST_CASE("exit 1: an error without a more specific status (arguments too large to exec)") {
  // Under a 1 MiB stack limit the kernel caps arguments plus environment at
  // 256 KiB. Find the longest arguments with which harmony itself still
  // starts: the HARMONY_* variables it adds for the plugin then push the
  // plugin's exec over the cap.
  Sandbox& box = probe_box();
  auto attempt = [&](std::size_t n) {
    std::vector<std::string> argv{"/bin/sh", "-c", "ulimit -s 1024 && exec \"$0\" \"$@\"", harmony_binary(), "probe"};
    for (; n > 100000; n -= 100000) argv.emplace_back(100000, 'x');  // each string stays under 128 KiB
    argv.emplace_back(n, 'y');
    return box.run(argv);
  };
  auto started = [](const harmony::base::ProcessResult& r) { return r.err.find("exec:") == std::string::npos; };
  std::size_t low = 1, high = 400000;  // started(low), !started(high)
  REQUIRE(started(attempt(low)));
  REQUIRE_FALSE(started(attempt(high)));
  while (high - low > 1) {
    std::size_t mid = (low + high) / 2;
    (started(attempt(mid)) ? low : high) = mid;
  }
  auto r = attempt(low);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("cannot run plugin 'probe'"));
  CHECK_THAT(r.err, Catch::Contains("larger than the system allows"));
}

TEST_CASE("exit 1: output that cannot be written is an error, not a silent success") {
  auto r = probe_box().run({"/bin/sh", "-c", "exec \"$0\" plugin list > /dev/full", harmony_binary()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("cannot write to standard output"));
}

TEST_CASE("exit 2: usage errors") {
  CHECK(probe_box().harmony({"--nope"}).exit_code == 2);
  CHECK(probe_box().harmony({"status"}).exit_code == 2);
  CHECK(probe_box().harmony({"plugin"}).exit_code == 2);
  CHECK(probe_box().harmony({"plugin", "frob"}).exit_code == 2);
  CHECK(probe_box().harmony({"completion", "tcsh"}).exit_code == 2);
  CHECK(probe_box().harmony({"../probe"}).exit_code == 2);
}

TEST_CASE("exit 126: found but cannot or may not run") {
  Sandbox box;
  box.write("bin", "harmony-plain", "#!/bin/sh\n", std::filesystem::perms(0644));
  box.path_dirs = {"bin"};
  CHECK(box.harmony({"plain"}).exit_code == 126);
}

TEST_CASE("exit 127: no such command") {
  CHECK(probe_box().harmony({"nosuchplugin"}).exit_code == 127);
  CHECK(probe_box().harmony({"deploy", "nosuchplugin"}).exit_code == 127);
}

TEST_CASE("a plugin's own exit status passes through") {
  for (int code : {3, 7, 42, 125, 255}) {
    auto r = probe_box().harmony({"probe", "--exit", std::to_string(code)});
    CHECK(r.end == End::exited);
    CHECK(r.exit_code == code);
  }
}

TEST_CASE("death by a signal stays death by that signal, not 128+N or 255") {
  auto term = probe_box().harmony({"probe", "--signal", std::to_string(SIGTERM)});
  CHECK(term.end == End::signaled);
  CHECK(term.signal == SIGTERM);
  auto crash = probe_box().harmony({"probe", "--crash"});
  CHECK(crash.end == End::signaled);
  CHECK(crash.signal == SIGSEGV);
  // What a shell reports for it: 128 + N.
  auto shell = probe_box().run({"/bin/sh", "-c", harmony_binary() + " probe --signal 15; echo status=$?"});
  CHECK_THAT(shell.out, Catch::Contains("status=143"));
}
