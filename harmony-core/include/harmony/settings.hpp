#pragma once
// Typed settings, filled from the command line the way helm users expect:
// `-f values.yaml` (repeatable; later files win) then `--set key=value`
// (repeatable; later wins). Keys are <component>.<field>[.<field>...].
//
// A Score's Settings struct lists its fields once, in `describe`:
//
//   struct Settings {
//     harmony::Port port{8080};
//     std::string greeting = "hello";
//     harmony::Secret token;
//     int replicas = 1;
//     std::map<std::string, std::string> labels;
//     template <class V> void describe(V& v) {
//       v("port", port, "the HTTP port");
//       v("greeting", greeting, "what / answers");
//       v("token", token, "the API token");
//       v("replicas", replicas, "how many copies", harmony::range(1, 16));
//       v("labels", labels, "labels for the process");
//     }
//   };
//
// From that one list harmony loads and validates values (errors name the
// key), prints them for plan with secrets redacted, records them with a
// deploy, documents them, and completes `--set` keys.
//
// Field types: std::string, bool, int, long, unsigned, Port, Secret, Duration,
// std::vector<std::string>, std::map<std::string, std::string>, enums through
// harmony::choice, and nested structs that have their own `describe`.
//
// Rules that involve several fields go in an optional `check`, run once every
// field loaded; each problem's key is relative to the component:
//
//     std::vector<harmony::settings::Problem> check() const {
//       if (!ids.empty() && count != 1 && count != int(ids.size()))
//         return {{"count", "is " + std::to_string(count) + " but ids lists " + ...}};
//       return {};
//     }

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <harmony/base/expected.hpp>

namespace harmony {

struct Port {
  std::uint16_t value = 0;
  friend bool operator==(const Port&, const Port&) = default;
};

// Never printed by plan, deploy, status or logs.
struct Secret {
  std::string value;
  [[nodiscard]] bool empty() const { return value.empty(); }
  friend bool operator==(const Secret&, const Secret&) = default;
};

// "30s", "500ms", "2m", "1h"; a bare number is seconds.
struct Duration {
  std::chrono::milliseconds value{0};
  friend bool operator==(const Duration&, const Duration&) = default;
};

struct Range {
  long long min;
  long long max;
};
constexpr Range range(long long min, long long max) { return {min, max}; }

template <class E>
struct Choice {
  std::vector<std::pair<std::string, E>> options;
};
template <class E>
Choice<E> choice(std::initializer_list<std::pair<std::string, E>> options) {
  return {std::vector<std::pair<std::string, E>>(options)};
}

namespace settings {

class Node;
base::expected<void> apply_set(Node& root, std::string_view assignment);

// A settings tree, with the JSON data model. Opaque so that plugin code does
// not compile a JSON library.
class Node {
 public:
  Node();
  ~Node();
  Node(const Node& other);
  Node& operator=(const Node& other);
  Node(Node&&) noexcept;
  Node& operator=(Node&&) noexcept;

  [[nodiscard]] bool is_null() const;
  [[nodiscard]] bool is_scalar() const;
  [[nodiscard]] bool is_list() const;
  [[nodiscard]] bool is_map() const;
  [[nodiscard]] std::string scalar() const;        // numbers and booleans as written
  [[nodiscard]] std::vector<std::string> keys() const;
  [[nodiscard]] Node at(std::string_view key) const;  // a null Node when absent
  [[nodiscard]] std::size_t size() const;              // of a list
  [[nodiscard]] Node at(std::size_t index) const;

  static Node scalar_node(std::string text);
  static Node list_node(const std::vector<Node>& items);
  static Node map_node();
  void set(std::string_view key, Node value);  // on a map (a null Node becomes one)

  // Deep merge: maps merge key by key, anything else is replaced.
  void merge(const Node& overlay);

  [[nodiscard]] std::string to_json() const;
  static base::expected<Node> from_json(std::string_view text);
  // YAML (a values file): errors give the line and column.
  static base::expected<Node> from_yaml(std::string_view text, std::string_view source_name);

  struct Impl;

 private:
  friend base::expected<void> apply_set(Node& root, std::string_view assignment);
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Applies one `--set` assignment: `a.b=c`, `a.list={x,y}`, `a.list[1]=x`;
// `\.` and `\,` escape dots in keys and commas in lists.
base::expected<void> apply_set(Node& root, std::string_view assignment);

// One key's problem, for a list of them.
struct Problem {
  std::string key;
  std::string message;
};

// What the describers produce for one field.
struct Field {
  std::string key;          // full dotted key
  std::string type;         // "port", "string", "list of strings", ...
  std::string help;
  std::string value;        // printable; "(secret)" for secrets
  bool secret = false;
  Node raw;                 // as recorded (secrets included)
};

namespace detail {

// Per-type operations (settings.cpp).
#define HARMONY_SETTINGS_TYPE(T)                                                  \
  std::optional<std::string> load(const Node& node, T& out, const Range* range); \
  std::string show(const T& value);                                             \
  Node dump(const T& value);                                                    \
  std::string_view type_name(const T*);
HARMONY_SETTINGS_TYPE(std::string)
HARMONY_SETTINGS_TYPE(bool)
HARMONY_SETTINGS_TYPE(int)
HARMONY_SETTINGS_TYPE(long)
HARMONY_SETTINGS_TYPE(unsigned)
HARMONY_SETTINGS_TYPE(Port)
HARMONY_SETTINGS_TYPE(Secret)
HARMONY_SETTINGS_TYPE(Duration)
HARMONY_SETTINGS_TYPE(std::vector<std::string>)
using StringMap = std::map<std::string, std::string>;
HARMONY_SETTINGS_TYPE(StringMap)
#undef HARMONY_SETTINGS_TYPE

template <class T>
concept Nested = requires(T& t, int& visitor) { t.template describe<int>(visitor); };

}  // namespace detail

// Settings with a `check` for rules across fields.
template <class S>
concept Checked = requires(const S& s) {
  { s.check() } -> std::same_as<std::vector<Problem>>;
};

namespace detail {

std::string join_key(std::string_view prefix, std::string_view key);
std::vector<std::string> unknown_keys(const Node& node, const std::vector<std::string>& known);
std::string suggestion(std::string_view unknown, const std::vector<std::string>& known);

// Reads values from a node into a settings struct, collecting problems.
class Loader {
 public:
  Loader(const Node& node, std::string prefix, std::vector<Problem>& problems)
      : node_(node), prefix_(std::move(prefix)), problems_(problems) {}

