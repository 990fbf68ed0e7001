#pragma once
// Small text helpers every program's output uses.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harmony::base {

// "a\nb\n" -> {"a", "b"}; a last line without a newline counts.
std::vector<std::string> split_lines(std::string_view text);

std::string join(const std::vector<std::string>& items, std::string_view separator);

// "a,,b," -> {"a", "b"}: the non-empty parts between separators (lists in
// environment variables).
std::vector<std::string> split_list(std::string_view text, char separator);

// Columns padded to the widest cell plus two spaces; trailing spaces dropped;
// one line per row.
std::string format_table(const std::vector<std::vector<std::string>>& rows);

// Standard base64 (RFC 4648, with padding), as Kubernetes Secrets and
// kubeconfig *-data fields carry binary values. Decoding skips ASCII
// whitespace (wrapped PEM bundles) and refuses anything else that is not
// base64; nullopt then.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// 16 hex digits that change when `data` does (FNV-1a, 64 bits): for noticing
// a change, never for security.
std::string fingerprint(std::string_view data);

// A word as a POSIX shell reads it back: unchanged when it is safe bare,
// else in single quotes. For commands printed as next steps.
// RFC 3986 percent-encoding of everything but unreserved characters: a URL's
// query value, or a form field's (application/x-www-form-urlencoded).
std::string percent_encode(std::string_view text);
std::string shell_quote(std::string_view word);

}  // namespace harmony::base
