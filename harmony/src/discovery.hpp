#pragma once
// Discovery: where plugins are looked for, and what one file in a plugin
// directory is (runnable, or skipped and why). Pure functions over the
// FileSystem seam; nothing here executes anything.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "filesystem.hpp"

namespace harmony::dispatcher {

// The built-in commands. No plugin can shadow them; a file named
// harmony-<builtin> or harmony-<builtin>-... is a clash and is never run.
inline constexpr std::string_view builtin_commands[] = {"plugin", "completion", "version", "help", "which"};
inline constexpr std::string_view lifecycle_verbs[] = {"deploy", "destroy", "status", "plan"};
bool is_builtin(std::string_view word);          // a built-in command or a lifecycle verb
bool is_lifecycle_verb(std::string_view word);

struct SearchPath {
  struct Skipped {
    std::string entry;
    std::string variable;  // HARMONY_PLUGIN_PATH or PATH
    std::string reason;
  };
  std::vector<std::string> dirs;  // absolute, without trailing '/', duplicates removed, in order
  std::vector<Skipped> skipped;   // empty and relative entries: never searched
};

// $HARMONY_PLUGIN_PATH, then $PATH.
SearchPath make_search_path(std::optional<std::string_view> plugin_path, std::optional<std::string_view> path);

// What can keep a file from running, or what is worth telling about it.
enum class Problem {
  clash,              // named like a built-in command
  invalid_name,       // not harmony-<words> with valid words
  missing,            // a dangling symbolic link
  link_loop,          // too many levels of symbolic links
  unreadable,         // stat failed otherwise (EACCES, ...)
  not_regular,        // a directory, device, fifo, ...
  not_executable,     // no execute permission for us
  insecure,           // someone besides root and the user could change what runs (trust rule)
  incompatible,       // its descriptor says it cannot work with this harmony
  broken_descriptor,  // its descriptor cannot be read (it still runs)
  shadowed,           // an earlier directory has a runnable plugin of the same name
};
std::string_view problem_id(Problem problem);  // "not-executable", ... (JSON and docs)

struct Issue {
  Problem problem;
  std::string message;   // one line, no trailing period
  bool blocking = true;  // whether it keeps the file from running
};

struct Candidate {
  std::string dir;
  std::string file_name;
  std::string path;
  std::vector<std::string> words;  // the command words the file name stands for (empty if invalid)
  FileStat stat;                   // of the file a link points to
  bool is_link = false;
  std::vector<Issue> issues;

  [[nodiscard]] bool runnable() const;
  [[nodiscard]] const Issue* first_blocking() const;
  [[nodiscard]] bool has(Problem problem) const;
  void add(Problem problem, std::string message, bool blocking = true);
};

// The trust rule (docs/plugin-protocol.md, section 2): a plugin runs only if
// nobody but root and the invoking user could have changed it. The file, and
// every directory from / down to it, must be owned by root or `user` and not
// be writable by group or others; a root-owned sticky directory (like /tmp)
// may be writable by others, since they cannot replace what root or the user
// owns in it. For a link, the link and the directories on its own path are
// judged too, then the file it points to and the directories of its real path.
struct Policy {
  bool allow_insecure = false;  // HARMONY_ALLOW_INSECURE_PATH=1: report, but run
  std::uint32_t user = 0;       // the real uid (getuid(): root under sudo)
};

// lstat results for one run: the entries of a search path share ancestors
// (/, /usr, /home/u), which are then stat'ed once.
class StatCache {
 public:
  explicit StatCache(const FileSystem& fs) : fs_(&fs) {}
  const base::expected<FileStat>& lstat(const std::string& path);

 private:
  const FileSystem* fs_;
  std::unordered_map<std::string, base::expected<FileStat>> stats_;
};

// Inspects one directory entry. Does not read metadata. `entry` is the
// entry's lstat when the caller already has it; `cache` keeps the directories
// judged across calls.
Candidate inspect(const FileSystem& fs, const std::string& dir, const std::string& file_name, const Policy& policy,
                  const FileStat* entry = nullptr, StatCache* cache = nullptr);

// Why `st` (a file, link or directory on a plugin's path) breaks the trust
// rule, or nullopt. `what` names it in the message: "the file", "its
// directory /p".
std::optional<std::string> untrusted_reason(std::string_view what, const FileStat& st, const Policy& policy);

// The last check before a `#!` script is exec'd by path (a script cannot be
// exec'd through its descriptor): whether `path` is still the file that was
// judged, by device, inode, owner and mode. Says what changed, or nullopt.
std::optional<std::string> changed_since_check(const FileSystem& fs, const std::string& path, const FileStat& judged);
std::optional<std::string> changed_since_check(const FileStat& judged, const FileStat& now);

// The result of looking a command up. `chosen` is set when something runs.
struct Resolution {
  std::vector<std::string> words;  // the words that named the plugin
  std::optional<Candidate> chosen;
  std::vector<std::string> args;     // what follows the plugin's words
  std::vector<Candidate> skipped;    // found but not runnable (explain mode)
  std::vector<Candidate> shadowed;   // runnable, same name, later directory (explain mode)
  std::vector<std::string> tried;    // file names tried, longest first
};

// Looks up the plugin named by the leading words of `args` (longest match,
// kubectl's rule). In fast mode it stops at the first runnable file, which is
// the dispatch hot path: one stat per directory and name tried, plus the
// checks on the file that will run (the trust rule: an lstat of each
// directory above it). In explain mode it also records what was skipped and
// shadowed. `refused` may veto a runnable file (an incompatible plugin the
// metadata cache already knows); it is asked only about the file that would
// run.
struct ResolveOptions {
  bool explain = false;
  bool exact = false;  // all leading words must name the plugin (no shorter match)
  std::size_t max_words = 0;  // 0: no limit
  std::function<std::optional<std::string>(const Candidate&)> refused{};
};
Resolution resolve(const FileSystem& fs, const SearchPath& search_path, const Policy& policy,
                   std::span<const std::string> args, const ResolveOptions& options);

// The leading arguments that are command words (what resolution considers).
std::size_t leading_words(std::span<const std::string> args, std::size_t max_words = 0);

}  // namespace harmony::dispatcher
