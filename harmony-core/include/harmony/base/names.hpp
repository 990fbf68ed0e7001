#pragma once
// Validation of the names users and plugins choose. Each validator returns an
// Error that says which rule the name broke.

#include <string_view>

#include <harmony/base/expected.hpp>

namespace harmony::base {

// A word of a harmony command: lowercase ASCII letters, digits, '-' and '_',
// starting with a letter or a digit, at most 64 characters. This keeps '/',
// '.', spaces and control characters out of plugin file names by
// construction.
inline constexpr std::size_t max_command_word = 64;
bool is_command_word(std::string_view word);
expected<void> validate_command_word(std::string_view word);

// An RFC 1123 DNS label: 1-63 of [a-z0-9-], starting and ending alphanumeric.
// Device ids and Kubernetes object names use it.
bool is_dns_label(std::string_view name);
expected<void> validate_dns_label(std::string_view name, std::string_view what);

}  // namespace harmony::base
