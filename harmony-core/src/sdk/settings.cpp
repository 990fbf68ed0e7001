#include <harmony/settings.hpp>

#include <algorithm>
#include <charconv>
#include <limits>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <harmony/base/suggest.hpp>
#include <harmony/base/time.hpp>

namespace harmony::settings {

using nlohmann::json;

struct Node::Impl {
  json value;
};

Node::Node() : impl_(std::make_unique<Impl>()) {}
Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() = default;
Node::Node(const Node& other) : impl_(std::make_unique<Impl>(*other.impl_)) {}
Node& Node::operator=(const Node& other) {
  if (this != &other) impl_ = std::make_unique<Impl>(*other.impl_);
  return *this;
}
Node::Node(Node&&) noexcept = default;
Node& Node::operator=(Node&&) noexcept = default;

bool Node::is_null() const { return impl_->value.is_null(); }
bool Node::is_scalar() const { return impl_->value.is_primitive() && !impl_->value.is_null(); }
bool Node::is_list() const { return impl_->value.is_array(); }
bool Node::is_map() const { return impl_->value.is_object(); }

std::string Node::scalar() const {
  const json& v = impl_->value;
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return {};
  return v.dump();
}

std::vector<std::string> Node::keys() const {
  std::vector<std::string> out;
  if (impl_->value.is_object())
    for (const auto& [key, value] : impl_->value.items()) out.push_back(key);
  return out;
}

Node Node::at(std::string_view key) const {
  auto impl = std::make_unique<Impl>();
  if (impl_->value.is_object()) {
    auto it = impl_->value.find(std::string(key));
    if (it != impl_->value.end()) impl->value = *it;
  }
  return Node(std::move(impl));
}

std::size_t Node::size() const { return impl_->value.is_array() ? impl_->value.size() : 0; }

Node Node::at(std::size_t index) const {
  auto impl = std::make_unique<Impl>();
  if (impl_->value.is_array() && index < impl_->value.size()) impl->value = impl_->value[index];
  return Node(std::move(impl));
}

Node Node::scalar_node(std::string text) {
  auto impl = std::make_unique<Impl>();
  impl->value = std::move(text);
  return Node(std::move(impl));
}

Node Node::list_node(const std::vector<Node>& items) {
  auto impl = std::make_unique<Impl>();
  impl->value = json::array();
  for (const auto& item : items) impl->value.push_back(item.impl_->value);
  return Node(std::move(impl));
}

Node Node::map_node() {
  auto impl = std::make_unique<Impl>();
  impl->value = json::object();
  return Node(std::move(impl));
}

void Node::set(std::string_view key, Node value) {
  if (!impl_->value.is_object()) impl_->value = json::object();
  impl_->value[std::string(key)] = std::move(value.impl_->value);
}

namespace {
void merge_into(json& target, const json& overlay) {
  if (!target.is_object() || !overlay.is_object()) {
    target = overlay;
    return;
  }
  for (const auto& [key, value] : overlay.items()) merge_into(target[key], value);
}
}  // namespace

void Node::merge(const Node& overlay) { merge_into(impl_->value, overlay.impl_->value); }

std::string Node::to_json() const { return impl_->value.dump(-1, ' ', false, json::error_handler_t::replace); }

base::expected<Node> Node::from_json(std::string_view text) {
  auto impl = std::make_unique<Impl>();
  impl->value = json::parse(text, nullptr, false);
  if (impl->value.is_discarded()) return base::fail(base::make_error("invalid settings record", "it is not valid JSON"));
  return Node(std::move(impl));
}

namespace {

json from_yaml_node(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Scalar: return node.Scalar();
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(from_yaml_node(item));
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& item : node) out[item.first.as<std::string>()] = from_yaml_node(item.second);
      return out;
    }
  }
  return nullptr;
}

}  // namespace

