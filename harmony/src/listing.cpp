#include "listing.hpp"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include <harmony/base/names.hpp>
#include <harmony/base/suggest.hpp>
#include <harmony/base/text.hpp>
#include <harmony/plugin/descriptor.hpp>
#include <harmony/plugin/naming.hpp>
#include <harmony/version.hpp>

#include "args.hpp"
#include "dispatch.hpp"

namespace harmony::dispatcher {
namespace {

using nlohmann::json;
using base::printable;

constexpr BuiltinInfo builtins[] = {
    {"plugin", "list, describe or create plugins (plugin list, plugin info <name>, plugin new <name>)"},
    {"which", "show what a command runs, what it shadows and what was skipped"},
    {"completion", "print the shell completion script (bash, zsh or fish)"},
    {"version", "print harmony's version"},
    {"help", "show this help, or a command's help (help <command>)"},
};
constexpr BuiltinInfo verbs[] = {
    {"deploy", "deploy a plugin's components and wait until they pass their smoke tests"},
    {"destroy", "undo a plugin's deploy"},
    {"status", "show the state of a plugin's components"},
    {"plan", "show what a deploy would change"},
};

// Paths and file names may be any bytes; JSON output replaces what is not UTF-8.
std::string dump(const json& doc) { return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n"; }

std::string command_of(const Candidate& c) {
  return c.words.empty() ? printable(c.file_name) : plugin::command_for_words(c.words);
}

std::string version_of(const Metadata& m) { return m.descriptor ? m.descriptor->version : std::string(); }

json issues_json(const Candidate& c) {
  json out = json::array();
  for (const auto& issue : c.issues)
    out.push_back({{"problem", problem_id(issue.problem)}, {"message", issue.message}, {"blocking", issue.blocking}});
  return out;
}

json descriptor_json(const Metadata& m) {
  if (!m.descriptor) return nullptr;
  return json::parse(plugin::descriptor_to_json(*m.descriptor));
}

json entry_json(const CatalogEntry& e) {
  const Candidate& c = e.candidate;
  json out = {
      {"name", c.file_name.substr(std::min(c.file_name.size(), plugin::file_prefix.size()))},
      {"command", c.words.empty() ? json(nullptr) : json(plugin::command_for_words(c.words))},
      {"path", c.path},
      {"status", e.status()},
      {"runnable", c.runnable()},
      {"winner", e.winner},
      {"shadowed_by", e.shadowed_by.empty() ? json(nullptr) : json(e.shadowed_by)},
      {"version", e.metadata.descriptor ? json(e.metadata.descriptor->version) : json(nullptr)},
      {"description", e.metadata.description.empty() ? json(nullptr) : json(e.metadata.description)},
      {"metadata_source", source_id(e.metadata.source)},
      {"descriptor", descriptor_json(e.metadata)},
      {"problems", issues_json(c)},
  };
  return out;
}

// One line per thing worth a warning in a listing.
std::vector<std::string> warnings(const Catalog& catalog) {
  std::vector<std::string> out;
  for (const auto& s : catalog.search_path.skipped)
    out.push_back(s.variable + " entry '" + printable(s.entry) + "': " + s.reason);
  for (const auto& e : catalog.entries) {
    const Candidate& c = e.candidate;
    for (const auto& issue : c.issues) {
      std::string line = printable(c.path) + ": " + issue.message;
      if (issue.blocking) line += e.shadowed_by.empty() ? "; never run" : "; skipped, " + printable(e.shadowed_by) + " runs instead";
      out.push_back(std::move(line));
    }
    if (c.runnable() && !e.shadowed_by.empty())
      out.push_back(printable(c.path) + ": shadowed by " + printable(e.shadowed_by));
  }
  return out;
}

void print_warnings(const Catalog& catalog) {
  std::string text;
  for (const auto& w : warnings(catalog)) text += "harmony: warning: " + w + "\n";
  std::fputs(text.c_str(), stderr);
}

json search_path_json(const Catalog& catalog) {
  json skipped = json::array();
  for (const auto& s : catalog.search_path.skipped)
    skipped.push_back({{"entry", s.entry}, {"variable", s.variable}, {"reason", s.reason}});
  for (const auto& s : catalog.skipped_dirs) skipped.push_back({{"entry", s.dir}, {"reason", s.reason}});
  return {{"search_path", catalog.search_path.dirs}, {"skipped_path_entries", std::move(skipped)}};
}

// Files named like a built-in (harmony-<builtin>...), for `which <builtin>`.
std::vector<const CatalogEntry*> clashes_with(const Catalog& catalog, std::string_view builtin) {
  std::vector<const CatalogEntry*> out;
  for (const auto& e : catalog.entries)
    if (!e.candidate.words.empty() && e.candidate.words.front() == builtin) out.push_back(&e);
  return out;
}

}  // namespace

std::string join(const std::vector<std::string>& items, std::string_view separator, std::string_view quote) {
  std::vector<std::string> quoted;
  for (const auto& item : items) quoted.push_back(std::string(quote) + item + std::string(quote));
  return base::join(quoted, separator);
}

std::span<const BuiltinInfo> builtin_infos() { return builtins; }

std::vector<std::string> builtin_names() {
  std::vector<std::string> out;
  for (const auto& b : builtins) out.emplace_back(b.name);
  for (const auto& v : verbs) out.emplace_back(v.name);
  return out;
}

Catalog load_catalog(const Context& ctx) {
  MetadataCache cache(ctx.cache_dir, harmony::version);
  return scan_catalog(*ctx.fs, ctx.search_path, ctx.policy, cache, harmony::version);
}

std::vector<std::string> plugins_offering(const Context& ctx, const std::string& verb) {
  std::vector<std::string> out;
  for (const auto& e : load_catalog(ctx).entries)
    if (e.winner && e.metadata.descriptor && e.metadata.descriptor->offers_verb(verb) && e.candidate.words.size() == 1)
      out.push_back(e.candidate.words.front());
  return out;
}

int plugin_list(const Context& ctx, bool name_only) {
  Catalog catalog = load_catalog(ctx);
  if (ctx.json()) {
    json plugins = json::array();
    for (const auto& e : catalog.entries) plugins.push_back(entry_json(e));
    json doc = {{"harmony_version", harmony::version}};
    doc.update(search_path_json(catalog));
    doc["plugins"] = std::move(plugins);
    print(dump(doc));
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  if (!name_only) rows.push_back({"COMMAND", "VERSION", "DESCRIPTION", "PATH"});
  for (const auto& e : catalog.entries) {
    if (!e.winner) continue;
    if (name_only) {
      rows.push_back({command_of(e.candidate)});
      continue;
    }
    std::string v = version_of(e.metadata);
    rows.push_back({command_of(e.candidate), v.empty() ? "-" : printable(v),
                    e.metadata.description.empty() ? "-" : printable(e.metadata.description),
                    printable(e.candidate.path)});
  }
  if (rows.size() > (name_only ? 0u : 1u)) print(base::format_table(rows));
  print_warnings(catalog);
  if (rows.size() == (name_only ? 0u : 1u))
    std::fprintf(stderr, "harmony: no plugins found in the %zu directories of HARMONY_PLUGIN_PATH and PATH\n",
                 catalog.search_path.dirs.size());
  return 0;
}

int plugin_info(const Context& ctx, std::span<const std::string> words_in) {
  std::vector<std::string> words(words_in.begin(), words_in.end());
  // Accept the file name too: `plugin info harmony-my_app`.
  if (words.size() == 1)
    if (auto from_file = plugin::words_for_file_name(words.front())) words = *from_file;
  Catalog catalog = load_catalog(ctx);
  std::vector<const CatalogEntry*> matching;
  for (const auto& e : catalog.entries)
    if (e.candidate.words == words) matching.push_back(&e);
  if (matching.empty()) {
    if (words.size() == 1 && is_builtin(words.front()))
      raise(base::usage_error("'" + words.front() + "' is a built-in command, not a plugin", {},
                              "run 'harmony help " + words.front() + "'"));
    explain_unresolved(ctx, words, true);
  }
  const CatalogEntry* winner = nullptr;
  for (const auto* e : matching)
    if (e->winner) winner = e;
  const CatalogEntry& shown = winner ? *winner : *matching.front();

  if (ctx.json()) {
    json doc = entry_json(shown);
    json others = json::array();
    for (const auto* e : matching)
      if (e != &shown) others.push_back(entry_json(*e));
    doc["other_candidates"] = std::move(others);
    print(dump(doc));
  } else {
    const Metadata& m = shown.metadata;
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"command:", command_of(shown.candidate)});
    rows.push_back({"path:", printable(shown.candidate.path)});
    rows.push_back({"status:", shown.status()});
    if (m.descriptor) {
      const auto& d = *m.descriptor;
      rows.push_back({"version:", printable(d.version)});
      rows.push_back({"description:", printable(d.description)});
      rows.push_back({"metadata:", "embedded descriptor, protocol " + std::to_string(d.protocol_major) + "." +
                                       std::to_string(d.protocol_minor)});
      if (!d.sdk_version.empty()) rows.push_back({"sdk version:", printable(d.sdk_version)});
      rows.push_back({"requires:", d.requires_harmony.empty() ? "any harmony" : "harmony >= " + printable(d.requires_harmony)});
      rows.push_back({"verbs:", d.verbs.empty() ? "-" : printable(join(d.verbs, ", "))});
      rows.push_back({"components:", d.components.empty() ? "-" : printable(join(d.components, ", "))});
      std::vector<std::string> topologies;
      for (const auto& t : d.topologies) topologies.push_back(t == d.default_topology ? t + " (default)" : t);
      rows.push_back({"topologies:", topologies.empty() ? "-" : printable(join(topologies, ", "))});
      rows.push_back({"completion:", d.completion ? "yes" : "no"});
    } else {
      rows.push_back({"description:", m.description.empty() ? "-" : printable(m.description)});
      rows.push_back({"metadata:", m.source == Metadata::Source::script ? "script comment" : "none"});
    }
    for (const auto& issue : shown.candidate.issues) rows.push_back({"problem:", issue.message});
    for (const auto* e : matching) {
      if (e == &shown) continue;
      std::string line = printable(e->candidate.path);
      if (const Issue* i = e->candidate.first_blocking()) line += " (skipped: " + i->message + ")";
      rows.push_back({e->candidate.runnable() ? "shadows:" : "skipped:", line});
    }
    print(base::format_table(rows));
  }
  if (!shown.candidate.runnable()) {
    const Issue& issue = *shown.candidate.first_blocking();
    base::Error e = base::make_error("plugin '" + plugin::command_for_words(words) + "' cannot run",
                                     printable(shown.candidate.path) + ": " + issue.message);
    e.status = base::exit_status::not_executable;
    raise(std::move(e));
  }
  return 0;
}

int which(const Context& ctx, std::span<const std::string> args) {
  if (args.empty()) raise(base::usage_error("'harmony which' needs a command", {}, "for example: harmony which deploy fleet"));
  json doc = {{"command", std::vector<std::string>(args.begin(), args.end())}};
  std::vector<std::vector<std::string>> rows;
  const std::string& first = args.front();

  if (std::find(std::begin(builtin_commands), std::end(builtin_commands), first) != std::end(builtin_commands)) {
    Catalog catalog = load_catalog(ctx);
    doc["kind"] = "builtin";
    doc["builtin"] = first;
    json ignored = json::array();
    rows.push_back({"runs:", "the built-in command '" + first + "'"});
    for (const auto* e : clashes_with(catalog, first)) {
      ignored.push_back({{"path", e->candidate.path}, {"problem", "clash"}});
      rows.push_back({"ignored:", printable(e->candidate.path) + " (built-ins cannot be replaced)"});
    }
    doc["ignored"] = std::move(ignored);
    print(ctx.json() ? dump(doc) : base::format_table(rows));
    return 0;
  }

  const bool lifecycle = is_lifecycle_verb(first);
  std::span<const std::string> lookup = lifecycle ? args.subspan(1) : args;
  if (lifecycle && (lookup.empty() || !base::is_command_word(lookup.front())))
    raise(base::usage_error("'harmony which " + first + "' needs a plugin name", {},
                            "for example: harmony which " + first + " fleet"));

  // Incompatibility needs the descriptor: read it (through the cache) for
  // every runnable file, so `which` refuses exactly what dispatch refuses once
  // the cache knows, and falls through to the same file.
  MetadataCache cache(ctx.cache_dir, harmony::version);
  ResolveOptions options;
  options.explain = true;
  options.exact = lifecycle;
  options.max_words = lifecycle ? 1 : 0;
  options.refused = [&](const Candidate& c) -> std::optional<std::string> {
    Candidate checked = c;
    apply_metadata(checked, cache.get(*ctx.fs, c), harmony::version);
    if (const Issue* issue = checked.first_blocking()) return issue->message;
    return std::nullopt;
  };
  Resolution r = resolve(*ctx.fs, ctx.search_path, ctx.policy, lookup, options);
  cache.save(false);

  json skipped_json = json::array();
  for (const auto& c : r.skipped) {
    const Issue* issue = c.first_blocking();
    skipped_json.push_back({{"path", c.path},
                            {"problem", issue ? problem_id(issue->problem) : "unknown"},
                            {"message", issue ? issue->message : ""}});
  }
  json shadows = json::array();
  for (const auto& c : r.shadowed) shadows.push_back(c.path);
  doc["shadows"] = std::move(shadows);
  doc["skipped"] = std::move(skipped_json);

  if (r.chosen) {
    std::vector<std::string> argv{r.chosen->path};
    if (lifecycle) argv.push_back(first);
    argv.insert(argv.end(), r.args.begin(), r.args.end());
    doc["kind"] = "plugin";
    doc["plugin"] = plugin::command_for_words(r.chosen->words);
    doc["path"] = r.chosen->path;
    doc["argv"] = argv;
    std::string line;
    for (const auto& a : argv) line += (line.empty() ? "" : " ") + printable(a);
    rows.push_back({"runs:", line});
    for (const auto& c : r.shadowed) rows.push_back({"shadows:", printable(c.path)});
  } else {
    doc["kind"] = nullptr;
    doc["path"] = nullptr;
  }
  for (const auto& c : r.skipped) {
    const Issue* issue = c.first_blocking();
    rows.push_back({"skipped:", printable(c.path) + " (" + (issue ? issue->message : "") + ")"});
  }
  if (ctx.json())
    print(dump(doc));
  else if (!rows.empty())
    print(base::format_table(rows));
  if (!r.chosen) explain_unresolved(ctx, lookup, lifecycle);
  return 0;
}

int version(const Context& ctx) {
  std::string protocol = std::to_string(plugin::protocol_major) + "." + std::to_string(plugin::protocol_minor);
  if (ctx.json())
    print(dump({{"version", harmony::version}, {"plugin_protocol", protocol}}));
  else
    print(std::string("harmony ") + harmony::version + " (plugin protocol " + protocol + ")\n");
  return 0;
}

int help_overview(const Context& ctx) {
  Catalog catalog = load_catalog(ctx);
  std::vector<const CatalogEntry*> plugins;
  for (const auto& e : catalog.entries)
    if (e.winner) plugins.push_back(&e);

  if (ctx.json()) {
    json b = json::array(), v = json::array(), p = json::array();
    for (const auto& x : builtins) b.push_back({{"name", x.name}, {"description", x.summary}});
    for (const auto& x : verbs) v.push_back({{"name", x.name}, {"description", x.summary}});
    for (const auto* e : plugins)
      p.push_back({{"command", command_of(e->candidate)},
                   {"description", e->metadata.description.empty() ? json(nullptr) : json(e->metadata.description)},
                   {"path", e->candidate.path}});
    print(dump({{"version", harmony::version}, {"builtins", b}, {"lifecycle_verbs", v}, {"plugins", p}}));
    return 0;
  }

  std::string out =
      "harmony deploys infrastructure described as typed code, through plugins.\n"
      "\n"
      "usage: harmony [global flags] <command> [args...]\n"
      "       harmony [global flags] <verb> <plugin> [args...]\n"
      "\n"
      "global flags (only before the command; plugins see them as HARMONY_* variables):\n" +
      flags_help(global_flags) +
      "\n"
      "built-in commands:\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& b : builtins) rows.push_back({"  " + std::string(b.name), std::string(b.summary)});
  out += base::format_table(rows);
  out += "\nlifecycle verbs (harmony <verb> <plugin> runs harmony-<plugin> <verb>):\n";
  rows.clear();
  for (const auto& v : verbs) rows.push_back({"  " + std::string(v.name), std::string(v.summary)});
  out += base::format_table(rows);
  out += "\nplugins:\n";
  rows.clear();
  for (const auto* e : plugins)
    rows.push_back({"  " + command_of(e->candidate), e->metadata.description.empty() ? "-" : printable(e->metadata.description)});
  out += rows.empty() ? "  (none found; see 'harmony plugin list')\n" : base::format_table(rows);
  out += "\nrun 'harmony help <command>' for a command's help, 'harmony plugin list' for details.\n";
  print(out);
  return 0;
}

void print_verb_help(const Context& ctx, const std::string& verb) {
  std::string summary;
  for (const auto& v : verbs)
    if (v.name == verb) summary = v.summary;
  std::vector<std::string> offering = plugins_offering(ctx, verb);
  std::string out = "usage: harmony " + verb + " <plugin> [args...]\n\n" + verb + ": " + summary +
                    ".\nRuns harmony-<plugin> " + verb + " [args...]; run 'harmony " + verb +
                    " <plugin> --help' for the plugin's own flags.\n\nplugins offering '" + verb + "': " +
                    (offering.empty() ? "none found" : join(offering, ", ")) + "\n";
  print(out);
}

}  // namespace harmony::dispatcher
