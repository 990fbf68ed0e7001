// The compiler refuses a Score on a Topology that lacks a capability it needs.
// Built twice by check_refusal.cmake: with TOPOLOGY=harmony::topologies::Local
// it compiles; with TOPOLOGY=FilesOnly it must fail, naming the concept.

#include <harmony/scores/local_process.hpp>
#include <harmony/topologies/local.hpp>

// Stores files, supervises no processes.
struct FilesOnly {
  static constexpr std::string_view name = "files-only";
  static constexpr std::string_view description = "a topology without processes";
  explicit FilesOnly(const harmony::TopologyEnvironment&);
  harmony::base::expected<harmony::Outcome> ensure_ready(harmony::RunContext&);
  harmony::FileStore& files();
};

static_assert(harmony::StoresFiles<FilesOnly>);

int main() {
  harmony::scores::LocalProcess score({});
  auto interpret = score.create_interpret<TOPOLOGY>();
  return interpret == nullptr;
}
