#include <harmony/base/paths.hpp>

#include <cstdlib>
#include <unistd.h>

namespace harmony::base {

std::optional<std::string> xdg_home(XdgDir kind) {
  const char* variable = nullptr;
  const char* fallback = nullptr;
  switch (kind) {
    case XdgDir::cache: variable = "XDG_CACHE_HOME"; fallback = "/.cache"; break;
    case XdgDir::state: variable = "XDG_STATE_HOME"; fallback = "/.local/state"; break;
    case XdgDir::config: variable = "XDG_CONFIG_HOME"; fallback = "/.config"; break;
    case XdgDir::data: variable = "XDG_DATA_HOME"; fallback = "/.local/share"; break;
  }
  if (const char* value = std::getenv(variable); value != nullptr && value[0] == '/') return std::string(value);
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    std::string h(home);
    while (h.size() > 1 && h.back() == '/') h.pop_back();
    if (h == "/") h.clear();
    return h + fallback;
  }
  return std::nullopt;
}

std::vector<std::string> split_path_list(std::string_view list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t colon = list.find(':', start);
    out.emplace_back(list.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  return out;
}

std::string self_executable() {
  char buffer[4096];
  ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0) return {};
  return std::string(buffer, static_cast<std::size_t>(n));
}

std::string join_path(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out.empty() || out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

std::string parent_dir(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

}  // namespace harmony::base
