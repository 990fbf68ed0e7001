#include "completion.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include <harmony/base/process.hpp>
#include <harmony/base/text.hpp>
#include <harmony/plugin/completion_scripts.hpp>
#include <harmony/plugin/naming.hpp>

#include "args.hpp"
#include "dispatch.hpp"
#include "listing.hpp"

namespace harmony::dispatcher {
namespace {

// A plugin that does not answer in time is skipped: TAB must never hang.
constexpr std::chrono::milliseconds plugin_timeout{2000};
constexpr std::size_t plugin_output_limit = 256 * 1024;

struct Candidates {
  std::string current;
  std::vector<std::string> lines;
  std::set<std::string> seen;

  void add(const std::string& value, std::string_view description = {}) {
    if (!value.starts_with(current) || !seen.insert(value).second) return;
    std::string line = base::printable(value);
    if (!description.empty()) line += "\t" + base::printable(description);
    lines.push_back(std::move(line));
  }
  void directive(std::string_view d) { lines.emplace_back(d); }
};


// Runs `<plugin> __complete <args...>` and passes its answers through.
void ask_plugin(const Context& ctx, const CatalogEntry& plugin, const std::vector<std::string>& args, Candidates& out) {
  if (!plugin.metadata.descriptor || !plugin.metadata.descriptor->completion) return;
  base::ProcessSpec spec;
  spec.argv = {plugin.candidate.path, "__complete"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = plugin_environment(ctx, plugin.candidate);
  spec.stderr_mode = base::OutputMode::discard;
  spec.timeout = plugin_timeout;
  spec.output_limit = plugin_output_limit;
  auto result = base::run_process(spec);
  if (!result || !result->ok()) return;
  for (const auto& line : base::split_lines(result->out)) {
    if (line.empty()) continue;
    if (line.front() == ':') {
      out.directive(base::printable(line));
      continue;
    }
    auto tab = line.find('\t');
    out.add(line.substr(0, tab), tab == std::string::npos ? std::string_view{} : std::string_view(line).substr(tab + 1));
  }
}

// Next words of multi-word plugins: after `harmony foo`, offer `bar` when
// harmony-foo-bar exists.
void add_next_words(const Catalog& catalog, const std::vector<std::string>& typed, Candidates& out) {
  for (const auto& e : catalog.entries) {
    const auto& w = e.candidate.words;
    if (!e.winner || w.size() <= typed.size() || !std::equal(typed.begin(), typed.end(), w.begin())) continue;
    out.add(w[typed.size()], w.size() == typed.size() + 1 ? e.metadata.description : std::string_view{});
  }
}

}  // namespace

std::string completion_script(const std::string& shell) {
  if (auto script = plugin::completion_script(shell, "harmony")) return *script;
  raise(base::usage_error("unknown shell '" + base::printable(shell) + "'", "completion scripts exist for bash, zsh and fish",
                          "run 'harmony completion bash', 'harmony completion zsh' or 'harmony completion fish'"));
}

int complete_request(const Context& ctx, std::span<const std::string> all) {
  Candidates out;
  if (all.empty()) return 0;
  out.current = all.back();
  std::vector<std::string> words(all.begin(), all.end() - 1);

  // Skip the global flags, as the dispatcher does.
  auto globals = parse_args(words, global_flags, Stop::at_positional_or_unknown, "harmony");
  if (!globals) {  // only `-o` waiting for its value
    out.add("text", "plain text");
    out.add("json", "one JSON document");
    print(join(out.lines, "\n") + "\n");
    return 0;
  }
  words = std::move(globals->rest);

  Catalog catalog = load_catalog(ctx);
  auto add_commands = [&] {
    for (const auto& b : builtin_infos()) out.add(std::string(b.name), b.summary);
    for (const auto& v : lifecycle_verbs) out.add(std::string(v), "lifecycle verb");
    add_next_words(catalog, {}, out);
  };

  if (words.empty()) {
    if (out.current.starts_with("-"))
      for (const auto& f : global_flags) out.add("--" + std::string(f.long_name), f.help);
    else
      add_commands();
  } else if (const std::string& first = words.front(); first == "plugin") {
    if (words.size() == 1) {
      out.add("list", "list the plugins");
      out.add("info", "describe one plugin");
      out.add("new", "create a plugin project from the SDK's template");
    } else if (words[1] == "new" && out.current.starts_with("-")) {
      out.add("--dir", "where to create it");
      out.add("--output", "text or json");
    } else if (words[1] == "new" && words.size() > 2 && words.back() == "--dir") {
      out.directive(":files");
    } else if (words[1] == "info") {
      add_next_words(catalog, {words.begin() + 2, words.end()}, out);
    } else if (words[1] == "list" && out.current.starts_with("-")) {
      out.add("--name-only", "only the commands");
      out.add("--output", "text or json");
    }
  } else if (first == "completion") {
    if (words.size() == 1)
      for (const char* shell : {"bash", "zsh", "fish"}) out.add(shell);
  } else if (first == "help" || first == "which") {
    if (words.size() == 1) add_commands();
    else if (is_lifecycle_verb(words[1]) && words.size() == 2)
      add_next_words(catalog, {}, out);
    else
      add_next_words(catalog, {words.begin() + 1, words.end()}, out);
  } else if (first == "version") {
    if (out.current.starts_with("-")) out.add("--output", "text or json");
  } else if (is_lifecycle_verb(first)) {
    if (words.size() == 1) {
      for (const auto& e : catalog.entries)
        if (e.winner && e.candidate.words.size() == 1 && e.metadata.descriptor && e.metadata.descriptor->offers_verb(first))
          out.add(e.candidate.words.front(), e.metadata.description);
    } else if (const CatalogEntry* plugin = catalog.winner_for({words[1]})) {
      std::vector<std::string> args{first};
      args.insert(args.end(), words.begin() + 2, words.end());
      args.push_back(out.current);
      ask_plugin(ctx, *plugin, args, out);
    }
  } else {
    // A plugin command: the longest typed prefix that names a plugin.
    std::size_t typed = leading_words(words);
    add_next_words(catalog, {words.begin(), words.begin() + static_cast<long>(typed)}, out);
    for (std::size_t n = typed; n > 0; --n) {
      const CatalogEntry* plugin = catalog.winner_for({words.begin(), words.begin() + static_cast<long>(n)});
      if (!plugin) continue;
      std::vector<std::string> args(words.begin() + static_cast<long>(n), words.end());
      args.push_back(out.current);
      ask_plugin(ctx, *plugin, args, out);
      break;
    }
  }
  if (!out.lines.empty()) print(join(out.lines, "\n") + "\n");
  return 0;
}

}  // namespace harmony::dispatcher
