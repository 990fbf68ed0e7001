#include "metadata.hpp"

#include <charconv>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <harmony/base/files.hpp>
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

// Splits off the next space-separated field of a refusal line.
bool next_number(std::string_view& line, auto& out) {
  auto space = line.find(' ');
  if (space == std::string_view::npos) return false;
  auto [end, ec] = std::from_chars(line.data(), line.data() + space, out);
  if (ec != std::errc{} || end != line.data() + space) return false;
  line.remove_prefix(space + 1);
  return true;
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
  auto text = base::read_file(base::join_path(*dir_, cache_file));
  if (!text) return;
  // A damaged or foreign cache is ignored and rewritten, never an error.
  json doc = json::parse(*text, nullptr, false);
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
  // The cache only saves time: when it cannot be written, nothing is lost.
  if (!base::make_directories(*dir_, 0700)) return;

  json entries = json::array();
  std::string refused = "harmony-refused 1 " + harmony_version_ + "\n";
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
        refused += std::to_string(e.key.dev) + ' ' + std::to_string(e.key.ino) + ' ' + std::to_string(e.key.size) +
                   ' ' + std::to_string(e.key.mtime_ns) + ' ' + base::printable(compat.reason) + '\n';
      }
    }
  }
  json doc = {{"format", cache_format}, {"entries", std::move(entries)}};
  (void)base::write_file_atomically(base::join_path(*dir_, cache_file),
                                    doc.dump(-1, ' ', false, json::error_handler_t::replace), 0644, false);
  const std::string refusal_path = base::join_path(*dir_, refusal_file);
  if (any_refused)
    (void)base::write_file_atomically(refusal_path, refused, 0644, false);
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
  auto text = base::read_file(base::join_path(*cache_dir, refusal_file), 1 << 20);
  if (!text) return std::nullopt;
  std::string_view rest = *text;
  auto next_line = [&rest]() {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    return line;
  };
  if (next_line() != "harmony-refused 1 " + std::string(harmony_version)) return std::nullopt;
  while (!rest.empty()) {
    std::string_view line = next_line();
    FileStat key;
    if (!next_number(line, key.dev) || !next_number(line, key.ino) || !next_number(line, key.size) ||
        !next_number(line, key.mtime_ns))
      continue;
    if (same_file(key, file)) return std::string(line);
  }
  return std::nullopt;
}

}  // namespace harmony::dispatcher
