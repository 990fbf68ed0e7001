// Completion, driven through real shells: bash (COMP_WORDS/COMP_CWORD),
// zsh and fish from Debian, and the __complete protocol underneath.

#include <catch2/catch.hpp>

#include "sandbox.hpp"

using namespace harmony::e2e;

namespace {

struct Shells {
  Sandbox box;
  Shells() {
    box.dir("hbin");
    fs::create_symlink(harmony_binary(), box.path("hbin/harmony"));
    box.install("probe", "bin", "harmony-probe");
    box.install("fleet", "bin", "harmony-fleet");
    box.install("probe", "bin", "harmony-foo-bar");
    box.script("bin", "harmony-hello", "Says hello");
    box.path_dirs = {"hbin", "bin", "/usr/bin", "/bin"};
  }

  // What bash's completion function puts in COMPREPLY for the words.
  std::vector<std::string> bash(const std::vector<std::string>& words) {
    std::string array;
    for (const auto& w : words) array += " '" + w + "'";
    std::string program = "source <(harmony completion bash)\n"
                          "COMP_WORDS=(" + array + ")\n"
                          "COMP_CWORD=" + std::to_string(words.size() - 1) + "\n"
                          "_harmony\n"
                          "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
    auto r = box.run({"/bin/bash", "--norc", "--noprofile", "-c", program});
    INFO(r.err);
    REQUIRE(r.ok());
    auto out = lines(r.out);
    std::erase(out, "");
    return out;
  }
};

bool has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

TEST_CASE("__complete answers from built-ins and plugin names, filtered by the current word") {
  Shells s;
  auto r = s.box.harmony({"__complete", "p"});
  REQUIRE(r.ok());
  CHECK(r.out == "plugin\tlist, describe or create plugins (plugin list, plugin info <name>, plugin new <name>)\nplan\tlifecycle verb\n"
                 "probe\tReports what it received\n");
  CHECK(s.box.harmony({"__complete", "-"}).out.find("--verbose\t") != std::string::npos);
  CHECK(s.box.harmony({"__complete", "-o", ""}).out == "text\tplain text\njson\tone JSON document\n");
  CHECK(s.box.harmony({"__complete", "completion", ""}).out == "bash\nzsh\nfish\n");
  CHECK(s.box.harmony({"__complete", "foo", ""}).out == "bar\tReports what it received\n");
  CHECK(s.box.harmony({"__complete", "-v", "plugin", "i"}).out == "info\tdescribe one plugin\n");
}

TEST_CASE("lifecycle verbs complete the plugins that offer them, then ask the plugin") {
  Shells s;
  CHECK(s.box.harmony({"__complete", "deploy", ""}).out ==
        "fleet\tA stand-in for the fleet plugin\nprobe\tReports what it received\n");
  CHECK(s.box.harmony({"__complete", "plan", ""}).out == "fleet\tA stand-in for the fleet plugin\n");
  // probe says it answers completion requests: it is asked, with the verb first.
  CHECK(s.box.harmony({"__complete", "deploy", "probe", "--x", ""}).out ==
        "alpha\tthe first letter\nbeta\tthe second letter\nseen_deploy_--x_\n");
  // fleet does not: it is never run.
  CHECK(s.box.harmony({"__complete", "deploy", "fleet", ""}).out.empty());
  // A plugin's own commands.
  CHECK(s.box.harmony({"__complete", "probe", "b"}).out == "beta\tthe second letter\n");
}

TEST_CASE("a plugin that does not answer in time does not hang completion") {
  Shells s;
  s.box.vars = {{"PROBE_COMPLETE_SLEEP", "30"}};
  auto r = s.box.harmony({"__complete", "probe", ""});
  CHECK(r.ok());
  CHECK(r.out.empty());
  CHECK(r.elapsed < std::chrono::seconds(20));
}

TEST_CASE("bash completion through COMP_WORDS and COMP_CWORD") {
  Shells s;
  auto top = s.bash({"harmony", "pl"});
  CHECK(top == std::vector<std::string>{"plugin", "plan"});
  CHECK(s.bash({"harmony", "h"}) == std::vector<std::string>{"help", "hello"});
  CHECK(s.bash({"harmony", "deploy", ""}) == std::vector<std::string>{"fleet", "probe"});
  CHECK(s.bash({"harmony", "probe", "al"}) == std::vector<std::string>{"alpha"});
  CHECK(s.bash({"harmony", "foo", ""}) == std::vector<std::string>{"bar"});
  auto flags = s.bash({"harmony", "--"});
  CHECK(has(flags, "--verbose"));
  CHECK(has(flags, "--no-color"));
}

TEST_CASE("zsh completion through zsh's own line editor") {
  Shells s;
  // An interactive zsh on a pseudo-terminal (zsh's zpty module), with
  // compinit and our script loaded, is sent keystrokes ending in TAB; what it
  // draws is what a user would see. It is read until `awaited` shows (at most
  // 30s: on a busy machine zsh draws late), then whatever else is there.
  auto type = [&](const std::string& keys, const std::string& awaited) {
    std::string driver =
        "zmodload zsh/zpty\n"
        "zpty -b z 'TERM=dumb zsh -f -i'\n"
        "zpty -w z 'PS1=\"> \"; autoload -U compinit; compinit -u -D; source <(harmony completion zsh)'\n"
        "zpty -w -n z $'" + keys + "\\t'\n"
        "out=''\n"
        "for i in {1..300}; do\n"
        "  while zpty -r -t z line; do out+=$line; done\n"
        "  [[ ${out//$'\\r'/} == *'" + awaited + "'* ]] && break\n"
        "  sleep 0.1\n"
        "done\n"
        "while zpty -r -t z line; do out+=$line; done\n"
        "zpty -d z\n"
        "print -r -- \"${out//$'\\r'/}\"\n";
    auto r = s.box.run({"/usr/bin/zsh", "-f", "-c", driver});
    INFO(r.err);
    REQUIRE(r.ok());
    // Only what was drawn after the keystrokes were echoed.
    auto at = r.out.find(keys);
    return at == std::string::npos ? r.out : r.out.substr(at);
  };
  auto listed = type("harmony pl", "plugin  -- ");
  CHECK_THAT(listed, Catch::Contains("plan    -- lifecycle verb"));
  CHECK_THAT(listed, Catch::Contains("plugin  -- list, describe or create plugins"));
  auto verbs = type("harmony deploy ", "probe  -- ");
  CHECK_THAT(verbs, Catch::Contains("fleet  -- A stand-in for the fleet plugin"));
  CHECK_THAT(verbs, Catch::Contains("probe  -- Reports what it received"));
  // A single candidate is inserted into the line.
  CHECK_THAT(type("harmony deploy fl", "harmony deploy fleet"), Catch::Contains("harmony deploy fleet"));
  CHECK_THAT(type("harmony probe al", "harmony probe alpha"), Catch::Contains("harmony probe alpha"));
}

TEST_CASE("fish completion through fish's own completion engine") {
  Shells s;
  auto fish = [&](const std::string& line) {
    auto r = s.box.run({"/usr/bin/fish", "--no-config", "-c",
                        "harmony completion fish | source; complete -C '" + line + "'"});
    INFO(r.err);
    REQUIRE(r.ok());
    return lines(r.out);
  };
  CHECK(fish("harmony pl") == std::vector<std::string>{"plan\tlifecycle verb",
                                                     "plugin\tlist, describe or create plugins (plugin list, plugin info <name>, plugin new <name>)"});
  CHECK(fish("harmony deploy ") ==
        std::vector<std::string>{"fleet\tA stand-in for the fleet plugin", "probe\tReports what it received"});
  CHECK(fish("harmony probe a") == std::vector<std::string>{"alpha\tthe first letter"});
}
