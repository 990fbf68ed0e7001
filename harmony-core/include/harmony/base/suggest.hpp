#pragma once
// "Did you mean ...?" for unknown names.

#include <string>
#include <string_view>
#include <vector>

namespace harmony::base {

// Optimal-string-alignment distance (Levenshtein plus adjacent swaps).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The known names close to `unknown`, best first: small edit distance
// (relative to the length), or `unknown` being a prefix of at least 3
// characters. At most `limit` names.
std::vector<std::string> suggest(std::string_view unknown, const std::vector<std::string>& known,
                                 std::size_t limit = 3);

}  // namespace harmony::base
