#include "run.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

#include <harmony/base/paths.hpp>
#include <harmony/base/suggest.hpp>

#include "args.hpp"
#include "completion.hpp"
#include "context.hpp"
#include "dispatch.hpp"
#include "listing.hpp"
#include "metadata.hpp"
#include "scaffold.hpp"

namespace harmony::dispatcher {
namespace {

// Set once the global flags are parsed, for the error printer.
bool no_color_requested = false;

const char* env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && value[0] != '\0' ? value : nullptr;
}

OutputFormat parse_format(const std::string& text, const char* where) {
  if (text == "text") return OutputFormat::text;
  if (text == "json") return OutputFormat::json;
  raise(base::usage_error(std::string(where) + " must be 'text' or 'json', not '" + base::printable(text) + "'"));
}

constexpr FlagSpec output_only[] = {{"output", 'o', "FORMAT", "text or json"}};
constexpr FlagSpec list_flags[] = {{"name-only", 0, {}, "print only the commands, one per line"},
                                   {"output", 'o', "FORMAT", "text or json"}};

// One built-in command's command line: its flags and its help.
struct Usage {
  std::string_view command;  // "harmony plugin list"
  std::string_view synopsis;
  std::string_view description;
  std::span<const FlagSpec> flags;
};

constexpr Usage plugin_list_usage{"harmony plugin list", "harmony plugin list [--name-only] [-o json]",
                                  "List the plugins in HARMONY_PLUGIN_PATH and PATH: what runs, and every problem\n"
                                  "found (shadowed, not executable, insecure, incompatible...) on stderr.",
                                  list_flags};
constexpr Usage plugin_info_usage{"harmony plugin info", "harmony plugin info [-o json] <name>",
                                  "Describe one plugin: its descriptor, path, problems and the copies it shadows.\n"
                                  "<name> is the command's words (foo bar) or the file name (harmony-foo-bar).",
                                  output_only};
constexpr FlagSpec new_flags[] = {{"dir", 0, "DIR", "where to create it (default: ./harmony-<name>)"},
                                  {"output", 'o', "FORMAT", "text or json"}};
constexpr Usage plugin_new_usage{"harmony plugin new", "harmony plugin new [--dir DIR] [-o json] <name>",
                                 "Create a plugin project from the SDK's template: harmony-<name>, a Score made of\n"
                                 "the SDK's core Scores, its tests and its packaging. <name>: lowercase letters and\n"
                                 "digits. Nothing is written over: DIR must not exist, or be empty.",
                                 new_flags};
constexpr Usage which_usage{"harmony which", "harmony which [-o json] <command words> [args...]",
                            "Show what a command runs, what it shadows, and which candidates were skipped and why.",
                            output_only};
constexpr Usage completion_usage{"harmony completion", "harmony completion bash|zsh|fish",
                                 "Print the completion script for a shell:\n"
                                 "  bash: source <(harmony completion bash)\n"
                                 "  zsh:  source <(harmony completion zsh)\n"
                                 "  fish: harmony completion fish | source",
                                 {}};
constexpr Usage version_usage{"harmony version", "harmony version [-o json]",
                              "Print harmony's version and the plugin protocol it speaks.", output_only};
constexpr Usage help_usage{"harmony help", "harmony help [-o json] [command]",
                           "Show the overview, or a command's help; a plugin's help is its own --help.", output_only};

std::string usage_text(const Usage& u) {
  std::string out = "usage: " + std::string(u.synopsis) + "\n\n" + std::string(u.description) + "\n";
  out += "\nflags:\n" + flags_help(u.flags);
  return out;
}

// Parses a built-in's arguments; nullopt when --help was printed.
std::optional<ParsedArgs> parse_builtin(Context& ctx, const Usage& u, std::span<const std::string> args,
                                        Stop stop = Stop::never) {
  auto parsed = parse_args(args, u.flags, stop, u.command);
  if (!parsed) raise(parsed.error());
  if (parsed->help) {
    print(usage_text(u));
    return std::nullopt;
  }
  if (auto output = parsed->last("output")) ctx.options.output = parse_format(*output, "-o");
  return std::move(*parsed);
}

void expect_positionals(const ParsedArgs& a, const Usage& u, std::size_t min, std::size_t max) {
  if (a.positionals.size() >= min && a.positionals.size() <= max) return;
  raise(base::usage_error(a.positionals.size() < min ? "'" + std::string(u.command) + "' needs more arguments"
                                                     : "unexpected argument '" + base::printable(a.positionals[max]) + "'",
                          {}, "usage: " + std::string(u.synopsis)));
}

int run_builtin(Context& ctx, const std::string& name, std::span<const std::string> args) {
  if (name == "plugin") {
    if (args.empty() || args.front() == "-h" || args.front() == "--help") {
      if (args.empty())
        raise(base::usage_error("'harmony plugin' needs a subcommand", "'harmony plugin' has the subcommands list, info and new",
                                "run 'harmony plugin list', 'harmony plugin info <name>' or 'harmony plugin new <name>'"));
      print(usage_text(plugin_list_usage) + "\n" + usage_text(plugin_info_usage) + "\n" + usage_text(plugin_new_usage));
      return 0;
    }
    if (args.front() == "new") {
      auto a = parse_builtin(ctx, plugin_new_usage, args.subspan(1));
      if (!a) return 0;
      expect_positionals(*a, plugin_new_usage, 1, 1);
      return plugin_new(ctx, a->positionals.front(), a->last("dir"));
    }
    if (args.front() == "list") {
      auto a = parse_builtin(ctx, plugin_list_usage, args.subspan(1));
      if (!a) return 0;
      expect_positionals(*a, plugin_list_usage, 0, 0);
      return plugin_list(ctx, a->count("name-only") > 0);
    }
    if (args.front() == "info") {
      auto a = parse_builtin(ctx, plugin_info_usage, args.subspan(1));
      if (!a) return 0;
      expect_positionals(*a, plugin_info_usage, 1, 16);
      return plugin_info(ctx, a->positionals);
    }
    auto close = base::suggest(args.front(), {"list", "info", "new"});
    raise(base::usage_error("unknown command 'harmony plugin " + base::printable(args.front()) + "'",
                            "'harmony plugin' has the subcommands list, info and new",
                            close.empty() ? "run 'harmony plugin --help'" : "did you mean 'harmony plugin " + close.front() + "'?"));
  }
  if (name == "which") {
    // Everything from the first word on is the command, flags included.
    auto a = parse_builtin(ctx, which_usage, args, Stop::at_positional);
    if (!a) return 0;
    return which(ctx, a->rest);
  }
  if (name == "completion") {
    auto a = parse_builtin(ctx, completion_usage, args);
    if (!a) return 0;
    expect_positionals(*a, completion_usage, 1, 1);
    print(completion_script(a->positionals.front()));
    return 0;
  }
  if (name == "version") {
    auto a = parse_builtin(ctx, version_usage, args);
    if (!a) return 0;
    expect_positionals(*a, version_usage, 0, 0);
    return version(ctx);
  }
  // help
  auto a = parse_builtin(ctx, help_usage, args);
  if (!a) return 0;
  const auto& words = a->positionals;
  if (words.empty()) return help_overview(ctx);
  if (is_lifecycle_verb(words.front())) {
    print_verb_help(ctx, words.front());
    return 0;
  }
  if (is_builtin(words.front())) {
    std::vector<std::string> help_args;
    if (words.front() == "plugin" && words.size() > 1) help_args.push_back(words[1]);
    help_args.emplace_back("--help");
    return run_builtin(ctx, words.front(), help_args);
  }
  // A plugin's help is the plugin's own: harmony-<words> --help.
  std::vector<std::string> plugin_args = words;
  plugin_args.emplace_back("--help");
  dispatch(ctx, plugin_args);
}

GlobalOptions parse_global_options(int argc, char** argv) {
  GlobalOptions options;
  if (const char* v = env("HARMONY_OUTPUT")) options.output = parse_format(v, "HARMONY_OUTPUT");
  if (const char* v = env("HARMONY_VERBOSE")) options.verbose = std::max(0, std::atoi(v));
  if (const char* v = env("HARMONY_NO_COLOR")) options.no_color = std::string_view(v) != "0";
  if (env("NO_COLOR")) options.no_color = true;

  std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  // The hot path: no leading flag, nothing to parse.
  if (args.empty() || args.front().size() < 2 || args.front().front() != '-') {
    options.rest = std::move(args);
    return options;
  }
  // Global flags stand before the first word; parsing stops there and the
  // rest goes to the command untouched.
  auto parsed = parse_args(args, global_flags, Stop::at_positional_or_unknown, "harmony");
  if (!parsed) raise(parsed.error());
  if (!parsed->rest.empty() && parsed->rest.front().starts_with("-") && parsed->rest.front() != "--") {
    const std::string flag = base::printable(parsed->rest.front());
    raise(base::usage_error("unknown global flag '" + flag + "'",
                            "only -v/--verbose, -o/--output, --no-color, -h/--help and --version may come before the command",
                            "a plugin's own flags go after its name: harmony <plugin> " + flag));
  }
  options.help = parsed->help;
  options.version = parsed->count("version") > 0;
  if (int v = parsed->count("verbose"); v > 0) options.verbose = v;
  if (auto output = parsed->last("output")) options.output = parse_format(*output, "-o");
  if (parsed->count("no-color") > 0) options.no_color = true;
  options.rest = std::move(parsed->rest);
  if (!options.rest.empty() && options.rest.front() == "--") options.rest.erase(options.rest.begin());
  return options;
}

int run_command(int argc, char** argv) {
  Context ctx;
  ctx.options = parse_global_options(argc, argv);
  no_color_requested = ctx.options.no_color;
  ctx.fs = &real_filesystem();
  const char* plugin_path = std::getenv("HARMONY_PLUGIN_PATH");
  const char* path = std::getenv("PATH");
  ctx.search_path = make_search_path(plugin_path ? std::optional<std::string_view>(plugin_path) : std::nullopt,
                                     path ? std::optional<std::string_view>(path) : std::nullopt);
  if (const char* v = env("HARMONY_ALLOW_INSECURE_PATH")) ctx.policy.allow_insecure = std::string_view(v) == "1";
  // The real uid: under sudo that is root, so root's plugins only.
  ctx.policy.user = ::getuid();
  ctx.cache_dir = default_cache_dir();
  ctx.self = base::self_executable();

  const auto& rest = ctx.options.rest;
  if (ctx.options.version) return version(ctx);
  if (ctx.options.help || rest.empty()) return help_overview(ctx);
  const std::string& first = rest.front();
  std::span<const std::string> tail(rest.begin() + 1, rest.end());
  if (first == "__complete") return complete_request(ctx, tail);
  if (is_lifecycle_verb(first)) return dispatch_lifecycle(ctx, first, tail);
  if (is_builtin(first)) return run_builtin(ctx, first, tail);
  dispatch(ctx, rest);
}

}  // namespace

void print(std::string_view text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    // A closed pipe ends us by SIGPIPE like any filter; anything else is worth saying.
    raise(base::os_error(errno, "cannot write to standard output"));
  }
}

void trace(const Context& ctx, int level, std::string_view text) {
  if (ctx.options.verbose < level) return;
  std::string line(text);
  line += '\n';
  std::fputs(line.c_str(), stderr);
}

int run(int argc, char** argv) {
  try {
    return run_command(argc, argv);
  } catch (const base::Error& e) {
    const bool color = !no_color_requested && !env("NO_COLOR") && ::isatty(STDERR_FILENO);
    std::string text = base::render_error(e, "harmony", color);
    std::fputs(text.c_str(), stderr);
    return e.status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "harmony: error: internal error: %s\n", e.what());
    return base::exit_status::failure;
  }
}

}  // namespace harmony::dispatcher
