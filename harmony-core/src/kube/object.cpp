#include <harmony/kube/json.hpp>

namespace harmony::kube {
namespace {

using nlohmann::json;

const json* find(const json& doc, std::string_view pointer) {
  try {
    const json::json_pointer p{std::string(pointer)};
    if (!doc.contains(p)) return nullptr;
    return &doc.at(p);
  } catch (const json::exception&) {
    return nullptr;  // a malformed pointer finds nothing
  }
}

std::string string_or_empty(const json& doc, std::string_view pointer) {
  const json* v = find(doc, pointer);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

}  // namespace

Object::Object() : impl_(std::make_unique<Impl>()) {}
Object::~Object() = default;
Object::Object(const Object& other) : impl_(std::make_unique<Impl>(*other.impl_)) {}
Object::Object(Object&& other) noexcept : impl_(std::move(other.impl_)) {}
Object& Object::operator=(const Object& other) {
  if (this != &other) impl_ = std::make_unique<Impl>(*other.impl_);
  return *this;
}
Object& Object::operator=(Object&& other) noexcept {
  impl_ = std::move(other.impl_);
  return *this;
}

base::expected<Object> Object::parse(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return base::fail(base::make_error("the API server's answer is not JSON"));
  if (!doc.is_object()) return base::fail(base::make_error("the API server's answer is not a JSON object"));
  return object_from(std::move(doc));
}

std::string Object::api_version() const { return string_or_empty(impl_->doc, "/apiVersion"); }
std::string Object::kind() const { return string_or_empty(impl_->doc, "/kind"); }
std::string Object::name() const { return string_or_empty(impl_->doc, "/metadata/name"); }
std::string Object::namespace_() const { return string_or_empty(impl_->doc, "/metadata/namespace"); }
std::string Object::uid() const { return string_or_empty(impl_->doc, "/metadata/uid"); }
std::string Object::resource_version() const { return string_or_empty(impl_->doc, "/metadata/resourceVersion"); }
std::int64_t Object::generation() const { return int_at("/metadata/generation").value_or(0); }

bool Object::has(std::string_view pointer) const { return find(impl_->doc, pointer) != nullptr; }

std::optional<std::string> Object::string_at(std::string_view pointer) const {
  const json* v = find(impl_->doc, pointer);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

std::optional<std::int64_t> Object::int_at(std::string_view pointer) const {
  const json* v = find(impl_->doc, pointer);
  if (v == nullptr || !v->is_number_integer()) return std::nullopt;
  return v->get<std::int64_t>();
}

std::optional<bool> Object::bool_at(std::string_view pointer) const {
  const json* v = find(impl_->doc, pointer);
  if (v == nullptr || !v->is_boolean()) return std::nullopt;
  return v->get<bool>();
}

std::vector<Object> Object::items_at(std::string_view pointer) const {
  std::vector<Object> out;
  const json* v = find(impl_->doc, pointer);
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& item : *v) out.push_back(object_from(item));
  return out;
}

std::vector<std::string> Object::string_list_at(std::string_view pointer) const {
  std::vector<std::string> out;
  const json* v = find(impl_->doc, pointer);
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& item : *v)
    if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

std::vector<std::pair<std::string, std::string>> Object::strings_at(std::string_view pointer) const {
  std::vector<std::pair<std::string, std::string>> out;
  const json* v = find(impl_->doc, pointer);
  if (v == nullptr || !v->is_object()) return out;
  for (const auto& [key, value] : v->items()) {
    if (value.is_string()) out.emplace_back(key, value.get<std::string>());
  }
  return out;
}

void Object::set_string(std::string_view pointer, std::string_view value) {
  impl_->doc[json::json_pointer(std::string(pointer))] = std::string(value);
}
void Object::set_int(std::string_view pointer, std::int64_t value) {
  impl_->doc[json::json_pointer(std::string(pointer))] = value;
}
void Object::set_object(std::string_view pointer, const Object& value) {
  impl_->doc[json::json_pointer(std::string(pointer))] = value.impl_->doc;
}
void Object::erase(std::string_view pointer) {
  const json::json_pointer p{std::string(pointer)};
  if (p.empty() || !impl_->doc.contains(p)) return;
  json& parent = impl_->doc.at(p.parent_pointer());
  if (parent.is_object()) parent.erase(p.back());
  else if (parent.is_array()) parent.erase(std::stoul(p.back()));
}

std::string Object::to_json() const { return impl_->doc.dump(-1, ' ', false, json::error_handler_t::replace); }
std::string Object::to_pretty_json() const { return impl_->doc.dump(2, ' ', false, json::error_handler_t::replace); }

std::optional<Condition> condition(const Object& object, std::string_view type) {
  for (const Object& c : object.items_at("/status/conditions")) {
    if (c.string_at("/type") != type) continue;
    Condition out;
    out.type = std::string(type);
    out.status = c.string_at("/status").value_or("");
    out.reason = c.string_at("/reason").value_or("");
    out.message = c.string_at("/message").value_or("");
    out.observed_generation = c.int_at("/observedGeneration").value_or(0);
    return out;
  }
  return std::nullopt;
}

}  // namespace harmony::kube
