#include "discovery.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <unordered_set>

#include <harmony/base/names.hpp>
#include <harmony/base/paths.hpp>
#include <harmony/plugin/naming.hpp>

namespace harmony::dispatcher {
namespace {

constexpr std::uint32_t world_write = 0002;
constexpr std::uint32_t sticky = 01000;
// Longest file name most file systems take (NAME_MAX).
constexpr std::size_t max_file_name = 255;

std::string octal(std::uint32_t mode) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%04o", mode & 07777);
  return buffer;
}

std::string shown(const std::string& path) { return base::printable(path); }

}  // namespace

bool is_builtin(std::string_view word) {
  return std::find(std::begin(builtin_commands), std::end(builtin_commands), word) != std::end(builtin_commands) ||
         is_lifecycle_verb(word);
}

bool is_lifecycle_verb(std::string_view word) {
  return std::find(std::begin(lifecycle_verbs), std::end(lifecycle_verbs), word) != std::end(lifecycle_verbs);
}

std::string_view problem_id(Problem problem) {
  switch (problem) {
    case Problem::clash: return "clash";
    case Problem::invalid_name: return "invalid-name";
    case Problem::missing: return "dangling-link";
    case Problem::link_loop: return "link-loop";
    case Problem::unreadable: return "unreadable";
    case Problem::not_regular: return "not-a-file";
    case Problem::not_executable: return "not-executable";
    case Problem::insecure: return "insecure";
    case Problem::incompatible: return "incompatible";
    case Problem::broken_descriptor: return "broken-descriptor";
    case Problem::shadowed: return "shadowed";
  }
  return "unknown";
}

SearchPath make_search_path(std::optional<std::string_view> plugin_path, std::optional<std::string_view> path) {
  SearchPath out;
  std::unordered_set<std::string> seen;
  auto add = [&](std::optional<std::string_view> list, const char* variable) {
    if (!list) return;
    for (auto entry : base::split_path_list(*list)) {
      if (entry.empty()) {
        out.skipped.push_back({entry, variable, "empty entries would mean the current directory; never searched"});
        continue;
      }
      if (entry.front() != '/') {
        out.skipped.push_back({entry, variable, "relative entries depend on the current directory; never searched"});
        continue;
      }
      while (entry.size() > 1 && entry.back() == '/') entry.pop_back();
      if (seen.insert(entry).second) out.dirs.push_back(std::move(entry));
    }
  };
  add(plugin_path, "HARMONY_PLUGIN_PATH");
  add(path, "PATH");
  return out;
}

bool Candidate::runnable() const { return first_blocking() == nullptr; }

const Issue* Candidate::first_blocking() const {
  for (const auto& issue : issues)
    if (issue.blocking) return &issue;
  return nullptr;
}

bool Candidate::has(Problem problem) const {
  return std::any_of(issues.begin(), issues.end(), [&](const Issue& i) { return i.problem == problem; });
}

void Candidate::add(Problem problem, std::string message, bool blocking) {
  issues.push_back({problem, std::move(message), blocking});
}

std::optional<std::string> insecure_dir_reason(const std::string& dir, const FileStat& st) {
  if (!(st.mode & world_write)) return std::nullopt;
  if ((st.mode & sticky) && st.uid == 0) return std::nullopt;
  return "its directory " + shown(dir) + " is writable by any user (mode " + octal(st.mode) + ")";
}

