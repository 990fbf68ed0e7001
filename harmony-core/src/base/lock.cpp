#include <harmony/base/lock.hpp>

#include <harmony/base/files.hpp>
#include <harmony/base/paths.hpp>

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace harmony::base {
namespace {

int holder_of(int fd) {
  char buffer[32] = {};
  ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  return n > 0 ? std::atoi(buffer) : 0;
}

// Whether fd is still the file at path: a holder may remove the lock file
// (harmony destroy --purge leaves nothing behind), and a lock on a removed
// file excludes nobody.
bool still_at(int fd, const std::string& path) {
  struct stat held {}, named {};
  return ::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
         held.st_ino == named.st_ino;
}

expected<void> wait_for_lock(int fd, const std::string& path, const FileLock::Options& options,
                              std::chrono::steady_clock::time_point until, bool& told) {
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      int err = errno;
      ::close(fd);
      return fail(os_error(err, "cannot lock '" + printable(path) + "'"));
    }
    const int holder = holder_of(fd);
    if (options.interrupted && options.interrupted()) {
      ::close(fd);
      Error e = make_error("interrupted while waiting for a lock");
      e.os_errno = EINTR;
      return fail(std::move(e));
    }
    if (std::chrono::steady_clock::now() >= until) {
      ::close(fd);
      Error e = make_error("'" + printable(path) + "' is locked",
                           holder > 0 ? "process " + std::to_string(holder) + " holds it" : "another process holds it");
      e.os_errno = EWOULDBLOCK;
      return fail(std::move(e));
    }
    if (!told && options.on_wait) {
      options.on_wait(holder);
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return {};
}

}  // namespace

expected<FileLock> FileLock::acquire(const std::string& path, const Options& options) {
  const auto until = std::chrono::steady_clock::now() + options.wait;
  bool told = false;
  for (bool again = false;; again = true) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == ENOENT && again) {
      // The holder purged the directory too; the caller had made it.
      if (auto made = make_directories(parent_dir(path), 0700); !made) return fail(made.error());
      fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    }
    if (fd < 0) return fail(os_error(errno, "cannot open the lock file '" + printable(path) + "'"));
    auto locked = wait_for_lock(fd, path, options, until, told);
    if (!locked) return fail(std::move(locked.error()));
    if (still_at(fd, path)) {
      std::string pid = std::to_string(::getpid()) + "\n";
      if (::ftruncate(fd, 0) == 0) {
        ssize_t ignored = ::pwrite(fd, pid.data(), pid.size(), 0);
        (void)ignored;
      }
      return FileLock(fd);
    }
    ::close(fd);
  }
}

FileLock::~FileLock() {
  if (fd_ < 0) return;
  // Leave the pid of nobody behind; the lock itself goes with the descriptor.
  if (::ftruncate(fd_, 0) != 0) {
  }
  ::close(fd_);
}

}  // namespace harmony::base
