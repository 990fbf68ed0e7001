#include "yaml.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace harmony::fleet::detail {
namespace {

// YAML 1.1 and 1.2 readers (helm's, kubectl's) type these plain scalars.
bool needs_quotes(const std::string& s) {
  if (s.empty()) return true;
  const char first = s.front();
  if (std::isdigit(static_cast<unsigned char>(first)) || first == '-' || first == '+' || first == '.' || first == '~')
    return true;
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* word : {"true", "false", "yes", "no", "on", "off", "y", "n", "null"})
    if (lower == word) return true;
  if (std::string_view("?:,[]{}#&*!|>'\"%@`").find(first) != std::string_view::npos) return true;
  return s.find(": ") != std::string::npos || s.find(" #") != std::string::npos || s.find('\n') != std::string::npos ||
         s.back() == ':' || s.front() == ' ' || s.back() == ' ';
}

void emit(YAML::Emitter& out, const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object:
      if (value.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      out << YAML::BeginMap;
      for (const auto& [k, v] : value.items()) {
        out << YAML::Key;
        if (needs_quotes(k)) out << YAML::DoubleQuoted;
        out << k << YAML::Value;
        emit(out, v);
      }
      out << YAML::EndMap;
      return;
    case nlohmann::json::value_t::array:
      if (value.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      out << YAML::BeginSeq;
      for (const auto& v : value) emit(out, v);
      out << YAML::EndSeq;
      return;
    case nlohmann::json::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      if (needs_quotes(s)) out << YAML::DoubleQuoted;
      out << s;
      return;
    }
    case nlohmann::json::value_t::boolean:
      out << (value.get<bool>() ? "true" : "false");
      return;
    case nlohmann::json::value_t::null:
      out << YAML::Null;
      return;
    default:
      out << value.dump();  // numbers, as JSON writes them
  }
}

}  // namespace

std::string yaml_text(const nlohmann::json& document) {
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::Block;
  emit(out, document);
  return std::string(out.c_str()) + "\n";
}

}  // namespace harmony::fleet::detail
