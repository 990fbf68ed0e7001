#pragma once
// Whole-file reads and atomic writes, on plain POSIX calls (no iostreams: the
// lean binaries must not pay for their static initialisation).

#include <string>
#include <sys/types.h>

#include <harmony/base/expected.hpp>

namespace harmony::base {

// Reads at most `max` bytes; a longer file is an error, not a silent cut.
expected<std::string> read_file(const std::string& path, std::size_t max = 16 * 1024 * 1024);

// Writes `contents` to a temporary file beside `path`, then renames it over
// `path`: readers see the old file or the new one, never a mix, and
// concurrent writers each land whole. The temporary's name is random and it
// is created with O_EXCL | O_NOFOLLOW, so nothing planted in the directory is
// opened or followed. `mode` is applied at creation (before any byte is
// written) and then exactly, whatever the umask, so a secret is never
// readable by others, not even for a moment. With `durable`, the data reaches
// the disk before the rename and the directory is synced after it (state and
// credentials); caches can skip that. Secrets are read with
// `read_secret_file` (secrets.hpp).
expected<void> write_file_atomically(const std::string& path, std::string_view contents, mode_t mode = 0644,
                                     bool durable = true);

// Appends to a file, creating it with `mode`.
expected<void> append_file(const std::string& path, std::string_view text, mode_t mode = 0644);

// The first `max` bytes of a file (all of it when shorter).
expected<std::string> read_file_head(const std::string& path, std::size_t max);

// The last `max` bytes of a file (all of it when shorter).
expected<std::string> read_file_tail(const std::string& path, std::size_t max);

// Creates a directory and its missing parents with `mode`.
expected<void> make_directories(const std::string& path, mode_t mode = 0755);

}  // namespace harmony::base