  template <class V>
  void operator()(std::string_view key, V& value, std::string_view /*help*/) {
    field(key, value, nullptr);
  }
  template <class V>
  void operator()(std::string_view key, V& value, std::string_view /*help*/, Range range) {
    field(key, value, &range);
  }
  template <class E>
  void operator()(std::string_view key, E& value, std::string_view /*help*/, const Choice<E>& choice) {
    known_.emplace_back(key);
    Node child = node_.at(key);
    if (child.is_null()) return;
    const std::string path = join_key(prefix_, key);
    if (!child.is_scalar()) {
      problems_.push_back({path, "must be one of " + names(choice)});
      return;
    }
    for (const auto& [name, option] : choice.options)
      if (name == child.scalar()) {
        value = option;
        return;
      }
    problems_.push_back({path, "'" + child.scalar() + "' is not one of " + names(choice)});
  }

  // Unknown keys under this node become problems.
  void finish() {
    for (const auto& key : unknown_keys(node_, known_))
      problems_.push_back({join_key(prefix_, key), "unknown setting" + suggestion(key, known_)});
  }

 private:
  template <class V>
  void field(std::string_view key, V& value, const Range* range) {
    known_.emplace_back(key);
    Node child = node_.at(key);
    if (child.is_null()) return;
    const std::string path = join_key(prefix_, key);
    if constexpr (Nested<V>) {
      if (!child.is_map()) {
        problems_.push_back({path, "must be a group of settings (key: value)"});
        return;
      }
      Loader inner(child, path, problems_);
      value.describe(inner);
      inner.finish();
    } else if (auto problem = load(child, value, range)) {
      problems_.push_back({path, *problem});
    }
  }
  template <class E>
  static std::string names(const Choice<E>& choice) {
    std::string out;
    for (const auto& [name, option] : choice.options) out += (out.empty() ? "" : ", ") + name;
    return out;
  }

  const Node& node_;
  std::string prefix_;
  std::vector<Problem>& problems_;
  std::vector<std::string> known_;
};

// Lists the fields with their values: for plan, status and recording.
class Describer {
 public:
  explicit Describer(std::string prefix) : prefix_(std::move(prefix)) {}

  template <class V>
  void operator()(std::string_view key, V& value, std::string_view help) {
    field(key, value, help);
  }
  template <class V>
  void operator()(std::string_view key, V& value, std::string_view help, Range) {
    field(key, value, help);
  }
  template <class E>
  void operator()(std::string_view key, E& value, std::string_view help, const Choice<E>& choice) {
    std::string name;
    std::string all;
    for (const auto& [option_name, option] : choice.options) {
      if (option == value) name = option_name;
      all += (all.empty() ? "" : "|") + option_name;
    }
    fields.push_back({join_key(prefix_, key), "one of " + all, std::string(help), name, false, Node::scalar_node(name)});
  }

  std::vector<Field> fields;

 private:
  template <class V>
  void field(std::string_view key, V& value, std::string_view help) {
    const std::string path = join_key(prefix_, key);
    if constexpr (Nested<V>) {
      Describer inner(path);
      value.describe(inner);
      fields.insert(fields.end(), inner.fields.begin(), inner.fields.end());
    } else {
      const bool secret = std::is_same_v<V, Secret>;
      fields.push_back({path, std::string(type_name(&value)), std::string(help), show(value), secret, dump(value)});
    }
  }
  std::string prefix_;
};

}  // namespace detail

// Fills `settings` (starting from its defaults) from `node`, the subtree for
// one component named `prefix`. Returns every problem found, each naming its
// full key.
template <class S>
std::vector<Problem> load(const Node& node, std::string_view prefix, S& settings) {
  std::vector<Problem> problems;
  if (node.is_null()) return problems;
  if (!node.is_map()) {
    problems.push_back({std::string(prefix), "must be a group of settings (key: value)"});
    return problems;
  }
  detail::Loader loader(node, std::string(prefix), problems);
  settings.describe(loader);
  loader.finish();
  return problems;
}

template <class S>
std::vector<Field> fields(const S& settings, std::string_view prefix) {
  S copy = settings;  // describe() is not const: it also serves loading
  detail::Describer describer{std::string(prefix)};
  copy.describe(describer);
  return std::move(describer.fields);
}

// The settings as a tree (for recording a deploy); secrets included.
Node to_node(const std::vector<Field>& fields, std::string_view prefix);

// What changed between two deploys' fields, for plan. Secrets show as
// "(secret)" / "(secret, changed)", never their value.
struct Change {
  std::string key;
  std::string before;  // empty: not set before
  std::string after;
};
std::vector<Change> diff(const std::vector<Field>& before, const std::vector<Field>& after);

}  // namespace settings
}  // namespace harmony
