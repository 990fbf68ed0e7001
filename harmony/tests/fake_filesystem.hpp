#pragma once
// An in-memory FileSystem for unit tests: directories, files and symbolic
// links with modes and owners (root unless told otherwise), links resolved
// with loop detection like the kernel. It counts metadata reads so tests can
// see the caches at work.

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <harmony/base/paths.hpp>

#include "filesystem.hpp"

namespace harmony::testing {

class FakeFileSystem final : public dispatcher::FileSystem {
 public:
  using FileStat = dispatcher::FileStat;

  FakeFileSystem() { nodes_["/"] = Node{FileStat::Type::directory, 0755, 0, {}, {}, next_ino_++, 1}; }

  void dir(const std::string& path, std::uint32_t mode = 0755, std::uint32_t uid = 0) {
    make_parents(path);
    nodes_[path] = Node{FileStat::Type::directory, mode, uid, {}, {}, next_ino_++, 1};
  }
  void file(const std::string& path, std::string content = "#!/bin/sh\n", std::uint32_t mode = 0755,
            std::uint32_t uid = 0) {
    make_parents(path);
    nodes_[path] = Node{FileStat::Type::regular, mode, uid, std::move(content), {}, next_ino_++, 1};
  }
  void link(const std::string& path, const std::string& target, std::uint32_t uid = 0) {
    make_parents(path);
    nodes_[path] = Node{FileStat::Type::symlink, 0777, uid, {}, target, next_ino_++, 1};
  }
  void touch(const std::string& path) { nodes_.at(path).mtime_ns += 1; }
  void chmod(const std::string& path, std::uint32_t mode) { nodes_.at(path).mode = mode; }
  void chown(const std::string& path, std::uint32_t uid) { nodes_.at(path).uid = uid; }
  void remove(const std::string& path) { nodes_.erase(path); }

  mutable int section_reads = 0;
  mutable std::map<std::string, int> lstats;  // per path

  base::expected<FileStat> stat(const std::string& path) const override {
    auto resolved = resolve(path, true);
    if (!resolved) return base::fail(resolved.error());
    return to_stat(nodes_.at(*resolved));
  }
  base::expected<FileStat> lstat(const std::string& path) const override {
    ++lstats[path];
    auto resolved = resolve(path, false);
    if (!resolved) return base::fail(resolved.error());
    return to_stat(nodes_.at(*resolved));
  }
  bool can_execute(const std::string& path) const override {
    auto resolved = resolve(path, true);
    return resolved && (nodes_.at(*resolved).mode & 0111) != 0;
  }
  base::expected<std::vector<std::string>> list(const std::string& dir) const override {
    auto resolved = resolve(dir, true);
    if (!resolved) return base::fail(resolved.error());
    const Node& node = nodes_.at(*resolved);
    if (node.type != FileStat::Type::directory) return base::fail(base::os_error(ENOTDIR, "cannot read " + dir));
    if ((node.mode & 0444) == 0) return base::fail(base::os_error(EACCES, "cannot read " + dir));
    std::vector<std::string> names;
    const std::string prefix = *resolved == "/" ? "/" : *resolved + "/";
    for (auto it = nodes_.lower_bound(prefix); it != nodes_.end() && it->first.starts_with(prefix); ++it) {
      std::string rest = it->first.substr(prefix.size());
      if (!rest.empty() && rest.find('/') == std::string::npos) names.push_back(rest);
    }
    return names;
  }
  base::expected<std::string> read_link(const std::string& path) const override {
    auto it = nodes_.find(path);
    if (it == nodes_.end() || it->second.type != FileStat::Type::symlink)
      return base::fail(base::os_error(EINVAL, "not a link: " + path));
    return it->second.target;
  }
  base::expected<std::string> real_path(const std::string& path) const override { return resolve(path, true); }
  base::expected<std::string> read_head(const std::string& path, std::size_t max) const override {
    auto content = contents(path);
    if (!content) return base::fail(content.error());
    return content->substr(0, max);
  }
  base::expected<base::ElfSectionResult> read_section(const std::string& path, std::string_view name,
                                                      std::size_t max) const override {
    ++section_reads;
    auto content = contents(path);
    if (!content) return base::fail(content.error());
    const std::string bytes = *content;
    base::ReadAt read = [&bytes](std::uint64_t offset, char* buffer, std::size_t length) -> std::size_t {
      if (offset >= bytes.size()) return 0;
      std::size_t n = std::min<std::size_t>(length, bytes.size() - offset);
      std::memcpy(buffer, bytes.data() + offset, n);
      return n;
    };
    return base::read_elf_section(read, bytes.size(), name, max);
  }

 private:
  struct Node {
    FileStat::Type type;
    std::uint32_t mode;
    std::uint32_t uid;
    std::string content;
    std::string target;
    std::uint64_t ino;
    std::int64_t mtime_ns;
  };

  void make_parents(const std::string& path) {
    std::string parent = base::parent_dir(path);
    if (parent == path || nodes_.count(parent)) return;
    make_parents(parent);
    nodes_[parent] = Node{FileStat::Type::directory, 0755, 0, {}, {}, next_ino_++, 1};
  }

  FileStat to_stat(const Node& node) const {
    FileStat st;
    st.type = node.type;
    st.mode = node.mode;
    st.uid = node.uid;
    st.dev = 1;
    st.ino = node.ino;
    st.mtime_ns = node.mtime_ns;
    st.size = node.content.size();
    return st;
  }

  base::expected<std::string> contents(const std::string& path) const {
    auto resolved = resolve(path, true);
    if (!resolved) return base::fail(resolved.error());
    const Node& node = nodes_.at(*resolved);
    if (node.type != FileStat::Type::regular) return base::fail(base::os_error(EISDIR, "not a file: " + path));
    return node.content;
  }

  // Walks the path component by component, following links like the kernel
  // (the last component only when `follow_last`), 40 links at most.
  base::expected<std::string> resolve(const std::string& path, bool follow_last, int depth = 0) const {
    if (path.empty() || path.front() != '/') return base::fail(base::os_error(ENOENT, "relative: " + path));
    std::vector<std::string> parts;
    std::size_t start = 1;
    while (start <= path.size()) {
      auto slash = path.find('/', start);
      std::string part = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      if (!part.empty() && part != ".") {
        if (part == "..") {
          if (!parts.empty()) parts.pop_back();
        } else {
          parts.push_back(part);
        }
      }
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    std::string current = "/";
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const Node& parent = nodes_.at(current);
      if (parent.type != FileStat::Type::directory) return base::fail(base::os_error(ENOTDIR, path));
      std::string next = current == "/" ? "/" + parts[i] : current + "/" + parts[i];
      auto it = nodes_.find(next);
      if (it == nodes_.end()) return base::fail(base::os_error(ENOENT, path));
      const bool last = i + 1 == parts.size();
      if (it->second.type == FileStat::Type::symlink && (!last || follow_last)) {
        if (depth >= 40) return base::fail(base::os_error(ELOOP, path));
        const std::string& target = it->second.target;
        std::string joined = target.front() == '/' ? target : base::join_path(current, target);
        for (std::size_t j = i + 1; j < parts.size(); ++j) joined += "/" + parts[j];
        return resolve(joined, follow_last, depth + 1);
      }
      current = next;
    }
    return current;
  }

  std::map<std::string, Node> nodes_;
  std::uint64_t next_ino_ = 1;
};

}  // namespace harmony::testing
