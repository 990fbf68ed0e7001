// The trust rule (docs/plugin-protocol.md, section 2), through the real
// binary: who owns the plugin and the directories above it, who may write
// them, and that what was checked is what runs.

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <unistd.h>

#include "sandbox.hpp"

using namespace harmony::e2e;
using nlohmann::json;

namespace {

constexpr unsigned nobody = 65534;

// Giving files to another user needs root. Elsewhere the test is skipped,
// saying so: this executable's tests count exit status 77 as skipped in CTest.
void require_root() {
  if (::geteuid() == 0) return;
  std::fprintf(stderr, "skipped: needs root to give files to another user (chown); not exercised\n");
  std::exit(77);
}

void give_to_nobody(const std::string& path) { REQUIRE(::lchown(path.c_str(), nobody, nobody) == 0); }

// What `harmony which <command>` says it skipped, from its JSON.
json skipped_by_which(const Sandbox& box, const std::string& command) {
  auto r = box.harmony({"which", "-o", "json", command});
  CHECK(r.exit_code == 126);
  return json_of(r)["skipped"];
}

}  // namespace

TEST_CASE("a plugin another user owns in a root-owned sticky directory is refused, and root's own runs there") {
  require_root();
  Sandbox box;
  box.dir("sticky", fs::perms(01777));
  const std::string theirs = box.install("probe", "sticky", "harmony-theirs");
  const std::string ours = box.install("probe", "sticky", "harmony-ours");
  give_to_nobody(theirs);
  box.path_dirs = {"sticky"};
  const std::string reason = "the file is owned by uid 65534, not by root";

  CHECK(json_of(box.harmony({"ours"}))["exe"] == ours);

  auto r = box.harmony({"theirs"});
  CHECK(r.exit_code == 126);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "harmony: error: refusing to run plugin 'theirs'\n"
        "  reason: " + theirs + ": " + reason + "\n"
        "  hint: only files and directories owned by root or you, and not writable by group or others (chmod go-w), "
        "are trusted; fix them, or set HARMONY_ALLOW_INSECURE_PATH=1 to run it anyway\n");

  auto list = box.harmony({"plugin", "list"});
  CHECK(list.exit_code == 0);
  CHECK_THAT(list.err, Catch::Contains("harmony: warning: " + theirs + ": " + reason + "; never run\n"));
  CHECK_THAT(list.out, Catch::Contains(ours));
  CHECK_THAT(list.out, !Catch::Contains(theirs));

  json skipped = skipped_by_which(box, "theirs");
  REQUIRE(skipped.size() == 1);
  CHECK(skipped[0]["path"] == theirs);
  CHECK(skipped[0]["problem"] == "insecure");
  CHECK(skipped[0]["message"] == reason);
  CHECK_THAT(box.harmony({"which", "theirs"}).out, Catch::Contains("skipped:") && Catch::Contains(theirs + " (" + reason + ")"));

  box.vars = {{"HARMONY_ALLOW_INSECURE_PATH", "1"}};
  CHECK(json_of(box.harmony({"theirs"}))["exe"] == theirs);
  CHECK_THAT(box.harmony({"plugin", "list"}).err,
             Catch::Contains(theirs + ": " + reason + "; allowed by HARMONY_ALLOW_INSECURE_PATH\n"));
}

