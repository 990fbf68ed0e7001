#include <harmony/fleet/contract.hpp>

#include <harmony/base/text.hpp>
#include <harmony/fleet/contract_json.hpp>

namespace harmony::fleet::contract {
namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool alnum(char c) { return lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

// [a-z0-9]([-a-z0-9]*[a-z0-9])? of at most `limit` bytes.
bool label_like(std::string_view s, std::size_t limit) {
  if (s.empty() || s.size() > limit || !lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
  for (char c : s)
    if (!lower_alnum(c) && c != '-') return false;
  return true;
}

// Kubernetes' label names and values: ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], at most 63.
bool qualified_part(std::string_view s) {
  if (s.empty() || s.size() > 63 || !alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s)
    if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

template <class T>
base::expected<T> decode_text(std::string_view text) {
  auto doc = json_codec::json::parse(text, nullptr, false);
  if (doc.is_discarded()) return base::fail(base::make_error("not JSON"));
  T out;
  if (auto ok = json_codec::from_json(doc, out); !ok) return base::fail(ok.error());
  return out;
}

}  // namespace

bool valid_deployment_name(std::string_view name) { return label_like(name, max_name_length); }

base::expected<void> validate_deployment_name(std::string_view name) {
  if (valid_deployment_name(name)) return {};
  if (name.empty()) return base::fail(base::make_error("a deployment's name is empty"));
  return base::fail(base::make_error(
      "'" + base::printable(name.substr(0, 80)) + "' is not a valid deployment name",
      "it becomes one token of the fleet's KV keys (<device>.<namespace>.<name>)",
      "use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 253 bytes (no '.', "
      "'*', '>' or spaces)"));
}

bool valid_device_name(std::string_view name) { return label_like(name, 63); }

bool valid_label_key(std::string_view key) {
  const auto slash = key.find('/');
  if (slash == std::string_view::npos) return qualified_part(key);
  const auto prefix = key.substr(0, slash);
  if (prefix.empty() || prefix.size() > 253) return false;
  for (char c : prefix)
    if (!lower_alnum(c) && c != '-' && c != '.') return false;
  return qualified_part(key.substr(slash + 1));
}

bool valid_label_value(std::string_view value) { return value.empty() || qualified_part(value); }

std::string key_string(const Key& key) { return key.device + "." + key.namespace_ + "." + key.name; }

std::optional<Key> parse_key(std::string_view key) {
  const auto first = key.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = key.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  Key out{std::string(key.substr(0, first)), std::string(key.substr(first + 1, second - first - 1)),
          std::string(key.substr(second + 1))};
  if (!valid_device_name(out.device) || !label_like(out.namespace_, 63) || !valid_deployment_name(out.name))
    return std::nullopt;
  return out;
}

std::string device_key_filter(std::string_view device) { return std::string(device) + ".>"; }
std::string key_subject(std::string_view bucket, std::string_view key) {
  return "$KV." + std::string(bucket) + "." + std::string(key);
}
std::string bucket_stream(std::string_view bucket) { return "KV_" + std::string(bucket); }

std::int64_t IntOrPercent::resolve(std::int64_t total) const {
  std::int64_t n = 0;
  if (const auto* whole = std::get_if<std::int64_t>(&value)) {
    n = *whole;
  } else {
    const auto& text = std::get<std::string>(value);
    n = total * std::stoll(text.substr(0, text.size() - 1)) / 100;
  }
  return std::max<std::int64_t>(n, 1);
}

bool valid_int_or_percent(const IntOrPercent& value) {
  if (const auto* whole = std::get_if<std::int64_t>(&value.value)) return *whole >= 0;
  const auto& text = std::get<std::string>(value.value);
  if (text.size() < 2 || text.size() > 4 || text.back() != '%') return false;
  for (std::size_t i = 0; i + 1 < text.size(); ++i)
    if (text[i] < '0' || text[i] > '9') return false;
  return std::stoi(text.substr(0, text.size() - 1)) <= 100;
}

bool absolute_path(std::string_view path) { return path.starts_with('/') && path.find('\0') == std::string_view::npos; }

bool env_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  for (char c : name)
    if (!alnum(c) && c != '_') return false;
  return true;
}

bool one_kind_of_workload(const Workload& workload) { return workload.process.has_value() != workload.container.has_value(); }

bool LabelSelector::matches(const Labels& labels) const {
  for (const auto& [k, v] : match_labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

std::string revision_of(const Workload& workload) { return base::fingerprint(json_codec::to_json(workload).dump()); }

std::string encode(const DesiredState& state) { return json_codec::to_json(state).dump(); }
std::string encode(const ReportedState& state) { return json_codec::to_json(state).dump(); }

base::expected<DesiredState> decode_desired_state(std::string_view text) {
  auto out = decode_text<DesiredState>(text);
  if (out && !valid_deployment_name(out->name))
    return base::fail(base::make_error("name: '" + base::printable(out->name.substr(0, 80)) + "' is not a deployment name"));
  return out;
}

base::expected<ReportedState> decode_reported_state(std::string_view text) { return decode_text<ReportedState>(text); }

}  // namespace harmony::fleet::contract
