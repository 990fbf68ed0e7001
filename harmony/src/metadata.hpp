#pragma once
// What a plugin file says about itself, read without running it: the
// embedded descriptor of an SDK plugin, or the description comment of a
// script. Reading goes through a cache keyed by the file's identity (device,
// inode, size, mtime), which also records the incompatible plugins so that
// dispatch can refuse them without reading any descriptor.

#include <optional>
#include <string>
#include <unordered_map>

#include <harmony/plugin/descriptor.hpp>

#include "discovery.hpp"

namespace harmony::dispatcher {

struct Metadata {
  enum class Source { none, descriptor, script };
  Source source = Source::none;
  std::optional<plugin::Descriptor> descriptor;
  std::string raw_descriptor;  // as embedded; kept so the cache stores one form
  std::string description;
  std::string error;  // why the descriptor could not be read
};
std::string_view source_id(Metadata::Source source);  // "descriptor", "script-comment", "none"

Metadata read_metadata(const FileSystem& fs, const std::string& path);

// Adds the broken-descriptor (non-blocking) and incompatible (blocking)
// issues that `metadata` implies.
void apply_metadata(Candidate& candidate, const Metadata& metadata, std::string_view harmony_version);

class MetadataCache {
 public:
  // `dir`: where the cache lives ($XDG_CACHE_HOME/harmony); nullopt disables it.
  MetadataCache(std::optional<std::string> dir, std::string harmony_version);

  // The metadata of a regular file, from the cache when its identity matches.
  const Metadata& get(const FileSystem& fs, const Candidate& candidate);

  // Writes the cache and the refusal list if anything changed. With
  // `complete_scan`, entries not looked up since loading are dropped.
  void save(bool complete_scan);

 private:
  struct Entry {
    FileStat key;
    Metadata metadata;
    bool used = false;
  };
  void load();

  std::optional<std::string> dir_;
  std::string harmony_version_;
  std::unordered_map<std::string, Entry> entries_;
  bool loaded_ = false;
  bool dirty_ = false;
};

// The cache directory, or nullopt when there is no usable home.
std::optional<std::string> default_cache_dir();

// The hot-path check: whether the refusal list names this file (by device,
// inode, size and mtime), and why. One failed open() when there is no list.
std::optional<std::string> cached_refusal(const std::optional<std::string>& cache_dir, const FileStat& file,
                                          std::string_view harmony_version);

}  // namespace harmony::dispatcher
