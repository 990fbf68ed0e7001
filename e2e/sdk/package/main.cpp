// The smallest useful plugin: one component, a process and a check.
#include <harmony/plugin.hpp>
#include <harmony/scores/local_process.hpp>
#include <harmony/topologies/local.hpp>

int main(int argc, char** argv) {
  harmony::Plugin<harmony::topologies::Local> plugin({"pkgtest", "0.0.1", "Built against the installed SDK"});
  plugin.component<harmony::scores::LocalProcess>("sleeper", "sleeps", {"sleeper", "sleep", {"600"}, {}, {}, {}});
  return plugin.run(argc, argv);
}
