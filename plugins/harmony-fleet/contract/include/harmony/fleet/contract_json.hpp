#pragma once
// The contract's types to and from nlohmann JSON, driven by their
// `describe`. Opt-in (it includes nlohmann): the codec and the operator use
// it; contract.hpp's string codec is what everything else needs.
//
// Encoding leaves out what is empty (strings, lists, maps, absent optionals)
// as Kubernetes' omitempty does; decoding enforces every Rule and Invariant
// and names the field at fault.

#include <concepts>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include <harmony/fleet/contract.hpp>

namespace harmony::fleet::contract::json_codec {

using nlohmann::json;

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

// Any visitor will do to ask whether a type describes itself.
struct Probe {
  template <class F>
  void operator()(std::string_view, F&, std::string_view, Rule = {}) {}
  template <class T>
  void invariant(const Invariant<T>&) {}
};
template <class T>
concept Described = requires(T& value, Probe& probe) { value.describe(probe); };

template <class E>
std::string_view name_of(E value) {
  for (const auto& [v, n] : Names<E>::table)
    if (v == value) return n;
  return {};
}

template <class T>
json to_json(const T& value);

class Encoder {
 public:
  json out = json::object();

  template <class F>
  void operator()(std::string_view name, const F& value, std::string_view, Rule = {}) {
    if constexpr (is_optional<F>::value) {
      if (!value) return;
      out[std::string(name)] = to_json(*value);
    } else {
      if constexpr (requires { value.empty(); })
        if (value.empty()) return;
      out[std::string(name)] = to_json(value);
    }
  }
  template <class T>
  void invariant(const Invariant<T>&) {}
};

template <class T>
json to_json(const T& value) {
  if constexpr (Described<T>) {
    Encoder encoder;
    // describe() hands out references to the members it names; the encoder
    // only reads them.
    const_cast<T&>(value).describe(encoder);
    return std::move(encoder.out);
  } else if constexpr (std::is_enum_v<T>) {
    return std::string(name_of(value));
  } else if constexpr (std::same_as<T, IntOrPercent>) {
    if (const auto* n = std::get_if<std::int64_t>(&value.value)) return *n;
    return std::get<std::string>(value.value);
  } else if constexpr (is_vector<T>::value) {
    json out = json::array();
    for (const auto& item : value) out.push_back(to_json(item));
    return out;
  } else {
    return json(value);  // strings, numbers, booleans, string maps
  }
}

// Decodes into `out`; the first problem found, with its field's path.
template <class T>
base::expected<void> from_json(const json& in, T& out, const std::string& path = {});

namespace detail {

inline base::unexpected<base::Error> bad(const std::string& path, std::string what) {
  return base::fail(base::make_error((path.empty() ? std::string("the object") : path) + ": " + what));
}

template <class T>
base::expected<void> decode_value(const json& in, T& out, const std::string& path, const Rule& rule) {
  if constexpr (Described<T>) {
    return from_json(in, out, path);
  } else if constexpr (std::same_as<T, std::string>) {
    if (!in.is_string()) return bad(path, "must be a string");
    out = in.get<std::string>();
    if (rule.required && out.empty()) return bad(path, "must not be empty");
    if (rule.max_length && static_cast<std::int64_t>(out.size()) > *rule.max_length)
      return bad(path, "is longer than " + std::to_string(*rule.max_length) + " bytes");
    if (rule.check && !out.empty() && !rule.check(out))
      return bad(path, "'" + out.substr(0, 80) + "' does not match " + std::string(rule.pattern));
    return {};
  } else if constexpr (std::same_as<T, bool>) {
    if (!in.is_boolean()) return bad(path, "must be true or false");
    out = in.get<bool>();
    return {};
  } else if constexpr (std::is_integral_v<T>) {
    if (!in.is_number_integer()) return bad(path, "must be a whole number");
    const auto n = in.get<std::int64_t>();
    if (rule.minimum && n < *rule.minimum) return bad(path, "must be at least " + std::to_string(*rule.minimum));
    if (rule.maximum && n > *rule.maximum) return bad(path, "must be at most " + std::to_string(*rule.maximum));
    out = static_cast<T>(n);
    return {};
  } else if constexpr (std::is_enum_v<T>) {
    std::string choices;
    if (in.is_string())
      for (const auto& [v, n] : Names<T>::table)
        if (n == in.get<std::string>()) {
          out = v;
          return {};
        }
    for (const auto& [v, n] : Names<T>::table) choices += (choices.empty() ? "" : ", ") + std::string(n);
    return bad(path, "must be one of " + choices);
  } else if constexpr (std::same_as<T, IntOrPercent>) {
    if (in.is_number_integer()) out.value = in.get<std::int64_t>();
    else if (in.is_string()) out.value = in.get<std::string>();
    else return bad(path, "must be a whole number or a percentage");
    if (!valid_int_or_percent(out)) return bad(path, "must be a whole number >= 0 or a percentage such as 25%");
    return {};
  } else if constexpr (is_vector<T>::value) {
    if (!in.is_array()) return bad(path, "must be a list");
    if (rule.max_items && static_cast<std::int64_t>(in.size()) > *rule.max_items)
      return bad(path, "has more than " + std::to_string(*rule.max_items) + " items");
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
      typename T::value_type item{};
      if (auto ok = decode_value(in[i], item, path + "[" + std::to_string(i) + "]", Rule{}); !ok) return ok;
      out.push_back(std::move(item));
    }
    return {};
  } else if constexpr (std::same_as<T, Labels>) {
    if (!in.is_object()) return bad(path, "must be a map of strings");
    if (rule.max_items && static_cast<std::int64_t>(in.size()) > *rule.max_items)
      return bad(path, "has more than " + std::to_string(*rule.max_items) + " entries");
    out.clear();
    for (const auto& [k, v] : in.items()) {
      if (rule.check && !rule.check(k))
        return bad(path, "the key '" + k.substr(0, 80) + "' does not match " + std::string(rule.pattern));
      if (!v.is_string()) return bad(path + "." + k, "must be a string");
      out[k] = v.template get<std::string>();
    }
    return {};
  } else {
    static_assert(sizeof(T) == 0, "the contract's codec does not know this field type");
  }
}

template <class T>
class Decoder {
 public:
  Decoder(const json& in, T& object, std::string path) : in_(in), object_(object), path_(std::move(path)) {}
  base::expected<void> result = {};

  template <class F>
  void operator()(std::string_view name, F& value, std::string_view, Rule rule = {}) {
    if (!result) return;
    const std::string path = path_.empty() ? std::string(name) : path_ + "." + std::string(name);
    auto it = in_.find(std::string(name));
    if (it == in_.end() || it->is_null()) {
      if (rule.required) result = bad(path, "is required");
      return;
    }
    if constexpr (is_optional<F>::value) {
      value.emplace();
      result = decode_value(*it, *value, path, rule);
    } else {
      result = decode_value(*it, value, path, rule);
    }
  }
  // Invariants come last in describe(): the fields are decoded by then.
  template <class U>
  void invariant(const Invariant<U>& rule) {
    if constexpr (std::same_as<U, T>)
      if (result && !rule.holds(object_)) result = bad(path_, std::string(rule.message));
  }

 private:
  const json& in_;
  T& object_;
  std::string path_;
};

}  // namespace detail

template <class T>
base::expected<void> from_json(const json& in, T& out, const std::string& path) {
  if (!in.is_object()) return detail::bad(path, "must be an object");
  detail::Decoder<T> decoder(in, out, path);
  out.describe(decoder);
  return decoder.result;
}

}  // namespace harmony::fleet::contract::json_codec
