#include "images.hpp"

#include <unistd.h>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/paths.hpp>
#include <harmony/base/process.hpp>
#include <harmony/base/text.hpp>
#include <harmony/fleet/config.hpp>
#include <harmony/version.hpp>

#include "internal.hpp"

namespace harmony::fleet {

namespace {

using namespace std::chrono_literals;
using detail::failed;

// packaging/container, installed beside harmony-fleet: /usr/lib/harmony-fleet/
// container for the package, build/lib/harmony-fleet/container in a build.
base::expected<std::string> build_image_script() {
  const std::string self = base::self_executable();
  const std::string script = base::parent_dir(base::parent_dir(self)) + "/lib/harmony-fleet/container/build-image";
  if (!self.empty() && ::access(script.c_str(), X_OK) == 0) return script;
  return base::fail(failed(base::exit_status::failure, "cannot find build-image",
                           "it is not at " + script + ", where harmony-fleet's package installs it",
                           "reinstall harmony-fleet, or run packaging/container/build-image from a source tree"));
}

bool works(const std::vector<std::string>& argv) {
  base::ProcessSpec spec;
  spec.argv = argv;
  spec.timeout = 20s;
  auto r = base::run_process(spec);
  return r && r->ok();
}

base::expected<base::ProcessResult> run(const std::vector<std::string>& argv, std::chrono::seconds timeout,
                                        const std::vector<std::pair<std::string, std::string>>& env = {}) {
  base::ProcessSpec spec;
  spec.argv = argv;
  spec.timeout = timeout;
  if (!env.empty()) {
    base::Environment e = base::Environment::current();
    for (const auto& [k, v] : env) e.set(k, v);
    spec.env = std::move(e);
  }
  auto r = base::run_process(spec);
  if (!r) return base::fail(r.error());
  if (!r->ok())
    return base::fail(failed(base::exit_status::failure, argv.front() + " failed",
                             base::printable(r->err.empty() ? r->out : r->err)));
  return *r;
}

}  // namespace

std::string default_agent_image() { return std::string("harmony.local/fleet-agent:") + harmony::version; }

std::string engine(const std::string& requested) {
  if (!requested.empty()) return requested;
  if (works({"docker", "info"})) return "docker";
  if (works({"podman", "info"})) return "podman";
  if (works({"buildah", "--version"})) return "buildah";
  return "oci";
}

namespace {

base::expected<BuiltImage> build_image(const ImageOptions& o, const std::string& program, const std::string& configured,
                                       const std::string& archive) {
  auto script = build_image_script();
  if (!script) return base::fail(script.error());
  auto binary = find_program(configured, "the " + program + " program",
                             "install harmony-fleet and fleet-agent (the packages), or build harmony (scripts/build)");
  if (!binary) return base::fail(binary.error());
  BuiltImage out;
  out.engine = engine(o.builder);
  out.ref = "harmony.local/" + program + ":" + std::string(harmony::version);
  out.archive = archive;
  auto built = run({*script, *binary, out.archive, out.ref}, 300s, {{"HARMONY_IMAGE_BUILDER", out.engine}});
  if (!built) return base::fail(built.error());
  // docker and podman built it in their store; the archive is a copy.
  out.in_engine = out.engine == "docker" || out.engine == "podman";
  return out;
}

}  // namespace

base::expected<BuiltImage> build_agent_image(const ImageOptions& o) {
  return build_image(o, "fleet-agent", o.agent_program,
                     o.output.empty() ? "fleet-agent-" + std::string(harmony::version) + ".tar" : o.output);
}

namespace {

// An image beside the agent's archive, under its own name; nullopt when the
// program is not installed (the agent's image alone is still useful).
base::expected<std::optional<BuiltImage>> build_optional_image(const ImageOptions& o, const std::string& program,
                                                               const std::string& configured) {
  const std::string dir = o.output.empty() ? std::string() : base::parent_dir(o.output) + "/";
  if (!find_program(configured, program, "")) return std::optional<BuiltImage>();
  auto built = build_image(o, program, configured, dir + program + "-" + std::string(harmony::version) + ".tar");
  if (!built) return base::fail(built.error());
  return std::optional<BuiltImage>(*built);
}

}  // namespace

base::expected<std::optional<BuiltImage>> build_operator_image(const ImageOptions& o) {
  return build_optional_image(o, "fleet-operator", o.operator_program);
}

base::expected<std::optional<BuiltImage>> build_callout_image(const ImageOptions& o) {
  return build_optional_image(o, "fleet-callout", o.callout_program);
}

base::expected<std::string> push_agent_image(const BuiltImage& image, const std::string& registry) {
  std::string target = registry;
  while (!target.empty() && target.back() == '/') target.pop_back();
  // harmony.local/<name>:<version> -> REGISTRY/<name>:<version>
  target += "/" + image.ref.substr(image.ref.find('/') + 1);
  if (image.in_engine) {
    if (auto tagged = run({image.engine, "tag", image.ref, target}, 60s); !tagged) return base::fail(tagged.error());
    if (auto pushed = run({image.engine, "push", target}, 600s); !pushed) return base::fail(pushed.error());
    return target;
  }
  if (works({"skopeo", "--version"})) {
    // buildah and the engine-less builder write an OCI archive; skopeo pushes it.
    const std::string source = "oci-archive:" + image.archive;
    if (auto pushed = run({"skopeo", "copy", source, "docker://" + target}, 600s); !pushed) return base::fail(pushed.error());
    return target;
  }
  return base::fail(failed(base::exit_status::failure, "cannot push " + image.ref + " to " + registry,
                           "neither docker nor podman runs here, and skopeo is not installed",
                           "install one (apt-get install skopeo), or load " + image.archive + " with your own tools"));
}

}  // namespace harmony::fleet
