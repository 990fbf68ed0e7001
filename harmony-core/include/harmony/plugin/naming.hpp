#pragma once
// How command words map to plugin file names and back (kubectl's rule):
// words are joined with '-', and a '-' inside a word becomes '_' in the file
// name. `harmony my-app deploy` -> `harmony-my_app`; `harmony foo bar` ->
// `harmony-foo-bar`. The reverse maps '_' back to '-'.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace harmony::plugin {

inline constexpr std::string_view file_prefix = "harmony-";

// "my-app" + "x" -> "my_app-x" (the part after the prefix).
std::string name_for_words(std::span<const std::string> words);

// "harmony-my_app-x" -> {"my-app", "x"}; nullopt when the file name lacks the
// prefix or a word would not be a valid command word.
std::optional<std::vector<std::string>> words_for_file_name(std::string_view file_name);

// {"my-app", "x"} -> "my-app x": how users type the command.
std::string command_for_words(std::span<const std::string> words);

}  // namespace harmony::plugin
