#pragma once
// A Kubernetes object as the API server sends and takes it: a JSON document,
// held opaquely so that headers stay free of a JSON library (compile times of
// every plugin; ADR 0023). Reading is by JSON pointer ("/status/phase");
// building typed manifests is the job of the typed kinds (later), which
// produce Objects.
//
// Lean runtimes that want the whole document (the fleet operator) include
// <harmony/kube/json.hpp>, which exposes it as nlohmann::json.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <harmony/base/expected.hpp>

namespace harmony::kube {

class Object {
 public:
  Object();  // {}
  ~Object();
  Object(const Object& other);
  Object(Object&& other) noexcept;
  Object& operator=(const Object& other);
  Object& operator=(Object&& other) noexcept;

  // A JSON object (a manifest, a server's answer). Not an object: an error.
  static base::expected<Object> parse(std::string_view json);

  [[nodiscard]] std::string api_version() const;
  [[nodiscard]] std::string kind() const;
  [[nodiscard]] std::string name() const;
  [[nodiscard]] std::string namespace_() const;
  [[nodiscard]] std::string uid() const;
  [[nodiscard]] std::string resource_version() const;
  [[nodiscard]] std::int64_t generation() const;  // 0 when absent

  [[nodiscard]] bool has(std::string_view pointer) const;
  [[nodiscard]] std::optional<std::string> string_at(std::string_view pointer) const;
  [[nodiscard]] std::optional<std::int64_t> int_at(std::string_view pointer) const;
  [[nodiscard]] std::optional<bool> bool_at(std::string_view pointer) const;
  // The elements of the array at `pointer` (empty when there is none).
  [[nodiscard]] std::vector<Object> items_at(std::string_view pointer) const;
  // The strings of the array at `pointer` (empty when there is none).
  [[nodiscard]] std::vector<std::string> string_list_at(std::string_view pointer) const;
  // The keys and string values of the map at `pointer` (labels, data).
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> strings_at(std::string_view pointer) const;

  void set_string(std::string_view pointer, std::string_view value);
  void set_int(std::string_view pointer, std::int64_t value);
  // Sets the value at `pointer` to another object (or array element).
  void set_object(std::string_view pointer, const Object& value);
  void erase(std::string_view pointer);

  [[nodiscard]] std::string to_json() const;         // compact
  [[nodiscard]] std::string to_pretty_json() const;  // indented, for people

  struct Impl;
  [[nodiscard]] const Impl& impl() const { return *impl_; }
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// A condition from status.conditions, if the object has it.
struct Condition {
  std::string type, status, reason, message;
  std::int64_t observed_generation = 0;
};
std::optional<Condition> condition(const Object& object, std::string_view type);

}  // namespace harmony::kube
