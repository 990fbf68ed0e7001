#pragma once
// `harmony plugin new <name> [--dir DIR]`: a new plugin project, copied
// from the SDK's template with its names replaced (docs/plugin-author-guide.md).

#include <optional>
#include <string>

#include "context.hpp"

namespace harmony::dispatcher {

int plugin_new(const Context& ctx, const std::string& name, const std::optional<std::string>& dir);

}  // namespace harmony::dispatcher
