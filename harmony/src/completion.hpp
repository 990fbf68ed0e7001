#pragma once
// Shell completion. `harmony completion bash|zsh|fish` prints a script that
// calls back `harmony __complete <words...> <current>`; that request answers
// from the built-ins and the catalog, and asks a plugin (running it) only when
// its descriptor says it answers completion requests. docs/plugin-protocol.md
// specifies both sides.

#include <span>
#include <string>

#include "context.hpp"

namespace harmony::dispatcher {

// Throws a usage error for an unknown shell.
std::string completion_script(const std::string& shell);

// Prints candidates, one per line: "value" or "value<TAB>description", and
// directive lines starting with ':' (":files": also complete file names).
int complete_request(const Context& ctx, std::span<const std::string> words);

}  // namespace harmony::dispatcher
