#pragma once
// Shell completion scripts for harmony and for plugins run directly
// (`harmony-fleet <TAB>`): each asks the command itself with
// `<command> __complete <words>...` (docs/plugin-protocol.md §7), so one
// script serves any program that speaks that protocol.

#include <optional>
#include <string>
#include <string_view>

namespace harmony::plugin {

// The script for `shell` (bash, zsh or fish) completing `command`; nullopt
// for another shell.
std::optional<std::string> completion_script(std::string_view shell, std::string_view command);

}  // namespace harmony::plugin
