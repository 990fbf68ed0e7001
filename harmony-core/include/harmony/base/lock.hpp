#pragma once
// An exclusive lock on a file (flock), released when the holder exits, even
// by a crash. The holder's pid is written into the file so that whoever waits
// can say who holds it.

#include <chrono>
#include <functional>
#include <string>

#include <harmony/base/expected.hpp>

namespace harmony::base {

class FileLock {
 public:
  struct Options {
    std::chrono::milliseconds wait{0};                // 0: do not wait
    std::function<void(int holder_pid)> on_wait{};    // called once if we have to wait
    std::function<bool()> interrupted{};              // polled while waiting
  };

  // Errors: os_errno EWOULDBLOCK when still held after `wait` (the reason
  // names the holder), EINTR when `interrupted` said so.
  static expected<FileLock> acquire(const std::string& path, const Options& options);

  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace harmony::base
