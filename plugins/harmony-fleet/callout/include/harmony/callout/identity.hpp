#pragma once
// Who a valid identity-provider token stands for, and what NATS lets them
// do: a device (its machine user is named `device-<id>`) gets exactly its
// agent's permissions; a person with the `fleet-ops` role gets the fleet
// operator's; anyone else is refused. docs/fleet-callout.md.

#include <string>

#include <nlohmann/json.hpp>

#include <harmony/base/expected.hpp>

namespace harmony::callout {

struct IdentityRules {
  // The claim naming a machine user, and the prefix of a device's name.
  // Zitadel puts a machine user's name in `client_id` for its JWT access
  // tokens.
  std::string device_claim = "client_id";
  std::string device_prefix = "device-";
  // The claim holding the project's roles: an object whose keys are role
  // names (Zitadel's), or an array of names.
  std::string roles_claim = "urn:zitadel:iam:org:project:roles";
  std::string ops_role = "fleet-ops";
};

enum class Role { device, fleet_ops };

struct Identity {
  Role role;
  std::string device_id;  // for Role::device
  std::string name;       // for logs and the user JWT's name: "device edge-1", "fleet-ops <sub>"
};

// The identity of a token's (already validated) claims; an error says why
// none (the reason goes to the log and to nats-server).
tl::expected<Identity, std::string> identify(const nlohmann::json& claims, const IdentityRules& rules);

}  // namespace harmony::callout
