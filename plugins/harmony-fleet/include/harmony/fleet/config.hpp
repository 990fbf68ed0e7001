#pragma once
// What the fleet's Scores generate, as plain functions: NATS's configuration
// and accounts, the agents' configurations, passwords, and where programs
// are. The Scores (scores.hpp) put these through a topology.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <harmony/base/expected.hpp>
#include <harmony/fleet/roles.hpp>
#include <harmony/fleet/settings.hpp>

namespace harmony::fleet {

inline constexpr std::string_view nats_component = "nats";
inline constexpr std::string_view agent_component = "agent";
inline constexpr std::string_view nats_process = "nats-server";
inline constexpr std::string_view operator_user = "operator";
inline constexpr std::string_view operator_password_file = "operator.password";
// The fleet operator runtime's password (its user and permissions: roles.hpp).
inline constexpr std::string_view controller_password_file = "fleet-operator.password";
inline constexpr std::string_view system_user = "system";
inline constexpr std::string_view system_password_file = "system.password";
inline constexpr std::string_view accounts_file = "accounts.conf";
// nats.auth=callout: the callout's login and its keys, kept with NATS's
// credentials because NATS's configuration names them before the callout
// runs. The callout, harmony's users and whom it admits all live in NATS's
// global account: another account would take JetStream, and so the KV
// buckets, away from it (nats-server enables JetStream for the global
// account only while no other account is configured), and moving between
// user_password and callout would lose the buckets' contents.
inline constexpr std::string_view callout_component = "callout";
inline constexpr std::string_view callout_user = "callout";
inline constexpr std::string_view callout_password_file = "callout.password";
inline constexpr std::string_view callout_issuer_seed_file = "callout-issuer.seed";
inline constexpr std::string_view callout_xkey_seed_file = "callout-xkey.seed";
inline constexpr std::string_view fleet_account = "$G";
inline constexpr std::string_view connection_file = "connection.json";

// A random password of 32 letters and digits (190 bits), from the kernel's
// random source. Strong enough that the server may keep it in the clear:
// no bcrypt cost on every connect (docs/adr/0012-fleet-accounts.md).
std::string generate_password();

// The NATS user of an agent, and the credential file holding its password.
std::string agent_user(std::string_view device_id);
std::string agent_password_file(std::string_view device_id);
// The device id of an agent password file's name, or nullopt.
std::optional<std::string> device_of_password_file(std::string_view file_name);

struct NatsUser {
  std::string name;
  std::string password;
  std::string device_id;    // empty: the operator, who may do anything
  bool controller = false;  // the operator runtime: controller_permissions()
  bool callout = false;     // the auth callout: callout_permissions()
};

// The KV buckets the fleet's NATS deploy creates, with what each holds.
struct Bucket {
  std::string_view name;
  std::string_view description;
};
std::vector<Bucket> fleet_buckets();

// The `users` block of nats-server's authorization: the operator, then one
// user per agent allowed only its own subjects.
std::string render_accounts(const std::vector<NatsUser>& users);

// What NATS's auth_callout block needs (nats.auth=callout): the public
// keys of the callout's issuer (an account nkey, A...) and xkey (X...).
struct CalloutServer {
  std::string issuer;
  std::string xkey;
};

// fleet-callout's command line (after the program) for these settings:
// where NATS is, and where its files are (local paths, or a pod's mounts).
struct CalloutFiles {
  std::string password;
  std::string issuer_seed;
  std::string xkey_seed;
  std::string oidc_ca;              // empty: the system's CAs
  std::string agent_passwords_dir;  // used with callout.admit_passwords
};
std::vector<std::string> callout_arguments(const CalloutSettings& settings, const std::string& nats_url,
                                           const CalloutFiles& files);

// nats-server's configuration. `accounts_include` is the accounts file's
// path relative to the configuration's directory (nats-server resolves
// includes there). With `callout`, every login but harmony's own users
// (the operator, the operator runtime, the callout) goes to the callout.
std::string render_nats_config(const NatsSettings& settings, const std::string& store_dir,
                               const std::string& accounts_include, const CalloutServer* callout = nullptr);
// The same for a pod: clients on every address of the pod, the monitoring
// port too (the kubelet probes /healthz on the pod's address), JetStream
// under /data, the accounts from /etc/nats-accounts, and a system account
// whose user may ask the server to reload them.
std::string render_nats_pod_config(const NatsSettings& settings, const std::string& system_password,
                                   const CalloutServer* callout = nullptr);

// How harmony and the agents reach NATS: the listen address, or loopback
// when it listens on every interface.
std::string client_url(const NatsSettings& settings);
bool is_loopback(std::string_view address);

// How an agent logs in: its user's password file, or (nats.auth=callout)
// a token file that something outside the agent keeps fresh.
struct AgentLogin {
  std::string password_file;
  std::string token_file;
};

// fleet-agent's configuration (docs/agent.md) for one device.
std::string render_agent_config(const AgentSettings& settings, const std::string& device_id, const std::string& nats_url,
                                 const AgentLogin& login, const std::string& ca_file = {},
                                 const std::string& workloads_dir = {});

// The program to run for a setting: a path is used as is; a bare name is
// looked for next to the running executable first (an installed or built
// harmony keeps its programs together), then in PATH. `install_hint` says
// how to get it.
base::expected<std::string> find_program(const std::string& configured, std::string_view setting,
                                         std::string_view install_hint);

}  // namespace harmony::fleet
