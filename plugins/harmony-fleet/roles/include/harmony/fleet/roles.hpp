#pragma once
// The fleet's NATS roles: what each kind of user may publish and subscribe
// to. One definition per role, used both where harmony writes NATS's users
// itself (the accounts file, nats.auth=user_password) and where the auth
// callout answers a login with a user JWT (nats.auth=callout). Lean: the
// wire contract and the fleet contract only, so fleet-callout links it.

#include <string>
#include <string_view>
#include <vector>

namespace harmony::fleet {

// The fleet operator runtime's NATS user (docs/fleet-operator.md): only the
// fleet's KV buckets, never device commands.
inline constexpr std::string_view controller_user = "fleet-operator";
// Its replies come under this prefix; an underscore keeps it apart from
// every agent's _INBOX.<id> (device ids have none).
inline constexpr std::string_view controller_inbox = "_INBOX_fleet-operator";

struct Permissions {
  std::vector<std::string> publish;
  std::vector<std::string> subscribe;
  bool allow_responses = false;  // may answer requests it receives, once each
};

// An agent: its commands, heartbeats and status key, and its own keys of
// the desired-state (watch only) and device-state (write) buckets.
Permissions agent_permissions(std::string_view device_id);
// The operator runtime: the three KV buckets, nothing else.
Permissions controller_permissions();
// The auth callout's own user (nats.auth=callout), in the fleet's account:
// it hears NATS's authorization requests and answers them, nothing else.
Permissions callout_permissions();
// A person of the `fleet-ops` role (docs/fleet-callout.md): what `harmony
// agent` and `harmony fleet` do as an operator. Commands to any agent and
// their replies, heartbeats, reading the three KV buckets and making them
// (a deploy's smoke test); not writing desired state (FleetDeployments do
// that, through the operator runtime), not the system account.
Permissions fleet_ops_permissions();

}  // namespace harmony::fleet
