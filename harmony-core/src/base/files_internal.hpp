#pragma once
// Shared by files.cpp and secrets.cpp. Not installed.

#include <cstdint>
#include <string>

#include <harmony/base/expected.hpp>

namespace harmony::base::detail {

// Reads bytes [offset, offset + max) of an open file; `path` only names it in
// errors. With `must_fit`, a file that has more is an error.
expected<std::string> read_fd_range(int fd, const std::string& path, std::uint64_t offset, std::size_t max,
                                    bool must_fit);

}  // namespace harmony::base::detail
