#pragma once
// The plugin descriptor: what a plugin says about itself, embedded in its
// executable as the ELF section `.harmony_plugin` and read without running
// it. docs/plugin-protocol.md is the specification; this is its one codec,
// shared by the dispatcher (reader) and the SDK (writer).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <harmony/base/expected.hpp>

namespace harmony::plugin {

inline constexpr int protocol_major = 1;
inline constexpr int protocol_minor = 0;
inline constexpr std::string_view section_name = ".harmony_plugin";
inline constexpr std::size_t max_descriptor_size = 64 * 1024;

struct Descriptor {
  int protocol_major = plugin::protocol_major;
  int protocol_minor = plugin::protocol_minor;
  std::string name;
  std::string version;
  std::string description;
  std::string sdk_version;       // empty: not built on the SDK
  std::string requires_harmony;  // empty: any harmony; else the minimum version
  std::vector<std::string> verbs;
  std::vector<std::string> components;
  std::vector<std::string> topologies;
  std::string default_topology;
  bool completion = false;  // answers `__complete` requests

  [[nodiscard]] bool offers_verb(std::string_view verb) const;
};

// Parses and validates a descriptor. A descriptor whose protocol major
// version is not ours is returned with only the protocol fields filled in:
// its other fields may mean something else, and check_compatibility says why
// it cannot be used. Errors describe what is wrong, naming the field.
base::expected<Descriptor> parse_descriptor(std::string_view json);

std::string descriptor_to_json(const Descriptor& descriptor);

struct Compatibility {
  bool ok = true;
  std::string reason;  // why not, for listings and errors
  std::string hint;    // what to do
};
Compatibility check_compatibility(const Descriptor& descriptor, std::string_view harmony_version);

// A script plugin's description: a comment line `# harmony-description: TEXT`
// among the first lines after the "#!" line. nullopt when there is none.
std::optional<std::string> script_description(std::string_view head);
inline constexpr std::size_t script_head_size = 4096;

}  // namespace harmony::plugin
