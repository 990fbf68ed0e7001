// A Score whose `capabilities` list disagrees with its constraint is refused
// when a Plugin takes it, and the diagnostic names the capability at fault.
// Built by check_refusal.cmake with LIST=good (compiles), LIST=extra (lists
// ManagesKubernetes, which the constraint does not need: refused, naming
// capability::Kubernetes), LIST=short (the constraint needs processes, the
// list omits them: refused on a topology without processes, naming it).

#include <harmony/plugin.hpp>
#include <harmony/topologies/local.hpp>

using namespace harmony;

#if LIST_GOOD
using Listed = needs<capability::FileStorage, capability::ProcessSupervision>;
#elif LIST_EXTRA
using Listed = needs<capability::FileStorage, capability::ProcessSupervision, capability::Kubernetes>;
#else
using Listed = needs<capability::FileStorage>;
#endif

class TwoNeeds {
 public:
  struct Settings {
    int x = 0;
    template <class V>
    void describe(V& v) {
      v("x", x, "a number");
    }
  };
  using capabilities = Listed;
  explicit TwoNeeds(Settings s) : settings_(s) {}
  [[nodiscard]] std::string name() const { return "two-needs"; }
  [[nodiscard]] const Settings& settings() const { return settings_; }
  template <Topology T>
    requires StoresFiles<T> && SupervisesProcesses<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return nullptr;
  }

 private:
  Settings settings_;
};

#if !LIST_GOOD && !LIST_EXTRA
// A topology with files and no processes (as a Plugin's second topology
// would be): the list is satisfied on it, the constraint is not.
struct FilesOnly {
  static constexpr std::string_view name = "files-only";
  static constexpr std::string_view description = "a topology without processes";
  explicit FilesOnly(const TopologyEnvironment&);
  base::expected<Outcome> ensure_ready(RunContext&);
  FileStore& files();
};
static_assert(capability_check::agrees<TwoNeeds, FilesOnly, RunsOn<TwoNeeds, FilesOnly>, Listed>::value);
#endif

int main(int argc, char** argv) {
  Plugin<topologies::Local> plugin({"twoneeds", "1.0.0", "a check"});
  plugin.component<TwoNeeds>("c", "a component");
  return plugin.run(argc, argv);
}
