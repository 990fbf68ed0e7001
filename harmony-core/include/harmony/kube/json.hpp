#pragma once
// Opt-in: an Object's document as nlohmann::json, for code that needs all of
// it (the fleet operator's reconcilers). Including this pulls in nlohmann's
// header; the SDK's public headers never do (ARCHITECTURE.md).

#include <nlohmann/json.hpp>

#include <harmony/kube/object.hpp>

namespace harmony::kube {

struct Object::Impl {
  nlohmann::json doc = nlohmann::json::object();
};

inline const nlohmann::json& json_of(const Object& object) { return object.impl().doc; }
inline nlohmann::json& json_of(Object& object) { return object.impl().doc; }
inline Object object_from(nlohmann::json doc) {
  Object o;
  o.impl().doc = std::move(doc);
  return o;
}

}  // namespace harmony::kube