base::expected<Node> Node::from_yaml(std::string_view text, std::string_view source_name) {
  try {
    YAML::Node doc = YAML::Load(std::string(text));
    auto impl = std::make_unique<Impl>();
    impl->value = from_yaml_node(doc);
    if (!impl->value.is_null() && !impl->value.is_object())
      return base::fail(base::usage_error("'" + std::string(source_name) + "' is not a map of settings",
                                          "a values file maps component names to their settings",
                                          "for example:\n    nats:\n      port: 4222"));
    return Node(std::move(impl));
  } catch (const YAML::Exception& e) {
    base::Error err = base::usage_error("cannot read '" + std::string(source_name) + "'",
                                        "line " + std::to_string(e.mark.line + 1) + ", column " +
                                            std::to_string(e.mark.column + 1) + ": " + e.msg,
                                        "fix the YAML");
    err.status = base::exit_status::invalid_settings;
    return base::fail(std::move(err));
  }
}

// ---- --set -------------------------------------------------------------------

namespace {

base::Error bad_set(std::string_view assignment, std::string reason) {
  base::Error e = base::usage_error("invalid --set '" + base::printable(assignment) + "'", std::move(reason),
                                    "write --set component.key=value, e.g. --set nats.port=4222");
  e.status = base::exit_status::invalid_settings;
  return e;
}

// Splits on `separator` outside backslash escapes, unescaping.
std::vector<std::string> split_escaped(std::string_view text, char separator) {
  std::vector<std::string> out(1);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      out.back() += text[++i];
    } else if (text[i] == separator) {
      out.emplace_back();
    } else {
      out.back() += text[i];
    }
  }
  return out;
}

}  // namespace

base::expected<void> apply_set(Node& root, std::string_view assignment) {
  // The key ends at the first '=' that is not escaped.
  std::size_t eq = std::string_view::npos;
  for (std::size_t i = 0; i < assignment.size(); ++i) {
    if (assignment[i] == '\\') {
      ++i;
    } else if (assignment[i] == '=') {
      eq = i;
      break;
    }
  }
  if (eq == std::string_view::npos) return base::fail(bad_set(assignment, "it has no '='"));
  std::string_view key_text = assignment.substr(0, eq);
  std::string_view value_text = assignment.substr(eq + 1);
  if (key_text.empty()) return base::fail(bad_set(assignment, "the key is empty"));

  json value;
  if (value_text.size() >= 2 && value_text.front() == '{' && value_text.back() == '}') {
    value = json::array();
    std::string_view inner = value_text.substr(1, value_text.size() - 2);
    if (!inner.empty())
      for (auto& item : split_escaped(inner, ',')) value.push_back(item);
  } else {
    std::string unescaped;
    for (std::size_t i = 0; i < value_text.size(); ++i) {
      if (value_text[i] == '\\' && i + 1 < value_text.size() && (value_text[i + 1] == ',' || value_text[i + 1] == '\\'))
        ++i;
      unescaped += value_text[i];
    }
    value = unescaped;
  }

  json& tree = root.impl_->value;
  if (!tree.is_object()) tree = json::object();

  json* node = &tree;
  auto parts = split_escaped(key_text, '.');
  for (std::size_t p = 0; p < parts.size(); ++p) {
    std::string part = parts[p];
    std::optional<std::size_t> index;
    if (auto open = part.find('['); open != std::string::npos) {
      if (part.back() != ']') return base::fail(bad_set(assignment, "'" + part + "' has an unclosed '['"));
      std::string_view digits = std::string_view(part).substr(open + 1, part.size() - open - 2);
      std::size_t i = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), i);
      if (ec != std::errc{} || end != digits.data() + digits.size() || i > 10000)
        return base::fail(bad_set(assignment, "'" + part + "' needs a list index such as [0]"));
      index = i;
      part = part.substr(0, open);
    }
    if (part.empty()) return base::fail(bad_set(assignment, "the key has an empty part"));
    if (!node->is_object()) *node = json::object();
    node = &(*node)[part];
    if (index) {
      if (!node->is_array()) *node = json::array();
      while (node->size() <= *index) node->push_back(nullptr);
      node = &(*node)[*index];
    }
  }
  *node = std::move(value);
  return {};
}

// ---- per-type operations -------------------------------------------------------

