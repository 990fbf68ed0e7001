#include "dispatch.hpp"

#include <harmony/base/names.hpp>
#include <harmony/base/paths.hpp>
#include <harmony/base/suggest.hpp>
#include <harmony/plugin/naming.hpp>
#include <harmony/version.hpp>

#include "listing.hpp"
#include "metadata.hpp"

namespace harmony::dispatcher {
namespace {

std::string quoted(std::string_view text) { return "'" + base::printable(text) + "'"; }

std::string hint_for(const Candidate& c, const Issue& issue) {
  const std::string which = "see 'harmony which " + plugin::command_for_words(c.words) + "'";
  switch (issue.problem) {
    case Problem::not_executable: return "make it executable: chmod +x " + base::printable(c.path);
    case Problem::insecure:
      return "only files and directories owned by root or you, and not writable by group or others (chmod go-w), "
             "are trusted; fix them, or set HARMONY_ALLOW_INSECURE_PATH=1 to run it anyway";
    case Problem::incompatible: return "upgrade harmony or the plugin; " + which;
    case Problem::missing: return "fix the link or remove it";
    case Problem::link_loop: return "fix the links or remove them";
    case Problem::not_regular: return "rename or remove it";
    default: return which;
  }
}

// Refuses to run a plugin that is not the file discovery judged any more.
[[noreturn]] void refuse_changed(const Candidate& plugin, const std::string& what) {
  base::Error e = base::make_error("refusing to run plugin " + quoted(plugin::command_for_words(plugin.words)),
                                   base::printable(plugin.path) + ": " + what,
                                   "something changed the file while harmony ran; run the command again, or see "
                                   "'harmony which " + plugin::command_for_words(plugin.words) + "'");
  e.status = base::exit_status::not_executable;
  raise(std::move(e));
}

// What was checked is what runs: a binary runs through the descriptor that
// was compared with the judged file. A `#!` script must be exec'd by path
// (its interpreter opens the path, and $0 is the path), so its path is
// compared once more just before execve.
[[noreturn]] void exec_plugin(const Context& ctx, const Candidate& plugin, std::span<const std::string> args) {
  std::vector<std::string> argv;
  argv.reserve(args.size() + 1);
  argv.push_back(plugin.path);
  argv.insert(argv.end(), args.begin(), args.end());
  const base::Environment env = plugin_environment(ctx, plugin);
  auto file = open_for_exec(plugin.path);
  if (!file) refuse_changed(plugin, "it cannot be opened any more: " + file.error().reason);
  if (auto changed = changed_since_check(plugin.stat, file->stat)) refuse_changed(plugin, *changed);
  base::Error e;
  if (file->script) {
    trace(ctx, 3, "harmony: exec " + base::printable(plugin.path) + " (a script, by path)");
    if (auto changed = changed_since_check(*ctx.fs, plugin.path, file->stat)) refuse_changed(plugin, *changed);
    e = base::exec_replace(plugin.path, argv, env);
  } else {
    trace(ctx, 3, "harmony: exec " + base::printable(plugin.path) + " (through its descriptor)");
    e = base::exec_replace_fd(file->fd, plugin.path, argv, env);
  }
  e.reason = base::printable(plugin.path) + ": " + e.reason;
  e.message = "cannot run plugin " + quoted(plugin::command_for_words(plugin.words));
  raise(std::move(e));
}

// `exact`: lifecycle verbs, where exactly one word names the plugin.
Resolution resolve_for(const Context& ctx, std::span<const std::string> args, bool exact, bool explain) {
  ResolveOptions options;
  options.explain = explain;
  options.exact = exact;
  options.max_words = exact ? 1 : 0;
  options.refused = [&ctx](const Candidate& c) { return cached_refusal(ctx.cache_dir, c.stat, harmony::version); };
  return resolve(*ctx.fs, ctx.search_path, ctx.policy, args, options);
}

}  // namespace

base::Environment plugin_environment(const Context& ctx, const Candidate& plugin) {
  base::Environment env = base::Environment::current();
  env.set("HARMONY_BIN", ctx.self);
  env.set("HARMONY_VERSION", harmony::version);
  env.set("HARMONY_PLUGIN_NAME", plugin.file_name.substr(plugin::file_prefix.size()));
  env.set("HARMONY_VERBOSE", std::to_string(ctx.options.verbose));
  env.set("HARMONY_OUTPUT", ctx.json() ? "json" : "text");
  env.set("HARMONY_NO_COLOR", ctx.options.no_color ? "1" : "0");
  return env;
}

void dispatch(const Context& ctx, std::span<const std::string> args) {
  Resolution r = resolve_for(ctx, args, false, false);
  if (r.chosen) exec_plugin(ctx, *r.chosen, r.args);
  explain_unresolved(ctx, args, false);
}

int dispatch_lifecycle(const Context& ctx, const std::string& verb, std::span<const std::string> args) {
  if (!args.empty() && (args.front() == "-h" || args.front() == "--help")) {
    print_verb_help(ctx, verb);
    return 0;
  }
  if (args.empty() || args.front().starts_with("-")) {
    std::vector<std::string> offering = plugins_offering(ctx, verb);
    raise(base::usage_error(
        "'harmony " + verb + "' needs a plugin name",
        "lifecycle verbs run a plugin: harmony " + verb + " <plugin> [args...]",
        offering.empty() ? "no installed plugin says it offers '" + verb + "'; see 'harmony plugin list'"
                         : "plugins offering '" + verb + "': " + join(offering, ", ")));
  }
  if (auto valid = base::validate_command_word(args.front()); !valid) raise(valid.error());
  Resolution r = resolve_for(ctx, args, true, false);
  if (r.chosen) {
    std::vector<std::string> plugin_args{verb};
    plugin_args.insert(plugin_args.end(), args.begin() + 1, args.end());
    exec_plugin(ctx, *r.chosen, plugin_args);
  }
  explain_unresolved(ctx, args.first(1), true);
}

void explain_unresolved(const Context& ctx, std::span<const std::string> args, bool exact) {
  if (args.empty()) raise(base::usage_error("no command given", {}, "run 'harmony help'"));
  if (leading_words(args) == 0) {
    if (args.front() == "--")
      raise(base::usage_error("unexpected '--' before the command", "'--' ends options; no command follows it",
                              "put the command first: harmony <command> [args...]"));
    auto valid = base::validate_command_word(args.front());
    base::Error e = valid ? base::usage_error("unknown command " + quoted(args.front())) : valid.error();
    e.hint = "run 'harmony help' to see the commands";
    raise(std::move(e));
  }

  Resolution r = resolve_for(ctx, args, exact, true);

  if (!r.skipped.empty()) {
    const Candidate& c = r.skipped.front();
    const Issue& issue = *c.first_blocking();
    const bool refused = issue.problem == Problem::insecure || issue.problem == Problem::incompatible;
    base::Error e = base::make_error(
        std::string(refused ? "refusing to run" : "cannot run") + " plugin " + quoted(plugin::command_for_words(c.words)),
        base::printable(c.path) + ": " + issue.message, hint_for(c, issue));
    if (r.skipped.size() > 1)
      e.reason += " (and " + std::to_string(r.skipped.size() - 1) + " more; see 'harmony which " +
                  plugin::command_for_words(c.words) + "')";
    e.status = base::exit_status::not_executable;
    raise(std::move(e));
  }

  const std::string& first = args.front();
  base::Error e = base::make_error(
      exact ? "unknown plugin " + quoted(first) : "unknown command " + quoted(first),
      (exact ? "no " : "no built-in command and no ") + std::string("plugin named ") + r.tried.back() + " in the " +
          std::to_string(ctx.search_path.dirs.size()) + " directories of HARMONY_PLUGIN_PATH and PATH");
  e.status = base::exit_status::not_found;
  std::vector<std::string> known = exact ? std::vector<std::string>{} : builtin_names();
  for (const auto& command : load_catalog(ctx).commands()) known.push_back(command.substr(0, command.find(' ')));
  auto close = base::suggest(first, known);
  e.hint = close.empty() ? "run 'harmony help' to see the commands, or 'harmony plugin list' for the plugins"
                         : "did you mean " + join(close, " or ", "'") + "?";
  // A plugin directory put on PATH as a relative entry is the usual reason
  // a freshly built plugin is "unknown": say so, with the entries.
  if (!ctx.search_path.skipped.empty()) {
    std::vector<std::string> entries;
    for (const auto& skipped : ctx.search_path.skipped)
      entries.push_back(skipped.entry.empty() ? "an empty entry in " + skipped.variable
                                              : quoted(base::printable(skipped.entry)) + " in " + skipped.variable);
    e.hint += "; not searched: " + join(entries, ", ") +
              " (relative and empty entries never are: put the plugin's directory on PATH as an absolute path)";
  }
  raise(std::move(e));
}

}  // namespace harmony::dispatcher
