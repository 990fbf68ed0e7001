// A generated cross-check: for every plugin the listing says runs, `which`
// names the same file, and the plugin, once run, reports that it is that
// file. Fixtures of every kind are put on a PATH with shadowed copies and
// unrunnable decoys, so a disagreement between listing and dispatch (kubectl
// lists a non-executable file as the winner, then runs another) would show.

#include <catch2/catch.hpp>

#include "sandbox.hpp"

using namespace harmony::e2e;
using nlohmann::json;

TEST_CASE("plugin list, which and the executed plugin agree for every fixture") {
  Sandbox box;
  // Decoys first in the path: they must never be what runs.
  box.write("decoys", "harmony-probe", "#!/bin/sh\n", fs::perms(0644));
  box.write("decoys", "harmony-hello", "#!/bin/sh\n", fs::perms(0644));
  fs::create_symlink("/nonexistent", box.path("decoys/harmony-fleet"));
  box.dir("open", fs::perms(0777));
  box.install("probe", "open", "harmony-foo-bar");
  fs::permissions(box.path("open"), fs::perms(0777));
  for (const char* dir : {"one", "two"}) {
    box.install("probe", dir, "harmony-probe");
    box.install("fleet", dir, "harmony-fleet");
    box.install("plain", dir, "harmony-plain");
    box.install("broken", dir, "harmony-broken");
    box.install("probe", dir, "harmony-foo-bar");
    box.install("probe", dir, "harmony-my_app");
    box.script(dir, "harmony-hello", "Says hello");
    box.script(dir, "harmony-hello-world", "Says hello to the world");
  }
  box.path_dirs = {"decoys", "open", "one", "two"};

  json list = json_of(box.harmony({"plugin", "list", "-o", "json"}));
  std::vector<json> winners;
  for (const auto& p : list["plugins"])
    if (p["winner"] == true) winners.push_back(p);
  REQUIRE(winners.size() == 8);

  for (const auto& p : winners) {
    const std::string command = p["command"];
    const std::string path = p["path"];
    INFO("command: " << command);
    CHECK_THAT(path, Catch::StartsWith(box.path("one/")));

    std::vector<std::string> words;
    for (std::size_t start = 0; start <= command.size();) {
      auto space = command.find(' ', start);
      words.push_back(command.substr(start, space == std::string::npos ? std::string::npos : space - start));
      if (space == std::string::npos) break;
      start = space + 1;
    }

    std::vector<std::string> which_args{"which", "-o", "json"};
    which_args.insert(which_args.end(), words.begin(), words.end());
    json which = json_of(box.harmony(which_args));
    CHECK(which["path"] == path);

    auto ran = box.harmony(words);
    REQUIRE(ran.ok());
    json self = json_of(ran);
    CHECK(self["exe"] == path);
  }
}
