#include <harmony/base/suggest.hpp>

#include <algorithm>

namespace harmony::base {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

std::vector<std::string> suggest(std::string_view unknown, const std::vector<std::string>& known, std::size_t limit) {
  // Long garbage (a pasted path, a 100k argument) has no near names; skip the
  // quadratic work.
  if (unknown.empty() || unknown.size() > 64) return {};
  const std::size_t allowed = unknown.size() <= 3 ? 1 : (unknown.size() <= 6 ? 2 : 3);
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const auto& name : known) {
    if (name == unknown) continue;
    std::size_t score;
    if (unknown.size() >= 3 && name.rfind(unknown, 0) == 0)
      score = 0;
    else if (std::size_t d = edit_distance(unknown, name); d <= allowed)
      score = d;
    else
      continue;
    scored.emplace_back(score, name);
  }
  std::sort(scored.begin(), scored.end());
  scored.erase(std::unique(scored.begin(), scored.end(),
                           [](const auto& x, const auto& y) { return x.second == y.second; }),
               scored.end());
  std::vector<std::string> out;
  for (auto& [score, name] : scored) {
    if (out.size() == limit) break;
    out.push_back(std::move(name));
  }
  return out;
}

}  // namespace harmony::base
