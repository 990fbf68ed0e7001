#pragma once
// Reading a secret (a password file) only when nobody else can.
//
// `read_secret_file` opens the path, following symlinks (Kubernetes mounts a
// Secret as links into `..data/`), then checks the file it opened with fstat,
// so what is checked is what is read. It refuses the file when
//   - its owner is neither root nor this process's effective user;
//   - others have any access to it (any of o+rwx);
//   - its group has any access and this process is not in that group;
//   - it is not a regular file, or is larger than `limit`.
// An owner, group or mode problem is `SecretError::insecure`, and the reason
// says which ("others", the group's name, the owner's name). The secret is
// the file's text without its trailing line ends; it never appears in an
// error.
//
// A Kubernetes Secret volume is mode 0644 unless its `defaultMode` says
// otherwise: mount it with `defaultMode: 0400` (or 0440 with an fsGroup the
// process is in).

#include <cstddef>
#include <string>
#include <string_view>

#include <harmony/base/expected.hpp>

namespace harmony::base {

// An Error that says whether the file was refused for its permissions
// (`insecure`) or could not be read at all. Converts to Error where the
// difference does not matter.
struct SecretError : Error {
  bool insecure = false;
};

// `what` names the file in messages: "cannot read <what> '<path>'",
// "refusing to use <what> '<path>'".
expected<std::string, SecretError> read_secret_file(const std::string& path, std::string_view what = "the secret file",
                                                    std::size_t limit = 4096);

}  // namespace harmony::base
