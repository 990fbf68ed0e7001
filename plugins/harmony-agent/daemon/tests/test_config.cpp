// The agent's configuration: a YAML file, environment overrides, and an
// error naming the key for every bad value (docs/agent.md).

#include <catch2/catch.hpp>

#include <map>
#include <sys/stat.h>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>

#include "config.hpp"
#include "temp_dir.hpp"

using namespace harmony::agent::daemon;
using harmony::testing::TempDir;

namespace {

Getenv env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string write(const TempDir& dir, const std::string& name, const std::string& text, unsigned mode = 0600) {
  const std::string path = dir / name;
  REQUIRE(harmony::base::write_file_atomically(path, text, mode));
  return path;
}

// The whole rendered problem (message, reason, hint) of a refused configuration.
std::string refusal(const TempDir& dir, const std::string& yaml, std::map<std::string, std::string> vars = {}) {
  auto c = load_config(write(dir, "agent.yaml", yaml), env_of(std::move(vars)));
  REQUIRE_FALSE(c);
  CHECK(c.error().status == harmony::base::exit_status::invalid_settings);
  return c.error().message + " | " + c.error().reason + " | " + c.error().hint;
}

}  // namespace

TEST_CASE("a full configuration file is read") {
  TempDir dir;
  auto path = write(dir, "agent.yaml", R"(
device_id: edge-7
nats:
  urls: [nats://10.0.0.1:4222, nats://10.0.0.2:4222]
  user: agent-edge-7
  password_file: /etc/fleet-agent/password
  ca_file: /etc/fleet-agent/ca/ca.crt
labels:
  site: lyon
  rack: "3"
exec:
  allow: [/usr/bin/uptime, /bin/df]
  timeout: 10s
  output_limit: 4096
  max_concurrent: 2
heartbeat:
  interval: 2s
logs:
  keep: 200
  level: debug
)");
  auto c = load_config(path, env_of({}));
  REQUIRE(c);
  CHECK(c->device_id == "edge-7");
  CHECK(c->nats_urls == std::vector<std::string>{"nats://10.0.0.1:4222", "nats://10.0.0.2:4222"});
  CHECK(c->nats_user == "agent-edge-7");
  CHECK(c->password_file == "/etc/fleet-agent/password");
  CHECK(c->ca_file == "/etc/fleet-agent/ca/ca.crt");
  CHECK(c->labels == harmony::agent::Labels{{"rack", "3"}, {"site", "lyon"}});
  CHECK(c->exec_allow == std::vector<std::string>{"/usr/bin/uptime", "/bin/df"});
  CHECK(c->exec_timeout == std::chrono::seconds(10));
  CHECK(c->exec_output_limit == 4096);
  CHECK(c->exec_max_concurrent == 2);
  CHECK(c->heartbeat_interval == std::chrono::seconds(2));
  CHECK(c->log_lines == 200);
  CHECK(c->log_level == "debug");
}

TEST_CASE("the environment alone can configure the agent, and overrides the file") {
  auto c = load_config("", env_of({{"FLEET_AGENT_DEVICE_ID", "edge-9"},
                                   {"FLEET_AGENT_NATS_URLS", "nats://a:4222,nats://b:4222"},
                                   {"FLEET_AGENT_EXEC_ALLOW", "/bin/true"},
                                   {"FLEET_AGENT_LABELS", "site=paris,tier=edge"},
                                   {"FLEET_AGENT_HEARTBEAT_INTERVAL", "750ms"}}));
  REQUIRE(c);
  CHECK(c->device_id == "edge-9");
  CHECK(c->nats_urls.size() == 2);
  CHECK(c->exec_allow == std::vector<std::string>{"/bin/true"});
  CHECK(c->labels.at("tier") == "edge");
  CHECK(c->heartbeat_interval == std::chrono::milliseconds(750));

  TempDir dir;
  auto path = write(dir, "agent.yaml", "device_id: from-file\n");
  auto overridden = load_config(path, env_of({{"FLEET_AGENT_DEVICE_ID", "from-env"}}));
  REQUIRE(overridden);
  CHECK(overridden->device_id == "from-env");
  auto with_ca = load_config(path, env_of({{"FLEET_AGENT_NATS_CA_FILE", "/ca.pem"}}));
  REQUIRE(with_ca);
  CHECK(with_ca->ca_file == "/ca.pem");
  auto with_token = load_config(path, env_of({{"FLEET_AGENT_NATS_TOKEN_FILE", "/run/token"}}));
  REQUIRE(with_token);
  CHECK(with_token->token_file == "/run/token");
}

TEST_CASE("each bad value is refused with the key it is about") {
  TempDir dir;
  CHECK_THAT(refusal(dir, "nats: {urls: [nats://x:1]}\n"), Catch::Contains("device_id") && Catch::Contains("missing"));
  CHECK_THAT(refusal(dir, "device_id: Edge_7\n"), Catch::Contains("device_id") && Catch::Contains("RFC 1123"));
  CHECK_THAT(refusal(dir, "device_id: edge.7\n"), Catch::Contains("device_id"));
  CHECK_THAT(refusal(dir, "device_id: [a, b]\n"), Catch::Contains("device_id") && Catch::Contains("single value"));
  CHECK_THAT(refusal(dir, "device_id: e\nnats: {urls: [http://x]}\n"), Catch::Contains("nats.urls"));
  CHECK_THAT(refusal(dir, "device_id: e\nnats: {user: u}\n"), Catch::Contains("nats.password_file"));
  CHECK_THAT(refusal(dir, "device_id: e\nnats: {user: u, password_file: /p, token_file: /t}\n"),
             Catch::Contains("nats.token_file") && Catch::Contains("either with a user"));
  CHECK_THAT(refusal(dir, "device_id: e\nexec: {allow: [uptime]}\n"),
             Catch::Contains("exec.allow") && Catch::Contains("absolute path"));
  CHECK_THAT(refusal(dir, "device_id: e\nexec: {timeout: soon}\n"), Catch::Contains("exec.timeout"));
  CHECK_THAT(refusal(dir, "device_id: e\nexec: {timeout: 0s}\n"), Catch::Contains("exec.timeout"));
  CHECK_THAT(refusal(dir, "device_id: e\nexec: {timeout: 2h}\n"), Catch::Contains("exec.timeout") && Catch::Contains("1h"));
  CHECK_THAT(refusal(dir, "device_id: e\nexec: {max_concurrent: 0}\n"), Catch::Contains("exec.max_concurrent"));
  CHECK_THAT(refusal(dir, "device_id: e\nexec: {output_limit: lots}\n"), Catch::Contains("exec.output_limit"));
  CHECK_THAT(refusal(dir, "device_id: e\nheartbeat: {interval: -1s}\n"), Catch::Contains("heartbeat.interval"));
  CHECK_THAT(refusal(dir, "device_id: e\nlogs: {level: chatty}\n"), Catch::Contains("logs.level"));
  CHECK_THAT(refusal(dir, "device_id: e\nlabels: [a]\n"), Catch::Contains("labels"));
  CHECK_THAT(refusal(dir, "device_id: e\nlabels: {a: {b: c}}\n"), Catch::Contains("labels.a"));
  CHECK_THAT(refusal(dir, "device_id: e\n", {{"FLEET_AGENT_LABELS", "noequals"}}), Catch::Contains("FLEET_AGENT_LABELS"));
  CHECK_THAT(refusal(dir, "device_id: e\n", {{"FLEET_AGENT_HEARTBEAT_INTERVAL", "x"}}),
             Catch::Contains("FLEET_AGENT_HEARTBEAT_INTERVAL"));
}

TEST_CASE("an unknown key is refused with a suggestion") {
  TempDir dir;
  auto text = refusal(dir, "device_id: e\nnats:\n  urlz: [nats://x:1]\n");
  CHECK_THAT(text, Catch::Contains("nats.urlz") && Catch::Contains("did you mean 'nats.urls'"));
  CHECK_THAT(refusal(dir, "device-id: e\n"), Catch::Contains("device-id") && Catch::Contains("device_id"));
}

TEST_CASE("a file that is not YAML, or not a map, says where") {
  TempDir dir;
  CHECK_THAT(refusal(dir, "device_id: [unclosed\n"), Catch::Contains("line"));
  CHECK_THAT(refusal(dir, "- a\n- b\n"), Catch::Contains("map of settings"));
  auto missing = load_config(dir / "nope.yaml", env_of({}));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().status == harmony::base::exit_status::invalid_settings);
  CHECK_THAT(missing.error().hint, Catch::Contains("--config"));
}

