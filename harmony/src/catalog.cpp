#include "catalog.hpp"

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

#include <harmony/base/paths.hpp>
#include <harmony/plugin/naming.hpp>

namespace harmony::dispatcher {

std::string CatalogEntry::status() const {
  if (const Issue* blocking = candidate.first_blocking()) return std::string(problem_id(blocking->problem));
  if (!shadowed_by.empty()) return std::string(problem_id(Problem::shadowed));
  if (!candidate.issues.empty()) return std::string(problem_id(candidate.issues.front().problem));
  return "ok";
}

std::vector<std::string> Catalog::commands() const {
  std::set<std::string> out;
  for (const auto& e : entries)
    if (e.winner) out.insert(plugin::command_for_words(e.candidate.words));
  return {out.begin(), out.end()};
}

const CatalogEntry* Catalog::winner_for(const std::vector<std::string>& words) const {
  for (const auto& e : entries)
    if (e.winner && e.candidate.words == words) return &e;
  return nullptr;
}

Metadata metadata_for(const FileSystem& fs, Candidate& candidate, MetadataCache& cache,
                      std::string_view harmony_version) {
  if (candidate.stat.type != FileStat::Type::regular) return {};
  Metadata m = cache.get(fs, candidate);
  apply_metadata(candidate, m, harmony_version);
  return m;
}

Catalog scan_catalog(const FileSystem& fs, const SearchPath& search_path, const Policy& policy,
                     MetadataCache& cache, std::string_view harmony_version) {
  Catalog catalog;
  catalog.search_path = search_path;
  // Directories reached twice (/bin -> /usr/bin on merged-/usr systems) are
  // searched once; otherwise every plugin would shadow itself.
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::string> seen_dirs;
  StatCache stats(fs);
  for (const auto& dir : search_path.dirs) {
    auto st = fs.stat(dir);
    if (!st) {
      catalog.skipped_dirs.push_back(
          {dir, st.error().os_errno == ENOENT ? "does not exist" : "cannot be inspected: " + st.error().reason});
      continue;
    }
    if (st->type != FileStat::Type::directory) {
      catalog.skipped_dirs.push_back({dir, "not a directory"});
      continue;
    }
    auto [it, inserted] = seen_dirs.emplace(std::pair{st->dev, st->ino}, dir);
    if (!inserted) {
      catalog.skipped_dirs.push_back({dir, "the same directory as " + it->second});
      continue;
    }
    auto names = fs.list(dir);
    if (!names) {
      catalog.skipped_dirs.push_back({dir, "cannot be read: " + names.error().reason});
      continue;
    }
    std::sort(names->begin(), names->end());
    for (const auto& name : *names) {
      if (!name.starts_with(plugin::file_prefix)) continue;
      CatalogEntry entry;
      entry.candidate = inspect(fs, dir, name, policy, nullptr, &stats);
      entry.metadata = metadata_for(fs, entry.candidate, cache, harmony_version);
      catalog.entries.push_back(std::move(entry));
    }
  }

  // The first runnable file of each name wins; the rest are shadowed.
  std::map<std::string, std::size_t> winners;
  for (std::size_t i = 0; i < catalog.entries.size(); ++i) {
    auto& e = catalog.entries[i];
    if (!e.candidate.runnable()) continue;
    auto [it, inserted] = winners.emplace(e.candidate.file_name, i);
    if (inserted)
      e.winner = true;
    else
      e.shadowed_by = catalog.entries[it->second].candidate.path;
  }
  for (auto& e : catalog.entries) {
    if (e.winner || !e.shadowed_by.empty()) continue;
    if (auto it = winners.find(e.candidate.file_name); it != winners.end())
      e.shadowed_by = catalog.entries[it->second].candidate.path;
  }
  std::stable_sort(catalog.entries.begin(), catalog.entries.end(), [](const CatalogEntry& a, const CatalogEntry& b) {
    return a.candidate.file_name < b.candidate.file_name;
  });
  cache.save(true);
  return catalog;
}

}  // namespace harmony::dispatcher
