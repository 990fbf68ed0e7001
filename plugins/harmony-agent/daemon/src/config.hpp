#pragma once
// The agent's configuration: a YAML file, then environment overrides
// (FLEET_AGENT_*). Every problem names the key it is about.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <harmony/agent/protocol.hpp>
#include <harmony/base/expected.hpp>
#include <harmony/base/process.hpp>

namespace harmony::agent::daemon {

struct Config {
  std::string device_id;
  std::vector<std::string> nats_urls{"nats://127.0.0.1:4222"};
  std::string nats_user;
  std::string password_file;
  // An identity provider's token instead of a user and password (the
  // fleet's auth callout): read again at every connection, so whatever
  // keeps the file fresh (docs/agent.md) needs no signal to the agent.
  std::string token_file;
  std::string ca_file;  // TLS: the CA that signed the server's certificate
  Labels labels;
  std::vector<std::string> exec_allow;                // absolute paths, any arguments; no PATH lookup
  AllowedArguments exec_allow_args;                   // absolute paths, only with these arguments
  Labels exec_env;                                    // variables commands get beyond PATH and LANG
  std::chrono::milliseconds exec_timeout{25'000};     // the default, and the longest allowed
  std::size_t exec_output_limit = 256 * 1024;         // bytes kept per stream
  int exec_max_concurrent = 4;
  std::chrono::milliseconds heartbeat_interval{5'000};
  // Workloads from the fleet's desired state (docs/fleet-operator.md).
  bool workloads = true;                               // false: the agent never watches desired state
  std::string workloads_dir = "/var/lib/fleet-agent/workloads";  // records, exit statuses, logs
  bool workloads_dir_set = false;                      // configured, not the default: it must work
  std::chrono::milliseconds workloads_stop_grace{10'000};        // SIGTERM -> SIGKILL when stopping one
  std::chrono::milliseconds desired_resync{60'000};    // re-read all desired state this often
  std::string podman = "podman";                       // containers: a path, or a name in PATH
  std::size_t log_lines = 1000;                       // kept in memory for the logs verb
  std::string log_level = "info";
};

// Reads the environment; tests give their own.
using Getenv = std::function<std::optional<std::string>(const char* name)>;
Getenv process_environment();

// `path` may be empty: then the environment alone configures the agent.
base::expected<Config> load_config(const std::string& path, const Getenv& getenv);

// ---- what an exec gets --------------------------------------------------------

// Commands run here, whatever the agent's own working directory.
inline constexpr const char* exec_directory = "/";
inline constexpr const char* exec_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Every program an exec may run: exec.allow, then exec.allow_args's.
std::vector<std::string> exec_programs(const Config& config);
// Why `argv` may not run, or nullopt when it may. In exec.allow_args an
// argument `*` matches any one argument, and a `*` inside one matches any run
// of characters ("--unit=*"); the vector must have the same length.
std::optional<std::string> exec_refusal(const Config& config, const std::vector<std::string>& argv);
// The environment of a command: a fixed PATH, LANG=C.UTF-8 and exec.env,
// never the agent's own (it may hold secrets).
base::Environment exec_environment(const Config& config);

// The password, read from config.password_file: refused when others may read
// it (the agent's own user and group may).
base::expected<std::string> read_password(const Config& config);

}  // namespace harmony::agent::daemon
