#include <harmony/base/files.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <harmony/base/paths.hpp>

#include "files_internal.hpp"

namespace harmony::base {

namespace detail {

expected<std::string> read_fd_range(int fd, const std::string& path, std::uint64_t offset, std::size_t max,
                                    bool must_fit) {
  std::string out;
  char buffer[65536];
  while (true) {
    const std::size_t want = must_fit ? sizeof buffer : std::min(sizeof buffer, max - out.size());
    if (want == 0) break;
    ssize_t n = ::pread(fd, buffer, want, static_cast<off_t>(offset + out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;  // a FIFO or the like: nothing more to read now
    if (n < 0 && errno == ESPIPE) n = ::read(fd, buffer, want);
    if (n < 0) return fail(os_error(errno, "cannot read '" + printable(path) + "'"));
    if (n == 0) break;
    if (must_fit && out.size() + static_cast<std::size_t>(n) > max)
      return fail(make_error("cannot read '" + printable(path) + "'", "it is larger than " + std::to_string(max) + " bytes"));
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace detail

namespace {

// Reads the file's bytes [offset, offset + max) into a string; a shorter file
// gives fewer bytes. With `must_fit`, a file that has more is an error.
expected<std::string> read_range(const std::string& path, std::uint64_t offset, std::size_t max, bool must_fit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return fail(os_error(errno, "cannot read '" + printable(path) + "'"));
  auto text = detail::read_fd_range(fd, path, offset, max, must_fit);
  ::close(fd);
  return text;
}

// A name beside `path` that nobody can guess: 64 random bits. A fixed name
// (the pid) let two writers in one process share a temporary, and let anyone
// who may write the directory plant a symlink there first.
std::string temporary_name(const std::string& path) {
  std::uint64_t bits = 0;
  // GRND_NONBLOCK: early in boot the pool may not be ready; the fallback serves then.
  if (::getrandom(&bits, sizeof bits, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof bits)) {
    // No entropy source: still unique within this host and moment, and O_EXCL guards the rest.
    static std::atomic<std::uint64_t> counter{0};
    bits = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
           (static_cast<std::uint64_t>(::getpid()) << 32) ^ counter.fetch_add(1);
  }
  static const char digits[] = "0123456789abcdef";
  std::string name = path + ".tmp.";
  for (int i = 0; i < 16; ++i, bits >>= 4) name += digits[bits & 0xf];
  return name;
}

// fsyncs the directory holding `path`, so that a rename in it is on disk.
int sync_directory(const std::string& path) {
  const int dir = ::open(parent_dir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return errno;
  const int err = ::fsync(dir) == 0 ? 0 : errno;
  ::close(dir);
  return err;
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
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 8 && fd < 0; ++attempt) {
    tmp = temporary_name(path);
    // O_EXCL: we create it, or fail; never open what someone put there.
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) return fail(os_error(errno, "cannot write '" + printable(path) + "'"));
  auto give_up = [&](int err, const std::string& what) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail(os_error(err, what + " '" + printable(path) + "'"));
  };
  // The umask may have narrowed `mode`; it must never widen it, and fchmod
  // makes the result exactly `mode` either way.
  if (::fchmod(fd, mode) != 0) return give_up(errno, "cannot set the mode of");
  std::size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return give_up(n < 0 ? errno : EIO, "cannot write");
    done += static_cast<std::size_t>(n);
  }
  if (durable && ::fsync(fd) != 0) return give_up(errno, "cannot write");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail(os_error(err, "cannot write '" + printable(path) + "'"));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail(os_error(err, "cannot replace '" + printable(path) + "'"));
  }
  // The rename itself must survive a crash too, or the old file comes back.
  if (durable)
    if (const int err = sync_directory(path); err != 0) return fail(os_error(err, "cannot write '" + printable(path) + "'"));
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