Candidate inspect(const FileSystem& fs, const std::string& dir, const std::string& file_name, const Policy& policy,
                  const FileStat* entry) {
  Candidate c;
  c.dir = dir;
  c.file_name = file_name;
  c.path = base::join_path(dir, file_name);

  if (auto words = plugin::words_for_file_name(file_name)) {
    c.words = std::move(*words);
    if (is_builtin(c.words.front()))
      c.add(Problem::clash, "named like the built-in command '" + c.words.front() + "'; built-ins cannot be replaced");
  } else {
    c.add(Problem::invalid_name,
          "'" + shown(file_name) + "' is not harmony-<words>; words are lowercase letters, digits, '-' and '_'");
  }

  if (entry != nullptr) {
    c.is_link = entry->type == FileStat::Type::symlink;
  } else if (auto link = fs.lstat(c.path)) {
    c.is_link = link->type == FileStat::Type::symlink;
  }

  auto st = fs.stat(c.path);
  if (!st) {
    const int err = st.error().os_errno;
    if (err == ENOENT && c.is_link) {
      auto target = fs.read_link(c.path);
      c.add(Problem::missing, "a symbolic link to " + (target ? "'" + shown(*target) + "'" : std::string("a missing file")) +
                                  ", which does not exist");
    } else if (err == ELOOP) {
      c.add(Problem::link_loop, "a loop of symbolic links");
    } else {
      c.add(Problem::unreadable, "cannot be inspected: " + st.error().reason);
    }
    return c;
  }
  c.stat = *st;
  if (c.stat.type != FileStat::Type::regular) {
    c.add(Problem::not_regular, c.stat.type == FileStat::Type::directory ? "a directory, not a program" : "not a regular file");
    return c;
  }
  if (!fs.can_execute(c.path))
    c.add(Problem::not_executable, "not executable (mode " + octal(c.stat.mode) + ")");

  // Writable by others means anyone on the machine could change what runs.
  std::vector<std::string> insecure;
  if (c.stat.mode & world_write)
    insecure.push_back("the file is writable by any user (mode " + octal(c.stat.mode) + ")");
  std::vector<std::string> dirs{dir};
  if (c.is_link) {
    if (auto real = fs.real_path(c.path)) {
      std::string real_dir = base::parent_dir(*real);
      if (real_dir != dir) dirs.push_back(real_dir);
    }
  }
  for (const auto& d : dirs) {
    auto dir_stat = fs.stat(d);
    if (!dir_stat) continue;
    if (auto reason = insecure_dir_reason(d, *dir_stat)) insecure.push_back(std::move(*reason));
  }
  for (auto& reason : insecure) {
    if (policy.allow_insecure)
      c.add(Problem::insecure, reason + "; allowed by HARMONY_ALLOW_INSECURE_PATH", false);
    else
      c.add(Problem::insecure, std::move(reason));
  }
  return c;
}

std::size_t leading_words(std::span<const std::string> args, std::size_t max_words) {
  std::size_t n = 0;
  std::size_t length = plugin::file_prefix.size();
  while (n < args.size() && base::is_command_word(args[n]) && (max_words == 0 || n < max_words)) {
    length += args[n].size() + (n > 0 ? 1 : 0);
    if (length > max_file_name) break;
    ++n;
  }
  return n;
}

Resolution resolve(const FileSystem& fs, const SearchPath& search_path, const Policy& policy,
                   std::span<const std::string> args, const ResolveOptions& options) {
  Resolution r;
  const std::size_t count = leading_words(args, options.max_words);
  const std::size_t shortest = options.exact ? count : 1;
  for (std::size_t n = count; n >= shortest && n > 0; --n) {
    std::span<const std::string> words = args.first(n);
    std::string file_name = std::string(plugin::file_prefix) + plugin::name_for_words(words);
    r.tried.push_back(file_name);
    for (const auto& dir : search_path.dirs) {
      // The common case on the hot path: not in this directory (one lstat).
      auto entry = fs.lstat(base::join_path(dir, file_name));
      if (!entry) continue;
      Candidate c = inspect(fs, dir, file_name, policy, &*entry);
      if (c.runnable() && options.refused) {
        if (auto why = options.refused(c)) c.add(Problem::incompatible, std::move(*why));
      }
      if (!c.runnable()) {
        if (options.explain || !r.chosen) r.skipped.push_back(std::move(c));
        continue;
      }
      if (!r.chosen) {
        r.chosen = std::move(c);
        r.words.assign(words.begin(), words.end());
        r.args.assign(args.begin() + static_cast<long>(n), args.end());
        if (!options.explain) return r;
      } else {
        r.shadowed.push_back(std::move(c));
      }
    }
    if (r.chosen) return r;
  }
  return r;
}

}  // namespace harmony::dispatcher
