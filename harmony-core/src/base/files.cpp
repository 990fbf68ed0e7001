#include <harmony/base/files.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <harmony/base/paths.hpp>

namespace harmony::base {

namespace {

// Reads the file's bytes [offset, offset + max) into a string; a shorter file
// gives fewer bytes. With `must_fit`, a file that has more is an error.
expected<std::string> read_range(const std::string& path, std::uint64_t offset, std::size_t max, bool must_fit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return fail(os_error(errno, "cannot read '" + printable(path) + "'"));
  std::string out;
  char buffer[65536];
  while (true) {
    const std::size_t want = must_fit ? sizeof buffer : std::min(sizeof buffer, max - out.size());
    if (want == 0) break;
    ssize_t n = ::pread(fd, buffer, want, static_cast<off_t>(offset + out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;  // a FIFO or the like: nothing more to read now
    if (n < 0 && errno == ESPIPE) n = ::read(fd, buffer, want);
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return fail(os_error(err, "cannot read '" + printable(path) + "'"));
    }
    if (n == 0) break;
    if (must_fit && out.size() + static_cast<std::size_t>(n) > max) {
      ::close(fd);
      return fail(make_error("cannot read '" + printable(path) + "'", "it is larger than " + std::to_string(max) + " bytes"));
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace

expected<std::string> read_file_head(const std::string& path, std::size_t max) { return read_range(path, 0, max, false); }

expected<std::string> read_file(const std::string& path, std::size_t max) { return read_range(path, 0, max, true); }

expected<std::string> read_file_tail(const std::string& path, std::size_t max) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(os_error(errno, "cannot read '" + printable(path) + "'"));
  const auto size = static_cast<std::uint64_t>(st.st_size);
  return read_range(path, size > max ? size - max : 0, max, false);
}

expected<void> write_file_atomically(const std::string& path, std::string_view contents, mode_t mode,
                                     bool durable) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return fail(os_error(errno, "cannot write '" + printable(path) + "'"));
  // The umask may have narrowed `mode`; it must never widen it, and fchmod
  // makes the result exactly `mode` either way.
  ::fchmod(fd, mode);
  std::size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail(os_error(err, "cannot write '" + printable(path) + "'"));
    }
    done += static_cast<std::size_t>(n);
  }
  if ((durable && ::fsync(fd) != 0) || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail(os_error(err, "cannot write '" + printable(path) + "'"));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail(os_error(err, "cannot replace '" + printable(path) + "'"));
  }
  return {};
}

expected<void> append_file(const std::string& path, std::string_view text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, mode);
  if (fd < 0) return fail(os_error(errno, "cannot write '" + printable(path) + "'"));
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      return fail(os_error(err, "cannot write '" + printable(path) + "'"));
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return {};
}

expected<void> make_directories(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0) return {};
  if (errno == EEXIST) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};
    return fail(os_error(ENOTDIR, "cannot create directory '" + printable(path) + "'"));
  }
  if (errno != ENOENT) return fail(os_error(errno, "cannot create directory '" + printable(path) + "'"));
  std::string parent = parent_dir(path);
  if (parent == path || parent == ".") return fail(os_error(ENOENT, "cannot create directory '" + printable(path) + "'"));
  if (auto made = make_directories(parent, mode); !made) return made;
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return {};
  return fail(os_error(errno, "cannot create directory '" + printable(path) + "'"));
}

}  // namespace harmony::base
