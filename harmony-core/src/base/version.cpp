#include <harmony/base/version.hpp>

#include <charconv>
#include <vector>

namespace harmony::base {
namespace {

std::optional<std::uint64_t> number(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text.front() == '0')) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string_view> split_dots(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    auto dot = text.find('.', start);
    out.push_back(text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

bool identifier_ok(std::string_view id) {
  if (id.empty()) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')) return false;
  return true;
}

bool all_digits(std::string_view id) {
  for (char c : id)
    if (c < '0' || c > '9') return false;
  return !id.empty();
}

}  // namespace

std::optional<Version> Version::parse(std::string_view text) {
  if (auto plus = text.find('+'); plus != std::string_view::npos) {
    for (auto id : split_dots(text.substr(plus + 1)))
      if (!identifier_ok(id)) return std::nullopt;
    text = text.substr(0, plus);
  }
  Version v;
  if (auto dash = text.find('-'); dash != std::string_view::npos) {
    v.prerelease = std::string(text.substr(dash + 1));
    for (auto id : split_dots(v.prerelease))
      if (!identifier_ok(id) || (all_digits(id) && id.size() > 1 && id.front() == '0')) return std::nullopt;
    text = text.substr(0, dash);
  }
  auto parts = split_dots(text);
  if (parts.size() != 3) return std::nullopt;
  auto major = number(parts[0]), minor = number(parts[1]), patch = number(parts[2]);
  if (!major || !minor || !patch) return std::nullopt;
  v.major = *major;
  v.minor = *minor;
  v.patch = *patch;
  return v;
}

std::string Version::str() const {
  std::string out = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  if (!prerelease.empty()) out += "-" + prerelease;
  return out;
}

std::strong_ordering operator<=>(const Version& a, const Version& b) {
  if (auto c = a.major <=> b.major; c != 0) return c;
  if (auto c = a.minor <=> b.minor; c != 0) return c;
  if (auto c = a.patch <=> b.patch; c != 0) return c;
  if (a.prerelease.empty() || b.prerelease.empty()) return a.prerelease.empty() <=> b.prerelease.empty();
  auto x = split_dots(a.prerelease), y = split_dots(b.prerelease);
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
    bool xn = all_digits(x[i]), yn = all_digits(y[i]);
    if (xn && yn) {
      if (x[i].size() != y[i].size()) return x[i].size() <=> y[i].size();
      if (auto c = x[i].compare(y[i]); c != 0) return c <=> 0;
    } else if (xn != yn) {
      return xn ? std::strong_ordering::less : std::strong_ordering::greater;
    } else if (auto c = x[i].compare(y[i]); c != 0) {
      return c <=> 0;
    }
  }
  return x.size() <=> y.size();
}

}  // namespace harmony::base
