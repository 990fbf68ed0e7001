#include <harmony/callout/identity.hpp>

#include <harmony/agent/protocol.hpp>
#include <harmony/callout/jwt.hpp>

namespace harmony::callout {
namespace {

bool has_role(const nlohmann::json& claims, const IdentityRules& rules) {
  const auto roles = claims.find(rules.roles_claim);
  if (roles == claims.end()) return false;
  if (roles->is_object()) return roles->contains(rules.ops_role);
  if (roles->is_array())
    for (const auto& r : *roles)
      if (r.is_string() && r.get<std::string>() == rules.ops_role) return true;
  return false;
}

}  // namespace

tl::expected<Identity, std::string> identify(const nlohmann::json& claims, const IdentityRules& rules) {
  const auto named = claims.find(rules.device_claim);
  const std::string name = named != claims.end() && named->is_string() ? named->get<std::string>() : std::string();
  const bool ops = has_role(claims, rules);
  if (!rules.device_prefix.empty() && name.starts_with(rules.device_prefix)) {
    const std::string id = name.substr(rules.device_prefix.size());
    if (!agent::valid_device_id(id))
      return tl::unexpected("machine user '" + shown(name, 80) + "' names no valid device id");
    // A device never also operates the fleet: such a token is a mistake in
    // the identity provider, and refused rather than guessed at.
    if (ops) return tl::unexpected("device '" + id + "' also holds the " + rules.ops_role + " role");
    return Identity{Role::device, id, "device " + id};
  }
  if (ops) {
    const auto sub = claims.find("sub");
    const std::string who = sub != claims.end() && sub->is_string() ? sub->get<std::string>() : name;
    return Identity{Role::fleet_ops, {}, rules.ops_role + " " + shown(who, 80)};
  }
  return tl::unexpected("neither a device (" + rules.device_claim + " '" + rules.device_prefix + "<id>') nor the " +
                        rules.ops_role + " role");
}

}  // namespace harmony::callout
