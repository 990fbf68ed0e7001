#include <harmony/fleet/crds.hpp>

#include <harmony/fleet/contract_json.hpp>
#include <harmony/kube/json.hpp>

#include "yaml.hpp"

namespace harmony::fleet {
namespace {

namespace contract = harmony::fleet::contract;
using contract::json_codec::Described;
using contract::json_codec::is_optional;
using contract::json_codec::is_vector;
using nlohmann::json;

template <class T>
json schema_of(std::string_view description, const contract::Rule& rule);

// Walks a type's describe() and writes its OpenAPI v3 schema: one field,
// one property; the Rule's bounds as the schema's; Invariants as CEL rules.
class Schema {
 public:
  json out = json{{"type", "object"}, {"properties", json::object()}};

  template <class F>
  void operator()(std::string_view name, F&, std::string_view description, contract::Rule rule = {}) {
    if constexpr (is_optional<F>::value) out["properties"][std::string(name)] = schema_of<typename F::value_type>(description, rule);
    else out["properties"][std::string(name)] = schema_of<F>(description, rule);
    if (rule.required) out["required"].push_back(std::string(name));
  }
  template <class T>
  void invariant(const contract::Invariant<T>& rule) {
    out["x-kubernetes-validations"].push_back({{"rule", rule.cel}, {"message", rule.message}});
  }
};

template <class T>
json schema_of(std::string_view description, const contract::Rule& rule) {
  json s;
  if constexpr (Described<T>) {
    Schema walk;
    T probe{};
    probe.describe(walk);
    s = std::move(walk.out);
  } else if constexpr (std::same_as<T, std::string>) {
    s = {{"type", "string"}};
    if (!rule.pattern.empty()) s["pattern"] = rule.pattern;
    if (rule.max_length) s["maxLength"] = *rule.max_length;
    if (rule.required) s["minLength"] = 1;
    if (!rule.format.empty()) s["format"] = rule.format;
  } else if constexpr (std::same_as<T, bool>) {
    s = {{"type", "boolean"}};
  } else if constexpr (std::is_integral_v<T>) {
    s = {{"type", "integer"}, {"format", "int64"}};
    if (rule.minimum) s["minimum"] = *rule.minimum;
    if (rule.maximum) s["maximum"] = *rule.maximum;
  } else if constexpr (std::is_enum_v<T>) {
    s = {{"type", "string"}, {"enum", json::array()}};
    for (const auto& [value, spelling] : contract::Names<T>::table) s["enum"].push_back(spelling);
  } else if constexpr (std::same_as<T, contract::IntOrPercent>) {
    s = {{"x-kubernetes-int-or-string", true},
         {"anyOf", json::array({{{"type", "integer"}}, {{"type", "string"}}})},
         {"x-kubernetes-validations",
          json::array({{{"rule", "type(self) == int ? self >= 0 : self.matches('^(100|[1-9]?[0-9])%$')"},
                        {"message", "must be a whole number >= 0 or a percentage from 0% to 100%"}}})}};
  } else if constexpr (is_vector<T>::value) {
    s = {{"type", "array"}, {"items", schema_of<typename T::value_type>({}, contract::Rule{})}};
    if (rule.max_items) s["maxItems"] = *rule.max_items;
  } else if constexpr (std::same_as<T, contract::Labels>) {
    s = {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}};
    if (rule.max_items) s["maxProperties"] = *rule.max_items;
    if (!rule.pattern.empty())
      s["x-kubernetes-validations"] = json::array(
          {{{"rule", "self.all(k, k.matches('" + std::string(rule.pattern) + "'))"},
            {"message", "every key must match " + std::string(rule.pattern)}}});
  } else {
    static_assert(sizeof(T) == 0, "no schema for this field type");
  }
  if (!description.empty()) s["description"] = description;
  return s;
}

json printer_column(std::string name, std::string type, std::string path, std::string description, int priority = 0) {
  json c{{"name", std::move(name)}, {"type", std::move(type)}, {"jsonPath", std::move(path)}, {"description", std::move(description)}};
  if (priority) c["priority"] = priority;
  return c;
}

struct CrdShape {
  std::string_view kind, plural, singular, scope, description;
  std::vector<std::string> short_names;
  json properties;  // spec and/or status
  std::vector<std::string> required;
  json name_rule;
  json columns;
};

kube::Object crd(const CrdShape& shape) {
  json root{{"type", "object"},
            {"description", shape.description},
            {"properties",
             {{"apiVersion", {{"type", "string"}, {"description", "fleet.harmony.dev/v1alpha1"}}},
              {"kind", {{"type", "string"}, {"description", std::string(shape.kind)}}},
              {"metadata", {{"type", "object"}, {"properties", {{"name", {{"type", "string"}}}}}}}}},
            {"x-kubernetes-validations", json::array({shape.name_rule})}};
  for (const auto& [k, v] : shape.properties.items()) root["properties"][k] = v;
  if (!shape.required.empty()) root["required"] = shape.required;
  json doc{
      {"apiVersion", "apiextensions.k8s.io/v1"},
      {"kind", "CustomResourceDefinition"},
      {"metadata",
       {{"name", std::string(shape.plural) + "." + std::string(contract::group)},
        {"labels", {{"app.kubernetes.io/part-of", "harmony-fleet"}}}}},
      {"spec",
       {{"group", contract::group},
        {"scope", shape.scope},
        {"names",
         {{"kind", shape.kind},
          {"listKind", std::string(shape.kind) + "List"},
          {"plural", shape.plural},
          {"singular", shape.singular},
          {"shortNames", shape.short_names},
          {"categories", {"fleet", "harmony"}}}},
        {"versions",
         json::array({{{"name", contract::version},
                       {"served", true},
                       {"storage", true},
                       {"subresources", {{"status", json::object()}}},
                       {"additionalPrinterColumns", shape.columns},
                       {"schema", {{"openAPIV3Schema", root}}}}})}}}};
  return kube::object_from(std::move(doc));
}

}  // namespace

