#pragma once
// Paths the suite agrees on: XDG base directories, PATH-style lists, and the
// path of the running executable.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harmony::base {

enum class XdgDir { cache, state, config, data };

// $XDG_<KIND>_HOME when it is set to an absolute path, else the default under
// $HOME (~/.cache, ~/.local/state, ~/.config, ~/.local/share); nullopt when
// neither gives an absolute path. The XDG spec says relative values are
// invalid and must be ignored.
std::optional<std::string> xdg_home(XdgDir kind);

// Splits "a:b::c" into {"a", "b", "", "c"}; empty entries are kept so callers
// can report them.
std::vector<std::string> split_path_list(std::string_view list);

// The absolute path of the running executable (/proc/self/exe), or empty.
std::string self_executable();

// "dir" + "/" + "name", without doubling a trailing slash.
std::string join_path(std::string_view dir, std::string_view name);

// The directory part of a path ("/a/b" -> "/a", "/a" -> "/").
std::string parent_dir(std::string_view path);

}  // namespace harmony::base
