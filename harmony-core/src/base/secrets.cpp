#include <harmony/base/secrets.hpp>

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <grp.h>
#include <optional>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <harmony/base/error.hpp>

#include "files_internal.hpp"

namespace harmony::base {
namespace {

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

std::string user_name(uid_t uid) {
  std::vector<char> buffer(4096);
  struct passwd entry {};
  struct passwd* found = nullptr;
  std::string id = "uid " + std::to_string(uid);
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr)
    return "'" + printable(found->pw_name) + "' (" + id + ")";
  return id;
}

std::string group_name(gid_t gid) {
  std::vector<char> buffer(4096);
  struct group entry {};
  struct group* found = nullptr;
  std::string id = "gid " + std::to_string(gid);
  if (::getgrgid_r(gid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr)
    return "'" + printable(found->gr_name) + "' (" + id + ")";
  return id;
}

bool in_group(gid_t gid) {
  if (::getegid() == gid) return true;
  const int count = ::getgroups(0, nullptr);
  if (count <= 0) return false;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  const int got = ::getgroups(count, groups.data());
  for (int i = 0; i < got; ++i)
    if (groups[static_cast<std::size_t>(i)] == gid) return true;
  return false;
}

SecretError refused(std::string_view what, const std::string& path, std::string reason, std::string hint,
                    bool insecure = true) {
  SecretError e;
  e.message = "refusing to use " + std::string(what) + " '" + printable(path) + "'";
  e.reason = std::move(reason);
  e.hint = std::move(hint);
  e.insecure = insecure;
  e.os_errno = EACCES;
  return e;
}

// Why nobody but us may be trusted with this file, or nothing.
std::optional<SecretError> check_access(const struct stat& st, std::string_view what, const std::string& path) {
  const std::string quoted = "'" + printable(path) + "'";
  const std::string mode = octal_mode(st.st_mode);
  if (!S_ISREG(st.st_mode))
    return refused(what, path, "it is not a regular file", "point to a file that holds only the secret", false);
  if (st.st_uid != 0 && st.st_uid != ::geteuid())
    return refused(what, path,
                   "it belongs to user " + user_name(st.st_uid) + ", not to root or to this process's user " +
                       user_name(::geteuid()),
                   "chown it to the user that reads it: chown " + std::to_string(::geteuid()) + " " + quoted);
  if ((st.st_mode & S_IRWXO) != 0)
    return refused(what, path,
                   std::string("others have access to it: ") +
                       ((st.st_mode & S_IROTH) != 0 ? "any user can read it" : "any user can write or run it") +
                       " (mode " + mode + ")",
                   "chmod 600 " + quoted + " (or chmod o-rwx, if its group must read it)");
  if ((st.st_mode & S_IRWXG) != 0 && !in_group(st.st_gid))
    return refused(what, path,
                   "its group " + group_name(st.st_gid) + " has access to it (mode " + mode +
                       ") and this process is not in that group",
                   "chmod g-rwx " + quoted + ", or chgrp it to a group of this process");
  return std::nullopt;
}

}  // namespace

expected<std::string, SecretError> read_secret_file(const std::string& path, std::string_view what, std::size_t limit) {
  auto unreadable = [&](Error error) {
    SecretError e;
    static_cast<Error&>(e) = std::move(error);
    e.message = "cannot read " + std::string(what) + " '" + printable(path) + "'";
    return tl::unexpected<SecretError>(std::move(e));
  };
  // O_NONBLOCK: a FIFO planted at the path must not hang us before the check.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return unreadable(os_error(errno, ""));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return unreadable(os_error(err, ""));
  }
  if (auto problem = check_access(st, what, path)) {
    ::close(fd);
    return tl::unexpected<SecretError>(std::move(*problem));
  }
  auto text = detail::read_fd_range(fd, path, 0, limit, true);
  ::close(fd);
  if (!text) return unreadable(text.error());
  std::string secret = std::move(*text);
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  return secret;
}

}  // namespace harmony::base
