#pragma once
// The exit statuses of every harmony executable: one table, documented in
// docs/exit-codes.md. The SDK defines its own statuses inside the reserved
// range [sdk_first, sdk_last]; nothing else may use that range.

namespace harmony::base::exit_status {

inline constexpr int success = 0;
inline constexpr int failure = 1;        // an error without a more specific status
inline constexpr int usage = 2;          // the command line is wrong
inline constexpr int sdk_first = 3;      // reserved for harmony-core's SDK:
inline constexpr int deploy_failed = 3;      // a component's deploy failed
inline constexpr int smoke_test_failed = 4;  // it deployed, but its smoke test failed
inline constexpr int not_ready = 5;          // it did not become ready in time
inline constexpr int lock_held = 6;          // another operation holds the stack's lock
inline constexpr int unsupported = 7;        // the chosen topology cannot run a component
inline constexpr int invalid_settings = 8;   // --set / -f values do not fit the settings
inline constexpr int port_in_use = 9;        // a port a component needs is taken
inline constexpr int degraded = 10;          // status: something deployed is not up
inline constexpr int unreachable = 11;       // a remote peer (an agent) does not answer
inline constexpr int timed_out = 12;         // a remote request did not complete in time
inline constexpr int remote_error = 13;      // a remote peer answered with an error
// The Kubernetes API server's refusals that a user (or a caller) acts on
// differently; other API errors are unreachable, timed_out or remote_error.
inline constexpr int forbidden = 14;         // RBAC refused the request
inline constexpr int unauthorized = 15;      // the credentials were refused (expired?)
inline constexpr int conflict = 16;          // another field manager owns the fields, or the object changed
inline constexpr int invalid = 17;           // the server refused the object as invalid
inline constexpr int object_not_found = 18;  // a named Kubernetes object or resource type does not exist
inline constexpr int sdk_last = 63;
inline constexpr int not_executable = 126;  // found, but cannot or may not be run
inline constexpr int not_found = 127;       // no such command
inline constexpr int signal_base = 128;     // shells report death by signal N as 128+N
inline constexpr int interrupted = 130;     // stopped by Ctrl-C (128 + SIGINT), as shells report it

}  // namespace harmony::base::exit_status
