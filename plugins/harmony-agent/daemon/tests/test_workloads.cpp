// How the agent asks podman for a container workload: names and labels it
// finds the container by again, the restart policy, the environment.

#include <catch2/catch.hpp>

#include "workloads.hpp"

using namespace harmony::agent::daemon;

TEST_CASE("a container workload is podman run, named and labelled so that the agent finds it again") {
  contract::DesiredState d;
  d.namespace_ = "shop";
  d.name = "web";
  d.workload.container = contract::ContainerSpec{"registry.example/web:1.2", {"/bin/web"}, {"--port", "80"}, {{"MODE", "edge"}}};
  d.workload.restart_policy = contract::RestartPolicy::on_failure;
  d.revision = contract::revision_of(d.workload);
  CHECK(container_name(d) == "fleet_shop_web");
  const std::vector<std::string> expected{
      "podman", "run", "--detach", "--name", "fleet_shop_web", "--label", "fleet.harmony.dev/device=edge-1", "--label",
      "fleet.harmony.dev/deployment=shop/web", "--label", "fleet.harmony.dev/revision=" + d.revision, "--restart",
      "on-failure", "--env", "MODE=edge", R"(--entrypoint=["/bin/web"])", "registry.example/web:1.2", "--port", "80"};
  CHECK(podman_run_argv("podman", "edge-1", d) == expected);
  d.workload.restart_policy = contract::RestartPolicy::never;
  d.workload.container->command.clear();
  const auto never = podman_run_argv("/usr/bin/podman", "edge-1", d);
  CHECK(never.front() == "/usr/bin/podman");
  CHECK(std::find(never.begin(), never.end(), "no") != never.end());
  CHECK(std::none_of(never.begin(), never.end(), [](const std::string& a) { return a.starts_with("--entrypoint"); }));
}
