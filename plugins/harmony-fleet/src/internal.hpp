#pragma once
// What the fleet's sources share and do not publish.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <harmony/base/expected.hpp>

#include <harmony/base/error.hpp>
#include <harmony/capabilities.hpp>
#include <harmony/context.hpp>
#include <harmony/fleet/settings.hpp>
#include <harmony/outcome.hpp>
#include <harmony/topology.hpp>

namespace harmony::agent {
class Client;
}

namespace harmony::fleet::detail {

// Creates the fleet's KV buckets that are missing (fleet_buckets()): their
// names.
base::expected<std::vector<std::string>> ensure_buckets(agent::Client& client);

inline base::Error failed(int status, std::string message, std::string reason = {}, std::string hint = {}) {
  base::Error e = base::make_error(std::move(message), std::move(reason), std::move(hint));
  e.status = status;
  return e;
}

// A chart as the settings name one: a path is a local chart (no repository,
// its own version), oci://... a reference at `version`, anything else a
// chart's name in `repository` at `version`.
HelmRelease chart_release(std::string release, const std::string& chart, const std::string& repository,
                          const std::string& version, std::string values);
// A chart's name without a repository to find it in.
std::optional<settings::Problem> chart_source_problem(const std::string& chart, const std::string& repository);

// Each id a device id (RFC 1123 label), none twice: problems under `key`.
std::vector<settings::Problem> device_id_problems(const char* key, const std::vector<std::string>& ids);

// A credential made once and kept: FileStore's or KubernetesCluster's
// ensure_secret, for the nats component.
using EnsureSecret = std::function<base::expected<std::string>(std::string_view name, const std::function<std::string()>& make)>;

// nats.auth=callout: the callout's keys, made before NATS starts (NATS's
// configuration names their public halves), and its user's password.
struct CalloutKeys {
  std::string issuer;    // A...
  std::string xkey;      // X...
  std::string password;  // the callout user's
};
base::expected<CalloutKeys> callout_keys(const EnsureSecret& ensure);

// nats.auth=callout on a nats-server that predates auth callout (2.10) is
// an error that says so.
base::expected<void> supports_callout(const std::string& program);

// How agents log in under nats.auth=callout: the absolute directory of
// their token files (each checked to exist, 0600), or "" when they keep
// their passwords because `callout` (the callout's record) admits them; an
// error when neither.
base::expected<std::string> agent_token_dir(const AgentSettings& settings, const std::optional<ComponentRecord>& callout);

// What the callout's realisations check first: nothing to run while NATS
// uses passwords (part of `server` or `all`), and no callout without an
// identity provider. nullopt: go on.
std::optional<Outcome> callout_not_deployed(const CalloutSettings& settings, const NatsSettings& nats);
// A deployed callout's summary and next step.
void describe_callout(Outcome& outcome, const CalloutSettings& settings);

// The same run, as another component of the fleet (the agents' deploy
// keeps their passwords with NATS's credentials, as NATS reads them).
inline RunContext for_component(const RunContext& ctx, std::string_view component) {
  RunContext other = ctx;
  other.component = std::string(component);
  return other;
}

}  // namespace harmony::fleet::detail
