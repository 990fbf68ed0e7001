#pragma once
// `harmony fleet images build|push`: the fleet-agent image from the
// fleet-agent installed beside harmony-fleet, through packaging/container's
// build-image (installed with harmony-fleet), for a user who has the
// packages and not the source.

#include <optional>
#include <string>

#include <harmony/base/expected.hpp>

namespace harmony::fleet {

struct ImageOptions {
  std::string builder;                       // docker, podman, buildah or oci; empty: the first that works
  std::string output;                        // the archive; empty: fleet-agent-<version>.tar here
  std::string agent_program = "fleet-agent";
  std::string operator_program = "fleet-operator";
  std::string callout_program = "fleet-callout";
};

struct BuiltImage {
  std::string ref;      // harmony.local/fleet-agent:<version>
  std::string archive;  // docker-archive or OCI archive
  std::string engine;
  bool in_engine = false;  // docker or podman has it in its store too
};

std::string default_agent_image();
// The engine build-image would use.
std::string engine(const std::string& requested);
base::expected<BuiltImage> build_agent_image(const ImageOptions& options);
// The fleet-operator image the same way, when fleet-operator is installed
// (nullopt when it is not: the agent's image alone is still useful).
base::expected<std::optional<BuiltImage>> build_operator_image(const ImageOptions& options);
// And the fleet-callout image, when fleet-callout is installed.
base::expected<std::optional<BuiltImage>> build_callout_image(const ImageOptions& options);
// Tags and pushes it as REGISTRY/<name>:<version>; returns that name.
base::expected<std::string> push_agent_image(const BuiltImage& image, const std::string& registry);

}  // namespace harmony::fleet
