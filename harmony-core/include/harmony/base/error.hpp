#pragma once
// Errors below the command layer: a value with a message (what happened), a
// reason (why) and a hint (what to do next), rendered like a compiler
// diagnostic by exactly one function at the top of each program.
//
// `status` is the exit status the error maps to (see exit_status.hpp); it is
// also the error's kind for callers that act on it. `os_errno` keeps the errno
// of a failed system call so callers can tell ENOENT from EACCES.

#include <string>
#include <string_view>

#include <harmony/base/exit_status.hpp>

namespace harmony::base {

struct Error {
  int status = exit_status::failure;
  int os_errno = 0;
  std::string message;
  std::string reason;
  std::string hint;

  Error& with_reason(std::string text) & {
    reason = std::move(text);
    return *this;
  }
  Error&& with_reason(std::string text) && {
    reason = std::move(text);
    return std::move(*this);
  }
  Error& with_hint(std::string text) & {
    hint = std::move(text);
    return *this;
  }
  Error&& with_hint(std::string text) && {
    hint = std::move(text);
    return std::move(*this);
  }
};

// An error with the general failure status.
Error make_error(std::string message, std::string reason = {}, std::string hint = {});
// A command-line mistake (exit status 2).
Error usage_error(std::string message, std::string reason = {}, std::string hint = {});
// A failed system call: keeps errno and uses strerror(errno) as the reason.
Error os_error(int err, std::string message, std::string hint = {});

// Renders `<program>: error: message` plus indented reason and hint lines,
// each ending in a newline. With `color`, the label is red and bold.
std::string render_error(const Error& error, std::string_view program, bool color);

// Replaces control characters (terminal escapes, newlines) with '?', so that
// text from files or plugins cannot rewrite the user's terminal.
std::string printable(std::string_view text);
// The same for multi-line text (logs): keeps newlines and tabs.
std::string printable_lines(std::string_view text);

}  // namespace harmony::base