namespace detail {

namespace {

std::optional<long long> parse_integer(const std::string& text) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

template <class I>
std::optional<std::string> load_integer(const Node& node, I& out, const Range* range, std::string_view what) {
  if (!node.is_scalar()) return "must be " + std::string(what);
  auto value = parse_integer(node.scalar());
  const long long min = range ? range->min : static_cast<long long>(std::numeric_limits<I>::min());
  const long long max = range ? range->max : static_cast<long long>(std::min<unsigned long long>(
                                                  std::numeric_limits<I>::max(), std::numeric_limits<long long>::max()));
  if (!value) return "'" + base::printable(node.scalar()) + "' is not " + std::string(what);
  if (*value < min || *value > max)
    return std::to_string(*value) + " is out of range (" + std::to_string(min) + " to " + std::to_string(max) + ")";
  out = static_cast<I>(*value);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> load(const Node& node, std::string& out, const Range*) {
  if (!node.is_scalar()) return "must be a text value";
  out = node.scalar();
  return std::nullopt;
}
std::string show(const std::string& value) { return value; }
Node dump(const std::string& value) { return Node::scalar_node(value); }
std::string_view type_name(const std::string*) { return "string"; }

std::optional<std::string> load(const Node& node, bool& out, const Range*) {
  static const std::vector<std::string> yes{"true", "yes", "on", "1"}, no{"false", "no", "off", "0"};
  if (node.is_scalar()) {
    std::string text = node.scalar();
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (std::find(yes.begin(), yes.end(), text) != yes.end()) {
      out = true;
      return std::nullopt;
    }
    if (std::find(no.begin(), no.end(), text) != no.end()) {
      out = false;
      return std::nullopt;
    }
  }
  return "'" + base::printable(node.scalar()) + "' is not true or false";
}
std::string show(const bool& value) { return value ? "true" : "false"; }
Node dump(const bool& value) { return Node::scalar_node(show(value)); }
std::string_view type_name(const bool*) { return "boolean"; }

std::optional<std::string> load(const Node& node, int& out, const Range* range) {
  return load_integer(node, out, range, "a whole number");
}
std::string show(const int& value) { return std::to_string(value); }
Node dump(const int& value) { return Node::scalar_node(show(value)); }
std::string_view type_name(const int*) { return "integer"; }

std::optional<std::string> load(const Node& node, long& out, const Range* range) {
  return load_integer(node, out, range, "a whole number");
}
std::string show(const long& value) { return std::to_string(value); }
Node dump(const long& value) { return Node::scalar_node(show(value)); }
std::string_view type_name(const long*) { return "integer"; }

std::optional<std::string> load(const Node& node, unsigned& out, const Range* range) {
  return load_integer(node, out, range, "a whole number, 0 or more");
}
std::string show(const unsigned& value) { return std::to_string(value); }
Node dump(const unsigned& value) { return Node::scalar_node(show(value)); }
std::string_view type_name(const unsigned*) { return "count"; }

std::optional<std::string> load(const Node& node, Port& out, const Range* range) {
  Range ports{1, 65535};
  std::uint16_t value = 0;
  if (auto problem = load_integer(node, value, range ? range : &ports, "a port number (1-65535)")) return problem;
  out.value = value;
  return std::nullopt;
}
std::string show(const Port& value) { return std::to_string(value.value); }
Node dump(const Port& value) { return Node::scalar_node(show(value)); }
std::string_view type_name(const Port*) { return "port"; }

std::optional<std::string> load(const Node& node, Secret& out, const Range*) {
  if (!node.is_scalar()) return "must be a text value";
  out.value = node.scalar();
  return std::nullopt;
}
std::string show(const Secret& value) { return value.empty() ? "" : "(secret)"; }
Node dump(const Secret& value) { return Node::scalar_node(value.value); }
std::string_view type_name(const Secret*) { return "secret"; }

std::optional<std::string> load(const Node& node, Duration& out, const Range*) {
  const std::string text = node.scalar();
  auto parsed = node.is_scalar() ? base::parse_duration(text) : std::nullopt;
  if (!parsed) return "'" + base::printable(text) + "' is not a duration such as 30s, 500ms, 2m or 1h";
  out.value = *parsed;
  return std::nullopt;
}
std::string show(const Duration& value) { return base::format_duration(value.value); }
Node dump(const Duration& value) { return Node::scalar_node(show(value)); }
std::string_view type_name(const Duration*) { return "duration"; }

std::optional<std::string> load(const Node& node, std::vector<std::string>& out, const Range*) {
  if (node.is_scalar()) {
    out = {node.scalar()};
    return std::nullopt;
  }
  if (!node.is_list()) return "must be a list (YAML sequence, or --set key={a,b})";
  std::vector<std::string> items;
  for (std::size_t i = 0; i < node.size(); ++i) {
    Node item = node.at(i);
    if (!item.is_scalar()) return "item " + std::to_string(i) + " must be a text value";
    items.push_back(item.scalar());
  }
  out = std::move(items);
  return std::nullopt;
}
std::string show(const std::vector<std::string>& value) {
  std::string out = "[";
  for (std::size_t i = 0; i < value.size(); ++i) out += (i ? ", " : "") + value[i];
  return out + "]";
}
Node dump(const std::vector<std::string>& value) {
  std::vector<Node> items;
  for (const auto& v : value) items.push_back(Node::scalar_node(v));
  return Node::list_node(items);
}
std::string_view type_name(const std::vector<std::string>*) { return "list of strings"; }

std::optional<std::string> load(const Node& node, StringMap& out, const Range*) {
  if (!node.is_map()) return "must be a map (key: value)";
  StringMap values;
  for (const auto& key : node.keys()) {
    Node item = node.at(key);
    if (!item.is_scalar()) return "the value of '" + key + "' must be a text value";
    values[key] = item.scalar();
  }
  out = std::move(values);
  return std::nullopt;
}
std::string show(const StringMap& value) {
  std::string out = "{";
  for (const auto& [k, v] : value) out += (out.size() > 1 ? ", " : "") + k + ": " + v;
  return out + "}";
}
Node dump(const StringMap& value) {
  Node out = Node::map_node();
  for (const auto& [k, v] : value) out.set(k, Node::scalar_node(v));
  return out;
}
std::string_view type_name(const StringMap*) { return "map of strings"; }

std::string join_key(std::string_view prefix, std::string_view key) {
  if (prefix.empty()) return std::string(key);
  return std::string(prefix) + "." + std::string(key);
}

std::vector<std::string> unknown_keys(const Node& node, const std::vector<std::string>& known) {
  std::vector<std::string> out;
  for (const auto& key : node.keys())
    if (std::find(known.begin(), known.end(), key) == known.end()) out.push_back(key);
  return out;
}

std::string suggestion(std::string_view unknown, const std::vector<std::string>& known) {
  auto close = base::suggest(unknown, known, 1);
  return close.empty() ? std::string() : "; did you mean '" + close.front() + "'?";
}

}  // namespace detail

Node to_node(const std::vector<Field>& fields, std::string_view prefix) {
  Node root = Node::map_node();
  for (const auto& f : fields) {
    std::string_view key = f.key;
    if (!prefix.empty() && key.starts_with(prefix) && key.size() > prefix.size() && key[prefix.size()] == '.')
      key.remove_prefix(prefix.size() + 1);
    // Rebuild nesting from the dotted key.
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
      auto dot = key.find('.', start);
      parts.emplace_back(key.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    std::function<void(Node&, std::size_t)> place = [&](Node& node, std::size_t i) {
      if (i + 1 == parts.size()) {
        node.set(parts[i], f.raw);
        return;
      }
      Node child = node.at(parts[i]);
      if (!child.is_map()) child = Node::map_node();
      place(child, i + 1);
      node.set(parts[i], std::move(child));
    };
    place(root, 0);
  }
  return root;
}

std::vector<Change> diff(const std::vector<Field>& before, const std::vector<Field>& after) {
  std::vector<Change> out;
  for (const auto& a : after) {
    auto b = std::find_if(before.begin(), before.end(), [&](const Field& f) { return f.key == a.key; });
    if (b == before.end()) {
      out.push_back({a.key, "", a.value});
      continue;
    }
    if (b->raw.to_json() == a.raw.to_json()) continue;
    if (a.secret)
      out.push_back({a.key, b->value.empty() ? "" : "(secret)", a.value.empty() ? "" : "(secret, changed)"});
    else
      out.push_back({a.key, b->value, a.value});
  }
  for (const auto& b : before)
    if (std::none_of(after.begin(), after.end(), [&](const Field& f) { return f.key == b.key; }))
      out.push_back({b.key, b.value, ""});
  return out;
}

}  // namespace harmony::settings