TEST_CASE("exec.allow_args limits a program to argument vectors, exec.env adds variables") {
  TempDir dir;
  auto c = load_config(write(dir, "agent.yaml", R"(
device_id: edge-7
exec:
  allow: [/usr/bin/uptime]
  allow_args:
    /bin/systemctl:
      - [status, nginx]
      - [restart, "*"]
      - ["--unit=*.service"]
      - []
  env:
    TZ: Europe/Paris
    LANG: fr_FR.UTF-8
)"),
                       env_of({}));
  REQUIRE(c);
  CHECK(exec_programs(*c) == std::vector<std::string>{"/usr/bin/uptime", "/bin/systemctl"});
  using Argv = std::vector<std::string>;
  // A bare path: any arguments.
  CHECK_FALSE(exec_refusal(*c, Argv{"/usr/bin/uptime", "--anything", "at all"}));
  CHECK_FALSE(exec_refusal(*c, Argv{"/bin/systemctl", "status", "nginx"}));
  CHECK_FALSE(exec_refusal(*c, Argv{"/bin/systemctl", "restart", "postgres"}));
  CHECK_FALSE(exec_refusal(*c, Argv{"/bin/systemctl", "restart", ""}));
  CHECK_FALSE(exec_refusal(*c, Argv{"/bin/systemctl", "--unit=a.b.service"}));
  CHECK_FALSE(exec_refusal(*c, Argv{"/bin/systemctl"}));  // [] is "no arguments"
  for (const Argv& refused : {Argv{"/bin/systemctl", "stop", "nginx"}, Argv{"/bin/systemctl", "status"},
                              Argv{"/bin/systemctl", "status", "nginx", "--now"}, Argv{"/bin/systemctl", "restart", "a", "b"},
                              Argv{"/bin/systemctl", "--unit=a.socket"}, Argv{"/bin/systemctl", "status", "nginx2"}}) {
    auto why = exec_refusal(*c, refused);
    REQUIRE(why);
    CHECK_THAT(*why, Catch::Contains("not with these arguments"));
  }
  auto off = exec_refusal(*c, Argv{"/bin/rm", "-rf", "/"});
  REQUIRE(off);
  CHECK_THAT(*off, Catch::Contains("is not on this agent's exec allowlist"));

  auto env = exec_environment(*c);
  CHECK(env.entries() == std::vector<std::string>{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                                  "LANG=fr_FR.UTF-8", "TZ=Europe/Paris"});
  CHECK(exec_environment(Config{}).entries() ==
        std::vector<std::string>{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"});

  CHECK_THAT(refusal(dir, "device_id: e\nexec: {allow: [/bin/x], allow_args: {/bin/x: [[a]]}}\n"),
             Catch::Contains("exec.allow_args") && Catch::Contains("also in exec.allow"));
  CHECK_THAT(refusal(dir, "device_id: e\nexec: {allow_args: {x: [[a]]}}\n"), Catch::Contains("absolute path"));
  CHECK_THAT(refusal(dir, "device_id: e\nexec: {allow_args: {/bin/x: [a]}}\n"), Catch::Contains("exec.allow_args./bin/x"));
  CHECK_THAT(refusal(dir, "device_id: e\nexec: {allow_args: [/bin/x]}\n"), Catch::Contains("exec.allow_args"));
  CHECK_THAT(refusal(dir, "device_id: e\nexec: {env: [TZ]}\n"), Catch::Contains("exec.env"));
  CHECK_THAT(refusal(dir, "device_id: e\nexec: {env: {\"A=B\": c}}\n"), Catch::Contains("not a variable name"));
  CHECK_THAT(refusal(dir, "device_id: e\nexec: {env: {A: [b]}}\n"), Catch::Contains("exec.env.A"));
}

TEST_CASE("the password file is refused when others may read it") {
  TempDir dir;
  Config c;
  c.password_file = write(dir, "password", "s3cret\n", 0640);  // the agent's group may read it
  auto ok = read_password(c);
  REQUIRE(ok);
  CHECK(*ok == "s3cret");

  ::chmod(c.password_file.c_str(), 0644);
  auto refused = read_password(c);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("nats.password_file"));
  CHECK_THAT(refused.error().reason, Catch::Contains("0644"));
  CHECK_THAT(refused.error().hint, Catch::Contains("chmod o-r"));
  CHECK(refused.error().reason.find("s3cret") == std::string::npos);

  c.password_file = write(dir, "empty", "\n");
  CHECK_FALSE(read_password(c));
  c.password_file = dir / "absent";
  CHECK_FALSE(read_password(c));
}

TEST_CASE("workloads: a directory, a stop grace, a resync interval and podman are settable, and checked") {
  TempDir dir;
  auto c = load_config(write(dir, "agent.yaml",
                             "device_id: edge-1\n"
                             "workloads: {directory: /srv/w, stop_grace: 3s, resync: 20s, podman: /usr/local/bin/podman}\n"),
                       env_of({}));
  REQUIRE(c);
  CHECK(c->workloads);
  CHECK(c->workloads_dir == "/srv/w");
  CHECK(c->workloads_dir_set);
  CHECK(c->workloads_stop_grace == std::chrono::seconds(3));
  CHECK(c->desired_resync == std::chrono::seconds(20));
  CHECK(c->podman == "/usr/local/bin/podman");
  auto defaults = load_config(write(dir, "d.yaml", "device_id: edge-1\n"), env_of({}));
  REQUIRE(defaults);
  CHECK(defaults->workloads_dir == "/var/lib/fleet-agent/workloads");
  CHECK_FALSE(defaults->workloads_dir_set);
  auto from_env = load_config(write(dir, "e.yaml", "device_id: edge-1\n"), env_of({{"FLEET_AGENT_WORKLOADS_DIR", "/run/w"}}));
  REQUIRE(from_env);
  CHECK(from_env->workloads_dir == "/run/w");
  CHECK_THAT(refusal(dir, "device_id: edge-1\nworkloads: {directory: relative}\n"),
             Catch::Contains("workloads.directory") && Catch::Contains("not an absolute path"));
  CHECK_THAT(refusal(dir, "device_id: edge-1\nworkloads: {enabled: maybe}\n"), Catch::Contains("true or false"));
  CHECK_THAT(refusal(dir, "device_id: edge-1\nworkloads: {resynk: 3s}\n"), Catch::Contains("did you mean 'workloads.resync'"));
}
