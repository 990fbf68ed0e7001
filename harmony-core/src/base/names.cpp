#include <harmony/base/names.hpp>

namespace harmony::base {
namespace {
bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

std::string shown(std::string_view name) {
  constexpr std::size_t max_shown = 40;
  std::string out = printable(name.substr(0, max_shown));
  if (name.size() > max_shown) out += "...";
  return out;
}
}  // namespace

bool is_command_word(std::string_view word) {
  if (word.empty() || word.size() > max_command_word || !lower_alnum(word.front())) return false;
  for (char c : word)
    if (!lower_alnum(c) && c != '-' && c != '_') return false;
  return true;
}

expected<void> validate_command_word(std::string_view word) {
  if (is_command_word(word)) return {};
  std::string reason;
  if (word.empty())
    reason = "it is empty";
  else if (word.size() > max_command_word)
    reason = "it is longer than " + std::to_string(max_command_word) + " characters";
  else if (!lower_alnum(word.front()))
    reason = "it must start with a lowercase letter or a digit";
  else
    reason = "only lowercase letters, digits, '-' and '_' are allowed";
  return fail(usage_error("'" + shown(word) + "' is not a valid command name", reason));
}

bool is_dns_label(std::string_view name) {
  if (name.empty() || name.size() > 63 || !lower_alnum(name.front()) || !lower_alnum(name.back())) return false;
  for (char c : name)
    if (!lower_alnum(c) && c != '-') return false;
  return true;
}

expected<void> validate_dns_label(std::string_view name, std::string_view what) {
  if (is_dns_label(name)) return {};
  return fail(make_error("'" + shown(name) + "' is not a valid " + std::string(what),
                         "it must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit (RFC 1123)"));
}

}  // namespace harmony::base
