#include "metadata.hpp"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <harmony/base/paths.hpp>

namespace harmony::dispatcher {
namespace {

using nlohmann::json;

constexpr const char* cache_file = "plugins-v1.json";
constexpr const char* refusal_file = "refused-v1";
constexpr int cache_format = 1;

bool same_file(const FileStat& a, const FileStat& b) {
  return a.dev == b.dev && a.ino == b.ino && a.size == b.size && a.mtime_ns == b.mtime_ns;
}

Metadata::Source parse_source(const std::string& text) {
  if (text == "descriptor") return Metadata::Source::descriptor;
  if (text == "script-comment") return Metadata::Source::script;
  return Metadata::Source::none;
}

// Rebuilds the parsed form from what the cache stores.
void finish(Metadata& m) {
  if (m.source != Metadata::Source::descriptor || m.raw_descriptor.empty()) return;
  auto parsed = plugin::parse_descriptor(m.raw_descriptor);
  if (parsed) {
    m.descriptor = std::move(*parsed);
    m.description = m.descriptor->description;
    m.error.clear();
  } else {
    m.descriptor.reset();
    m.error = parsed.error().reason;
  }
}

bool make_dirs(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return true;
  if (errno != ENOENT) return false;
  std::string parent = base::parent_dir(dir);
  if (parent == dir || !make_dirs(parent)) return false;
  return ::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST;
}

// Replaces `path` atomically, so concurrent readers see the old or the new file.
void write_atomically(const std::string& path, const std::string& contents) {
  std::string tmp = path + "." + std::to_string(::getpid()) + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return;
    out << contents;
    if (!out.flush()) {
      ::unlink(tmp.c_str());
      return;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) ::unlink(tmp.c_str());
}

}  // namespace

std::string_view source_id(Metadata::Source source) {
  switch (source) {
    case Metadata::Source::descriptor: return "descriptor";
    case Metadata::Source::script: return "script-comment";
    case Metadata::Source::none: return "none";
  }
  return "none";
}

Metadata read_metadata(const FileSystem& fs, const std::string& path) {
  Metadata m;
  auto section = fs.read_section(path, plugin::section_name, plugin::max_descriptor_size);
  if (!section) {
    m.source = Metadata::Source::descriptor;
    m.error = section.error().message + (section.error().reason.empty() ? "" : ": " + section.error().reason);
    return m;
  }
  if (section->state == base::ElfSection::found) {
    m.source = Metadata::Source::descriptor;
    m.raw_descriptor = std::move(section->contents);
    finish(m);
    return m;
  }
  if (section->state == base::ElfSection::not_elf) {
    if (auto head = fs.read_head(path, plugin::script_head_size)) {
      if (auto description = plugin::script_description(*head)) {
        m.source = Metadata::Source::script;
        m.description = std::move(*description);
      }
    }
  }
  return m;
}

void apply_metadata(Candidate& candidate, const Metadata& metadata, std::string_view harmony_version) {
  if (!metadata.error.empty()) {
    candidate.add(Problem::broken_descriptor, "its descriptor cannot be read: " + metadata.error, false);
    return;
  }
  if (!metadata.descriptor) return;
  auto compat = plugin::check_compatibility(*metadata.descriptor, harmony_version);
  if (!compat.ok) candidate.add(Problem::incompatible, compat.reason);
}

MetadataCache::MetadataCache(std::optional<std::string> dir, std::string harmony_version)
    : dir_(std::move(dir)), harmony_version_(std::move(harmony_version)) {}

void MetadataCache::load() {
  loaded_ = true;
  if (!dir_) return;
  std::ifstream in(base::join_path(*dir_, cache_file), std::ios::binary);
  if (!in) return;
  // A damaged or foreign cache is ignored and rewritten, never an error.
  json doc = json::parse(in, nullptr, false);
  if (!doc.is_object() || doc.value("format", 0) != cache_format || !doc.contains("entries") ||
      !doc["entries"].is_array())
    return;
  try {
    for (const auto& item : doc["entries"]) {
      Entry e;
      e.key.dev = item.at("dev").get<std::uint64_t>();
      e.key.ino = item.at("ino").get<std::uint64_t>();
      e.key.size = item.at("size").get<std::uint64_t>();
      e.key.mtime_ns = item.at("mtime_ns").get<std::int64_t>();
      e.metadata.source = parse_source(item.value("source", "none"));
      e.metadata.raw_descriptor = item.value("descriptor", "");
      e.metadata.description = item.value("description", "");
      e.metadata.error = item.value("error", "");
      finish(e.metadata);
      entries_.emplace(item.at("path").get<std::string>(), std::move(e));
    }
  } catch (const json::exception&) {
    entries_.clear();
    dirty_ = true;
  }
}

const Metadata& MetadataCache::get(const FileSystem& fs, const Candidate& candidate) {
  if (!loaded_) load();
  auto it = entries_.find(candidate.path);
  if (it != entries_.end() && same_file(it->second.key, candidate.stat)) {
    it->second.used = true;
    return it->second.metadata;
  }
  Entry e{candidate.stat, read_metadata(fs, candidate.path), true};
  dirty_ = true;
  auto [slot, inserted] = entries_.insert_or_assign(candidate.path, std::move(e));
  return slot->second.metadata;
}

void MetadataCache::save(bool complete_scan) {
  if (!dir_ || !loaded_) return;
  if (complete_scan) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (!it->second.used) {
        it = entries_.erase(it);
        dirty_ = true;
      } else {
        ++it;
      }
    }
  }
  if (!dirty_) return;
  if (!make_dirs(*dir_)) return;

  json entries = json::array();
  std::ostringstream refused;
  refused << "harmony-refused 1 " << harmony_version_ << "\n";
  bool any_refused = false;
  for (const auto& [path, e] : entries_) {
    json item = {{"path", path},
                 {"dev", e.key.dev},
                 {"ino", e.key.ino},
                 {"size", e.key.size},
                 {"mtime_ns", e.key.mtime_ns},
                 {"source", source_id(e.metadata.source)}};
    if (!e.metadata.raw_descriptor.empty()) item["descriptor"] = e.metadata.raw_descriptor;
    if (e.metadata.source == Metadata::Source::script) item["description"] = e.metadata.description;
    if (!e.metadata.error.empty() && e.metadata.raw_descriptor.empty()) item["error"] = e.metadata.error;
    entries.push_back(std::move(item));

    if (e.metadata.descriptor) {
      auto compat = plugin::check_compatibility(*e.metadata.descriptor, harmony_version_);
      if (!compat.ok) {
        any_refused = true;
        refused << e.key.dev << ' ' << e.key.ino << ' ' << e.key.size << ' ' << e.key.mtime_ns << ' '
                << base::printable(compat.reason) << '\n';
      }
    }
  }
  json doc = {{"format", cache_format}, {"entries", std::move(entries)}};
  write_atomically(base::join_path(*dir_, cache_file), doc.dump(-1, ' ', false, json::error_handler_t::replace));
  const std::string refusal_path = base::join_path(*dir_, refusal_file);
  if (any_refused)
    write_atomically(refusal_path, refused.str());
  else
    ::unlink(refusal_path.c_str());
  dirty_ = false;
}

std::optional<std::string> default_cache_dir() {
  auto home = base::xdg_home(base::XdgDir::cache);
  if (!home) return std::nullopt;
  return base::join_path(*home, "harmony");
}

std::optional<std::string> cached_refusal(const std::optional<std::string>& cache_dir, const FileStat& file,
                                          std::string_view harmony_version) {
  if (!cache_dir) return std::nullopt;
  const std::string path = base::join_path(*cache_dir, refusal_file);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0 && text.size() < (1 << 20))
    text.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);

  std::istringstream lines(text);
  std::string line;
  if (!std::getline(lines, line) || line != "harmony-refused 1 " + std::string(harmony_version)) return std::nullopt;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    FileStat key;
    if (!(fields >> key.dev >> key.ino >> key.size >> key.mtime_ns)) continue;
    if (!same_file(key, file)) continue;
    std::string reason;
    std::getline(fields >> std::ws, reason);
    return reason;
  }
  return std::nullopt;
}

}  // namespace harmony::dispatcher
