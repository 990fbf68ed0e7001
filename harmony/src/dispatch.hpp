#pragma once
// Running plugins: `harmony <words...> args` and `harmony <verb> <plugin>
// args`. On success these replace the process with the plugin and never
// return; otherwise they throw an Error that says what was found and why it
// cannot run, or what was meant.

#include <span>
#include <string>

#include <harmony/base/process.hpp>

#include "context.hpp"

namespace harmony::dispatcher {

[[noreturn]] void dispatch(const Context& ctx, std::span<const std::string> args);

// `args` starts after the verb. Returns (0) only for `harmony <verb> --help`.
int dispatch_lifecycle(const Context& ctx, const std::string& verb, std::span<const std::string> args);

// The environment a plugin starts with: ours plus the HARMONY_* contract
// (docs/plugin-protocol.md).
base::Environment plugin_environment(const Context& ctx, const Candidate& plugin);

// The error for words that name no runnable plugin: "found but cannot run"
// (126) when a file was found, "unknown command" with suggestions (127)
// otherwise.
[[noreturn]] void explain_unresolved(const Context& ctx, std::span<const std::string> args, bool exact);

}  // namespace harmony::dispatcher
