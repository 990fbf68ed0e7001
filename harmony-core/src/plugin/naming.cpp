#include <harmony/plugin/naming.hpp>

#include <harmony/base/names.hpp>

namespace harmony::plugin {

std::string name_for_words(std::span<const std::string> words) {
  std::string out;
  for (const auto& word : words) {
    if (!out.empty()) out.push_back('-');
    for (char c : word) out.push_back(c == '-' ? '_' : c);
  }
  return out;
}

std::optional<std::vector<std::string>> words_for_file_name(std::string_view file_name) {
  if (file_name.size() <= file_prefix.size() || !file_name.starts_with(file_prefix)) return std::nullopt;
  std::string_view rest = file_name.substr(file_prefix.size());
  std::vector<std::string> words;
  while (true) {
    auto dash = rest.find('-');
    std::string word(rest.substr(0, dash));
    for (char& c : word)
      if (c == '_') c = '-';
    if (!base::is_command_word(word)) return std::nullopt;
    words.push_back(std::move(word));
    if (dash == std::string_view::npos) break;
    rest = rest.substr(dash + 1);
  }
  return words;
}

std::string command_for_words(std::span<const std::string> words) {
  std::string out;
  for (const auto& word : words) {
    if (!out.empty()) out.push_back(' ');
    out += word;
  }
  return out;
}

}  // namespace harmony::plugin
