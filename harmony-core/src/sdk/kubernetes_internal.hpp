#pragma once
// The Kubernetes topologies' in-cluster records, for their sources and tests.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <harmony/context.hpp>
#include <harmony/kube/object.hpp>

namespace harmony::topologies::kstate {

// One object of a component's inventory.
struct Entry {
  std::string api_version{};
  std::string kind{};
  std::string namespace_{};      // empty: cluster-scoped
  std::string name{};
  std::string applied_hash{};    // of what harmony applied last
  std::string applied_at{};      // harmony's managedFields time after that apply
};

std::string record_name(std::string_view plugin, std::string_view component);
std::string credentials_name(std::string_view plugin, std::string_view component);
std::string lease_name(std::string_view plugin);
nlohmann::json entry_json(const Entry& e);
Entry entry_from(const nlohmann::json& j);
std::string hash_hex(std::string_view data);
std::string applied_at(const kube::Object& object);
// What plan shows: the fields that differ between the live object and the
// dry run's, without what the server keeps for itself; a Secret's values
// replaced by "(secret)".
std::vector<PlannedChange::Field> diff(const nlohmann::json& before, const nlohmann::json& after, bool secret);

}  // namespace harmony::topologies::kstate
