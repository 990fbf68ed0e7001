#pragma once
// The dispatcher's one seam to the file system. Discovery, resolution and
// metadata reading go through it, so unit tests run them over an in-memory
// fake (tests/fake_filesystem.hpp) and the real one stays a thin POSIX layer.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <harmony/base/elf.hpp>
#include <harmony/base/expected.hpp>

namespace harmony::dispatcher {

struct FileStat {
  enum class Type { regular, directory, symlink, other };
  Type type = Type::other;
  std::uint32_t mode = 0;  // permission bits incl. setuid/sticky (st_mode & 07777)
  std::uint32_t uid = 0;
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::int64_t mtime_ns = 0;
  std::uint64_t size = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Follows symbolic links. Errors keep errno (ENOENT, ELOOP, EACCES, ...).
  virtual base::expected<FileStat> stat(const std::string& path) const = 0;
  virtual base::expected<FileStat> lstat(const std::string& path) const = 0;
  // Whether we may execute the file (access(2) with X_OK).
  virtual bool can_execute(const std::string& path) const = 0;
  // The names in a directory, without "." and "..".
  virtual base::expected<std::vector<std::string>> list(const std::string& dir) const = 0;
  // The target of a symbolic link, as stored in the link.
  virtual base::expected<std::string> read_link(const std::string& path) const = 0;
  // The canonical absolute path (all links resolved).
  virtual base::expected<std::string> real_path(const std::string& path) const = 0;
  // The first `max` bytes of a file.
  virtual base::expected<std::string> read_head(const std::string& path, std::size_t max) const = 0;
  virtual base::expected<base::ElfSectionResult> read_section(const std::string& path, std::string_view name,
                                                              std::size_t max) const = 0;
};

// The machine's file system.
const FileSystem& real_filesystem();

// A plugin opened to be run: dispatch checks that the descriptor is the file
// discovery judged, then runs that descriptor (or, for a script, re-checks
// the path just before exec). Closed on destruction and on exec.
class OpenedFile {
 public:
  OpenedFile() = default;
  OpenedFile(OpenedFile&& other) noexcept;
  OpenedFile& operator=(OpenedFile&&) = delete;
  ~OpenedFile();

  int fd = -1;
  FileStat stat;        // of the descriptor
  bool script = false;  // starts with "#!": must be exec'd by path
};

// Opens `path` for exec (following links). A file we may execute but not
// read can only be a binary, so it is opened with O_PATH and taken as one.
base::expected<OpenedFile> open_for_exec(const std::string& path);

}  // namespace harmony::dispatcher