TEST_CASE("group-writable files and directories, and a world-writable directory above a safe one, are refused") {
  Sandbox box;
  box.dir("team", fs::perms(0775));
  const std::string team = box.install("probe", "team", "harmony-team");
  box.dir("open", fs::perms(0777));
  box.dir("open/bin", fs::perms(0755));
  const std::string deep = box.install("probe", "open/bin", "harmony-deep");
  const std::string shared = box.install("probe", "bin", "harmony-shared");
  fs::permissions(shared, fs::perms(0775));
  box.path_dirs = {"team", "open/bin", "bin"};

  const std::string team_reason = "its directory " + box.path("team") + " is writable by its group (mode 0775)";
  const std::string deep_reason = "the directory " + box.path("open") + " above it is writable by any user (mode 0777)";
  const std::string shared_reason = "the file is writable by its group (mode 0775)";

  for (auto [command, path, reason] : {std::tuple{"team", team, team_reason}, std::tuple{"deep", deep, deep_reason},
                                       std::tuple{"shared", shared, shared_reason}}) {
    INFO(command);
    auto r = box.harmony({command});
    CHECK(r.exit_code == 126);
    CHECK_THAT(r.err, Catch::Contains("refusing to run plugin '" + std::string(command) + "'"));
    CHECK_THAT(r.err, Catch::Contains("reason: " + path + ": " + reason + "\n"));
    json skipped = skipped_by_which(box, command);
    REQUIRE(skipped.size() == 1);
    CHECK(skipped[0]["message"] == reason);
  }
  auto list = box.harmony({"plugin", "list"});
  CHECK_THAT(list.err, Catch::Contains(team + ": " + team_reason + "; never run\n"));
  CHECK_THAT(list.err, Catch::Contains(deep + ": " + deep_reason + "; never run\n"));
  CHECK_THAT(list.err, Catch::Contains(shared + ": " + shared_reason + "; never run\n"));

  box.vars = {{"HARMONY_ALLOW_INSECURE_PATH", "1"}};
  CHECK(json_of(box.harmony({"team"}))["exe"] == team);
  CHECK(json_of(box.harmony({"deep"}))["exe"] == deep);
  CHECK(json_of(box.harmony({"shared"}))["exe"] == shared);
}

TEST_CASE("a directory another user owns, anywhere above the plugin, is refused") {
  require_root();
  Sandbox box;
  box.dir("theirs/bin");
  const std::string plugin = box.install("probe", "theirs/bin", "harmony-x");
  give_to_nobody(box.path("theirs"));
  box.path_dirs = {"theirs/bin"};
  auto r = box.harmony({"x"});
  CHECK(r.exit_code == 126);
  CHECK_THAT(r.err, Catch::Contains("reason: " + plugin + ": the directory " + box.path("theirs") +
                                    " above it is owned by uid 65534, not by root\n"));
  json info = json_of(box.harmony({"plugin", "info", "-o", "json", "x"}));
  CHECK(info["status"] == "insecure");
}

TEST_CASE("a link is judged with its target: a trusted link to a file another user owns is refused") {
  require_root();
  Sandbox box;
  const std::string target = box.install("probe", "elsewhere", "harmony-real");
  give_to_nobody(target);
  fs::create_symlink(target, box.path("bin/harmony-linked"));
  box.path_dirs = {"bin"};
  auto r = box.harmony({"linked"});
  CHECK(r.exit_code == 126);
  CHECK_THAT(r.err, Catch::Contains("its target " + target + " is owned by uid 65534, not by root"));
}

TEST_CASE("what was checked is what runs: a binary is exec'd through the descriptor that was checked") {
  Sandbox box;
  const std::string probe = box.install("probe", "bin", "harmony-probe");
  box.path_dirs = {"bin"};
  json doc = json_of(box.harmony({"probe", "a"}));
  // The kernel was handed the descriptor, not the path...
  CHECK_THAT(doc["execfn"].get<std::string>(), Catch::Matches("/dev/fd/[0-9]+"));
  // ...and the plugin still sees its own path everywhere it looks.
  CHECK(doc["exe"] == probe);
  CHECK(doc["argv0"] == probe);
  CHECK(doc["args"] == json::array({"a"}));

  SECTION("through a link, the descriptor is the target's") {
    fs::create_symlink(probe, box.path("bin/harmony-alias"));
    json alias = json_of(box.harmony({"alias"}));
    CHECK(alias["exe"] == probe);
    CHECK(alias["argv0"] == box.path("bin/harmony-alias"));
  }
  SECTION("a script is exec'd by path, so $0 is its path") {
    const std::string script = box.script("bin", "harmony-hello");
    CHECK(json_of(box.harmony({"hello"}))["exe"] == script);
  }
}
