#include "filesystem.hpp"

#include <harmony/base/files.hpp>

#include <cerrno>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace harmony::dispatcher {
namespace {

FileStat convert(const struct stat& st) {
  FileStat out;
  if (S_ISREG(st.st_mode))
    out.type = FileStat::Type::regular;
  else if (S_ISDIR(st.st_mode))
    out.type = FileStat::Type::directory;
  else if (S_ISLNK(st.st_mode))
    out.type = FileStat::Type::symlink;
  out.mode = st.st_mode & 07777;
  out.uid = st.st_uid;
  out.dev = st.st_dev;
  out.ino = st.st_ino;
  out.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  out.size = static_cast<std::uint64_t>(st.st_size);
  return out;
}

class PosixFileSystem final : public FileSystem {
 public:
  base::expected<FileStat> stat(const std::string& path) const override {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return base::fail(base::os_error(errno, "cannot inspect '" + base::printable(path) + "'"));
    return convert(st);
  }
  base::expected<FileStat> lstat(const std::string& path) const override {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return base::fail(base::os_error(errno, "cannot inspect '" + base::printable(path) + "'"));
    return convert(st);
  }
  bool can_execute(const std::string& path) const override { return ::access(path.c_str(), X_OK) == 0; }
  base::expected<std::vector<std::string>> list(const std::string& dir) const override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return base::fail(base::os_error(errno, "cannot read directory '" + base::printable(dir) + "'"));
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(d)) {
      std::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(d);
    return names;
  }
  base::expected<std::string> read_link(const std::string& path) const override {
    char buffer[4096];
    ssize_t n = ::readlink(path.c_str(), buffer, sizeof buffer);
    if (n < 0) return base::fail(base::os_error(errno, "cannot read link '" + base::printable(path) + "'"));
    return std::string(buffer, static_cast<std::size_t>(n));
  }
  base::expected<std::string> real_path(const std::string& path) const override {
    char* resolved = ::realpath(path.c_str(), nullptr);
    if (resolved == nullptr) return base::fail(base::os_error(errno, "cannot resolve '" + base::printable(path) + "'"));
    std::string out(resolved);
    std::free(resolved);
    return out;
  }
  base::expected<std::string> read_head(const std::string& path, std::size_t max) const override {
    return base::read_file_head(path, max);
  }
  base::expected<base::ElfSectionResult> read_section(const std::string& path, std::string_view name,
                                                      std::size_t max) const override {
    return base::read_elf_section_from_file(path, name, max);
  }
};

}  // namespace

const FileSystem& real_filesystem() {
  static const PosixFileSystem fs;
  return fs;
}

OpenedFile::OpenedFile(OpenedFile&& other) noexcept : fd(other.fd), stat(other.stat), script(other.script) {
  other.fd = -1;
}

OpenedFile::~OpenedFile() {
  if (fd >= 0) ::close(fd);
}

base::expected<OpenedFile> open_for_exec(const std::string& path) {
  OpenedFile file;
  file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  const bool readable = file.fd >= 0;
  if (!readable && errno == EACCES) file.fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
  if (file.fd < 0) return base::fail(base::os_error(errno, "cannot open '" + base::printable(path) + "'"));
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) return base::fail(base::os_error(errno, "cannot inspect '" + base::printable(path) + "'"));
  file.stat = convert(st);
  char head[2] = {};
  file.script = readable && ::pread(file.fd, head, sizeof head, 0) == 2 && head[0] == '#' && head[1] == '!';
  return file;
}

}  // namespace harmony::dispatcher
