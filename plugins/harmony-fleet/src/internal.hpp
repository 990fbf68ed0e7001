#pragma once
// What the fleet's sources share and do not publish.

#include <string>
#include <string_view>

#include <harmony/base/error.hpp>
#include <harmony/context.hpp>

namespace harmony::fleet::detail {

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
