#include <harmony/plugin/descriptor.hpp>

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include <harmony/base/version.hpp>

namespace harmony::plugin {
namespace {

using nlohmann::json;
using base::fail;

base::Error broken(std::string reason) {
  return base::make_error("invalid plugin descriptor", std::move(reason),
                          "rebuild the plugin with a current harmony SDK, or ask its author to fix it");
}

base::expected<std::string> string_field(const json& doc, const char* key, bool required) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) {
    if (required) return fail(broken(std::string("the field '") + key + "' is missing"));
    return std::string();
  }
  if (!it->is_string()) return fail(broken(std::string("the field '") + key + "' must be a string"));
  return it->get<std::string>();
}

base::expected<std::vector<std::string>> list_field(const json& doc, const char* key) {
  std::vector<std::string> out;
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return out;
  if (!it->is_array()) return fail(broken(std::string("the field '") + key + "' must be a list of strings"));
  for (const auto& item : *it) {
    if (!item.is_string()) return fail(broken(std::string("the field '") + key + "' must be a list of strings"));
    out.push_back(item.get<std::string>());
  }
  return out;
}

bool parse_protocol(std::string_view text, int& major, int& minor) {
  auto dot = text.find('.');
  if (dot == std::string_view::npos) return false;
  auto parse = [](std::string_view s, int& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size() && !s.empty() && out >= 0;
  };
  return parse(text.substr(0, dot), major) && parse(text.substr(dot + 1), minor);
}

}  // namespace

bool Descriptor::offers_verb(std::string_view verb) const {
  return std::find(verbs.begin(), verbs.end(), verb) != verbs.end();
}

base::expected<Descriptor> parse_descriptor(std::string_view text) {
  if (text.size() > max_descriptor_size) return fail(broken("it is larger than 64 KiB"));
  // objcopy sections may carry a trailing NUL or newline.
  while (!text.empty() && (text.back() == '\0' || text.back() == '\n')) text.remove_suffix(1);
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    if (auto close = what.find("] "); close != std::string::npos) what = what.substr(close + 2);
    return fail(broken("it is not valid JSON: " + what));
  }
  if (!doc.is_object()) return fail(broken("it must be a JSON object"));

  Descriptor d;
  auto protocol = string_field(doc, "protocol", true);
  if (!protocol) return fail(protocol.error());
  if (!parse_protocol(*protocol, d.protocol_major, d.protocol_minor))
    return fail(broken("the field 'protocol' must look like \"1.0\", not \"" + base::printable(*protocol) + "\""));
  if (d.protocol_major != protocol_major) return d;  // check_compatibility explains

  struct StringField {
    const char* key;
    std::string* target;
    bool required;
  } strings[] = {{"name", &d.name, true},
                 {"version", &d.version, true},
                 {"description", &d.description, true},
                 {"sdk_version", &d.sdk_version, false},
                 {"requires_harmony", &d.requires_harmony, false},
                 {"default_topology", &d.default_topology, false}};
  for (auto& field : strings) {
    auto value = string_field(doc, field.key, field.required);
    if (!value) return fail(value.error());
    *field.target = std::move(*value);
  }
  if (d.name.empty()) return fail(broken("the field 'name' is empty"));
  if (!base::Version::parse(d.version))
    return fail(broken("the field 'version' is not a semantic version: \"" + base::printable(d.version) + "\""));
  if (!d.requires_harmony.empty() && !base::Version::parse(d.requires_harmony))
    return fail(broken("the field 'requires_harmony' is not a semantic version: \"" +
                       base::printable(d.requires_harmony) + "\""));
  if (!d.sdk_version.empty() && !base::Version::parse(d.sdk_version))
    return fail(broken("the field 'sdk_version' is not a semantic version: \"" + base::printable(d.sdk_version) + "\""));

  struct ListField {
    const char* key;
    std::vector<std::string>* target;
  } lists[] = {{"verbs", &d.verbs}, {"components", &d.components}, {"topologies", &d.topologies}};
  for (auto& field : lists) {
    auto value = list_field(doc, field.key);
    if (!value) return fail(value.error());
    *field.target = std::move(*value);
  }
  if (auto it = doc.find("completion"); it != doc.end() && !it->is_null()) {
    if (!it->is_boolean()) return fail(broken("the field 'completion' must be true or false"));
    d.completion = it->get<bool>();
  }
  return d;
}

std::string descriptor_to_json(const Descriptor& d) {
  json doc = {
      {"protocol", std::to_string(d.protocol_major) + "." + std::to_string(d.protocol_minor)},
      {"name", d.name},
      {"version", d.version},
      {"description", d.description},
      {"verbs", d.verbs},
      {"components", d.components},
      {"topologies", d.topologies},
      {"completion", d.completion},
  };
  if (!d.sdk_version.empty()) doc["sdk_version"] = d.sdk_version;
  if (!d.requires_harmony.empty()) doc["requires_harmony"] = d.requires_harmony;
  if (!d.default_topology.empty()) doc["default_topology"] = d.default_topology;
  return doc.dump();
}

Compatibility check_compatibility(const Descriptor& d, std::string_view harmony_version) {
  if (d.protocol_major != protocol_major) {
    return {false,
            "it speaks plugin protocol " + std::to_string(d.protocol_major) + "." + std::to_string(d.protocol_minor) +
                "; this harmony speaks " + std::to_string(protocol_major) + ".x",
            d.protocol_major > protocol_major ? "upgrade harmony, or install a version of the plugin built for protocol " +
                                                    std::to_string(protocol_major)
                                              : "upgrade the plugin"};
  }
  if (!d.requires_harmony.empty()) {
    auto needed = base::Version::parse(d.requires_harmony);
    auto have = base::Version::parse(harmony_version);
    if (needed && have && *have < *needed)
      return {false,
              "it requires harmony " + needed->str() + " or later; this is harmony " + std::string(harmony_version),
              "upgrade harmony to " + needed->str() + " or later"};
  }
  return {};
}

std::optional<std::string> script_description(std::string_view head) {
  if (!head.starts_with("#!")) return std::nullopt;
  constexpr std::string_view marker = "harmony-description:";
  std::size_t start = 0;
  for (int line = 0; line < 10 && start < head.size(); ++line) {
    auto end = head.find('\n', start);
    if (end == std::string_view::npos) end = head.size();
    std::string_view text = head.substr(start, end - start);
    start = end + 1;
    if (line == 0) continue;  // the "#!" line
    if (!text.starts_with("#")) break;
    text.remove_prefix(1);
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    if (!text.starts_with(marker)) continue;
    text.remove_prefix(marker.size());
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
    return std::string(text);
  }
  return std::nullopt;
}

}  // namespace harmony::plugin
