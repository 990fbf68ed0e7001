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

constexpr std::uint32_t group_write = 0020;
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

// Judges, with lstat, each directory from / down to the parent of `path`,
// then `path` itself from `last` (its stat, already known) unless `last_what`
// is empty. Paths judged for this candidate are skipped, so a problem is told
// once. Returns whether the path took a detour (a link, "." or ".."), so its
// real path must be judged as well.
bool judge_path(StatCache& cache, const std::string& path, const FileStat& last, const std::string& last_what,
                const Policy& policy, std::vector<std::string>& judged, std::vector<std::string>& reasons) {
  bool detour = false;
  auto judge = [&](const std::string& p, const FileStat& st, const std::string& what) {
    if (std::find(judged.begin(), judged.end(), p) != judged.end()) return;
    judged.push_back(p);
    if (st.type == FileStat::Type::symlink) detour = true;
    if (auto reason = untrusted_reason(what, st, policy)) reasons.push_back(std::move(*reason));
  };
  const std::size_t last_slash = path.rfind('/');
  for (std::size_t end = 0; end != std::string::npos && end <= last_slash; end = path.find('/', end + 1)) {
    // [previous slash, end) is one component; "/" itself when end == 0.
    const std::size_t start = end == 0 ? 0 : path.rfind('/', end - 1) + 1;
    const std::string_view part = std::string_view(path).substr(start, end - start);
    if (end != 0 && part.empty()) continue;
    if (part == "." || part == "..") detour = true;
    const std::string dir = end == 0 ? std::string("/") : path.substr(0, end);
    const auto& st = cache.lstat(dir);
    if (!st) {
      reasons.push_back("cannot inspect the directory " + shown(dir) + " on its path: " + st.error().reason);
      continue;
    }
    judge(dir, *st, end == last_slash ? "its directory " + shown(dir) : "the directory " + shown(dir) + " above it");
  }
  if (!last_what.empty()) judge(path, last, last_what);
  return detour;
}

// Every reason the trust rule refuses the candidate for (c.stat is set).
std::vector<std::string> untrusted_reasons(const FileSystem& fs, StatCache& cache, const Candidate& c,
                                           const FileStat& entry, const Policy& policy) {
  std::vector<std::string> reasons;
  std::vector<std::string> judged;
  const bool detour = judge_path(cache, c.path, c.is_link ? entry : c.stat, c.is_link ? "the link" : "the file",
                                 policy, judged, reasons);
  if (!detour) return reasons;
  // A chain of links: every link on the way, and the directories it sits
  // in, could redirect the plugin, so each is judged as the first one was
  // (at most 40 hops, the kernel's own limit).
  std::string hop = c.path;
  for (int hops = 0; hops < 40; ++hops) {
    const auto& st = cache.lstat(hop);
    if (!st || st->type != FileStat::Type::symlink) break;
    auto target = fs.read_link(hop);
    if (!target || target->empty()) break;
    std::string next = target->front() == '/' ? *target : base::join_path(base::parent_dir(hop), *target);
    const auto& next_st = cache.lstat(next);
    if (!next_st || next_st->type != FileStat::Type::symlink) break;
    judge_path(cache, next, *next_st, "the link " + shown(next) + " on the way", policy, judged, reasons);
    hop = std::move(next);
  }
  auto real = fs.real_path(c.path);
  if (!real) {
    reasons.push_back("cannot resolve its real path: " + real.error().reason);
    return reasons;
  }
  judge_path(cache, *real, c.stat, c.is_link ? "its target " + shown(*real) : std::string(), policy, judged, reasons);
  return reasons;
}

}  // namespace

const base::expected<FileStat>& StatCache::lstat(const std::string& path) {
  auto it = stats_.find(path);
  if (it == stats_.end()) it = stats_.emplace(path, fs_->lstat(path)).first;
  return it->second;
}

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

std::optional<std::string> untrusted_reason(std::string_view what, const FileStat& st, const Policy& policy) {
  if (st.uid != 0 && st.uid != policy.user) {
    return std::string(what) + " is owned by uid " + std::to_string(st.uid) + ", not by root" +
           (policy.user != 0 ? " or you (uid " + std::to_string(policy.user) + ")" : std::string());
  }
  // A link's own mode means nothing; who may replace it is its directory's business.
  if (st.type == FileStat::Type::symlink || !(st.mode & (group_write | world_write))) return std::nullopt;
  // Others may add entries to a root-owned sticky directory, but cannot
  // rename or remove what root or the user owns there (and nothing else is
  // trusted below it).
  if (st.type == FileStat::Type::directory && (st.mode & sticky) && st.uid == 0) return std::nullopt;
  return std::string(what) + " is writable by " + ((st.mode & world_write) ? "any user" : "its group") + " (mode " +
         octal(st.mode) + ")";
}

std::optional<std::string> changed_since_check(const FileStat& judged, const FileStat& now) {
  if (now.dev != judged.dev || now.ino != judged.ino) return "it was replaced by another file after it was checked";
  if (now.uid != judged.uid)
    return "its owner changed from uid " + std::to_string(judged.uid) + " to " + std::to_string(now.uid) +
           " after it was checked";
  if (now.mode != judged.mode)
    return "its mode changed from " + octal(judged.mode) + " to " + octal(now.mode) + " after it was checked";
  return std::nullopt;
}

std::optional<std::string> changed_since_check(const FileSystem& fs, const std::string& path, const FileStat& judged) {
  auto now = fs.stat(path);
  if (!now) return "it cannot be inspected any more: " + now.error().reason;
  return changed_since_check(judged, *now);
}

Candidate inspect(const FileSystem& fs, const std::string& dir, const std::string& file_name, const Policy& policy,
                  const FileStat* entry, StatCache* cache) {
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

  StatCache own_cache(fs);
  if (cache == nullptr) cache = &own_cache;
  if (entry == nullptr) {
    const auto& link = cache->lstat(c.path);
    if (link) entry = &*link;
  }
  c.is_link = entry != nullptr && entry->type == FileStat::Type::symlink;

  // Not a link: the entry's lstat is the file's stat.
  auto st = entry != nullptr && !c.is_link ? base::expected<FileStat>(*entry) : fs.stat(c.path);
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

  for (auto& reason : untrusted_reasons(fs, *cache, c, entry != nullptr ? *entry : c.stat, policy)) {
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
  StatCache cache(fs);
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
      Candidate c = inspect(fs, dir, file_name, policy, &*entry, &cache);
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