kube::Object fleet_deployment_crd() {
  CrdShape shape;
  shape.kind = contract::deployment_kind;
  shape.plural = contract::deployment_plural;
  shape.singular = "fleetdeployment";
  shape.scope = "Namespaced";
  shape.description =
      "A workload for the devices whose labels match: the fleet operator writes it into each matching device's "
      "desired state, and counts here what the devices report.";
  shape.short_names = {"fdeploy", "fdep"};
  shape.properties = {
      {"spec", schema_of<contract::FleetDeploymentSpec>("what runs where, and how changes roll out", {})},
      {"status", schema_of<contract::FleetDeploymentStatus>("what the devices report, counted by the operator", {})}};
  shape.required = {"spec"};
  shape.name_rule = {{"rule", "!self.metadata.name.contains('.')"},
                     {"fieldPath", ".metadata.name"},
                     {"message",
                      "metadata.name must not contain '.': it becomes one token of the fleet's KV keys "
                      "(<device>.<namespace>.<name>)"}};
  shape.columns = json::array({
      printer_column("Targeted", "integer", ".status.targeted", "devices the selector matches"),
      printer_column("Succeeded", "integer", ".status.succeeded", "devices that run the current revision"),
      printer_column("Failed", "integer", ".status.failed", "devices where it failed"),
      printer_column("Pending", "integer", ".status.pending", "devices not there yet (starting, offline)"),
      printer_column("Revision", "string", ".status.revision", "the workload's revision", 1),
      printer_column("Last Error", "string", ".status.lastError", "the latest failure a device reported", 1),
      printer_column("Age", "date", ".metadata.creationTimestamp", "since it was created"),
  });
  return crd(shape);
}

kube::Object fleet_device_crd() {
  CrdShape shape;
  shape.kind = contract::device_kind;
  shape.plural = contract::device_plural;
  shape.singular = "fleetdevice";
  shape.scope = "Cluster";
  shape.description =
      "A device of the fleet, named by its id: the operator copies what its agent reports (labels, version, "
      "deployments) here, when that changes.";
  shape.short_names = {"fdev"};
  shape.properties = {{"status", schema_of<contract::FleetDeviceStatus>("what the device's agent reports", {})}};
  shape.name_rule = {{"rule", "size(self.metadata.name) <= 63 && !self.metadata.name.contains('.')"},
                     {"fieldPath", ".metadata.name"},
                     {"message", "metadata.name is a device id: an RFC 1123 label of at most 63 characters, no '.'"}};
  shape.columns = json::array({
      printer_column("Connectivity", "string", ".status.connectivity", "Online while heartbeats arrive"),
      printer_column("Version", "string", ".status.version", "the agent's version"),
      printer_column("Last Seen", "date", ".status.lastSeen", "the heartbeat that last changed this status"),
      printer_column("Labels", "string", ".status.labels", "the agent's labels", 1),
      printer_column("Age", "date", ".metadata.creationTimestamp", "since the operator first saw it"),
  });
  return crd(shape);
}

std::string fleet_crds_yaml() {
  std::string out;
  for (const auto& object : fleet_crds()) out += "---\n" + detail::yaml_text(kube::json_of(object));
  return out;
}

}  // namespace harmony::fleet
