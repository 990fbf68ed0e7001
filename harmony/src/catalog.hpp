#pragma once
// The catalog: every harmony-* file in the search path, with what it is and
// what it says about itself. Listing, help, completion and "did you mean" use
// it; dispatch never does. Building it never fails because one file is bad:
// each problem is recorded on its entry.

#include <optional>
#include <string>
#include <vector>

#include "discovery.hpp"
#include "metadata.hpp"

namespace harmony::dispatcher {

struct CatalogEntry {
  Candidate candidate;
  Metadata metadata;
  bool winner = false;            // what `harmony <words>` runs
  std::string shadowed_by;        // path of the winner, when this one is shadowed or skipped

  [[nodiscard]] std::string status() const;  // the first problem's id, or "ok"
};

struct Catalog {
  SearchPath search_path;
  struct SkippedDir {
    std::string dir;
    std::string reason;
  };
  std::vector<SkippedDir> skipped_dirs;  // missing, not a directory, unreadable, same as another
  std::vector<CatalogEntry> entries;     // sorted by command, then search order

  // The runnable plugins' commands ("fleet", "foo bar"), sorted, unique.
  [[nodiscard]] std::vector<std::string> commands() const;
  [[nodiscard]] const CatalogEntry* winner_for(const std::vector<std::string>& words) const;
};

Catalog scan_catalog(const FileSystem& fs, const SearchPath& search_path, const Policy& policy,
                     MetadataCache& cache, std::string_view harmony_version);

// Reads metadata for a candidate found by resolution, through the cache.
Metadata metadata_for(const FileSystem& fs, Candidate& candidate, MetadataCache& cache,
                      std::string_view harmony_version);

}  // namespace harmony::dispatcher
