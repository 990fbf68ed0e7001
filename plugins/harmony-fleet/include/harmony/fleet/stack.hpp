#pragma once
// How the fleet's NATS and agents are made real on a topology that runs
// processes and keeps files (`local`), behind the Scores of scores.hpp.
// Written against the capability interfaces, not a topology type, so that
// it compiles once.

#include <optional>
#include <string>

#include <harmony/capabilities.hpp>
#include <harmony/context.hpp>
#include <harmony/fleet/settings.hpp>
#include <harmony/outcome.hpp>
#include <harmony/topology.hpp>

namespace harmony::fleet {

// NATS: its accounts, its configuration, nats-server, the agent-status KV
// bucket and the connection file for `harmony agent`.
Outcome deploy_nats(const NatsSettings& settings, ProcessSupervisor& processes, FileStore& files, RunContext& ctx);
// Its health endpoint answers and the operator can log in.
base::expected<void> check_nats(const NatsSettings& settings, ProcessSupervisor& processes, FileStore& files,
                                RunContext& ctx);

// The agents: a NATS user each (NATS reloads its accounts), a configuration
// each, and their fleet-agent processes. `nats` is the NATS deployment's
// record: the agents connect to the NATS that was deployed. Under
// nats.auth=callout they log in with agent.token_dir's tokens, or while
// `callout` (its record) admits them, with their passwords.
Outcome deploy_agents(const AgentSettings& settings, const std::optional<ComponentRecord>& nats,
                      const std::optional<ComponentRecord>& callout, ProcessSupervisor& processes, FileStore& files,
                      RunContext& ctx);
// Every agent answers a ping from the operator.
base::expected<void> check_agents(const AgentSettings& settings, const std::optional<ComponentRecord>& nats,
                                  ProcessSupervisor& processes, FileStore& files, RunContext& ctx);

// The auth callout (nats.auth=callout): fleet-callout, logged in as the
// callout's user with the keys NATS's deploy made.
Outcome deploy_callout(const CalloutSettings& settings, const std::optional<ComponentRecord>& nats,
                       ProcessSupervisor& processes, FileStore& files, RunContext& ctx);
// NATS asks it about a login and it answers (a refusal for a made-up
// token, seen in its log); an agent's password admitted while it admits them.
base::expected<void> check_callout(const CalloutSettings& settings, const std::optional<ComponentRecord>& nats,
                                   ProcessSupervisor& processes, FileStore& files, RunContext& ctx);

// The NATS settings a deployment was recorded with.
base::expected<NatsSettings> deployed_nats(const std::optional<ComponentRecord>& record);

}  // namespace harmony::fleet
