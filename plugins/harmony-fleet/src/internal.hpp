#pragma once
// What the fleet's sources share and do not publish.

#include <string>
#include <string_view>
#include <vector>

#include <harmony/base/expected.hpp>

#include <harmony/base/error.hpp>
#include <harmony/context.hpp>

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

// The same run, as another component of the fleet (the agents' deploy
// keeps their passwords with NATS's credentials, as NATS reads them).
inline RunContext for_component(const RunContext& ctx, std::string_view component) {
  RunContext other = ctx;
  other.component = std::string(component);
  return other;
}

}  // namespace harmony::fleet::detail
