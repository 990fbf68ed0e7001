#pragma once
// The built-in commands that report on plugins: plugin list, plugin info,
// which, version and help. Each prints one document (text, or JSON with -o
// json) and returns its exit status; errors are thrown.

#include <span>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "context.hpp"

namespace harmony::dispatcher {

Catalog load_catalog(const Context& ctx);

int plugin_list(const Context& ctx, bool name_only);
int plugin_info(const Context& ctx, std::span<const std::string> words);
int which(const Context& ctx, std::span<const std::string> args);
int version(const Context& ctx);
// The overview: usage, global flags, built-ins, plugins with descriptions.
int help_overview(const Context& ctx);
void print_verb_help(const Context& ctx, const std::string& verb);

struct BuiltinInfo {
  std::string_view name;
  std::string_view summary;
};
std::span<const BuiltinInfo> builtin_infos();
std::vector<std::string> builtin_names();  // built-ins and lifecycle verbs
std::vector<std::string> plugins_offering(const Context& ctx, const std::string& verb);

std::string join(const std::vector<std::string>& items, std::string_view separator, std::string_view quote = "");

}  // namespace harmony::dispatcher
