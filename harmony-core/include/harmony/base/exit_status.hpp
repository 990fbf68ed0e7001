#pragma once
// The exit statuses of every harmony executable: one table, documented in
// docs/exit-codes.md. The SDK defines its own statuses inside the reserved
// range [sdk_first, sdk_last]; nothing else may use that range.

namespace harmony::base::exit_status {

inline constexpr int success = 0;
inline constexpr int failure = 1;        // an error without a more specific status
inline constexpr int usage = 2;          // the command line is wrong
inline constexpr int sdk_first = 3;      // reserved for harmony-core's SDK
inline constexpr int sdk_last = 63;
inline constexpr int not_executable = 126;  // found, but cannot or may not be run
inline constexpr int not_found = 127;       // no such command
inline constexpr int signal_base = 128;     // shells report death by signal N as 128+N

}  // namespace harmony::base::exit_status
