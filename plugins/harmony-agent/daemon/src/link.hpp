#pragma once
// One NATS connection of the agent and what hangs off it (agent.cpp and
// desired.cpp use it; nothing else includes libnats's header).

#include <atomic>

#include <nats/nats.h>

#include "agent.hpp"

namespace harmony::agent::daemon {

struct Agent::Link {
  Agent* agent = nullptr;
  natsConnection* connection = nullptr;
  natsSubscription* subscription = nullptr;
  natsStatistics* stats = nullptr;
  jsCtx* js = nullptr;    // the heartbeat thread's
  kvStore* kv = nullptr;  // the heartbeat thread's
  kvStore* reported = nullptr;  // the workloads' supervisor's: device-state
  // Set once the subscription is closed and its handler will not run again
  // (or there never was one): then the Link may be freed.
  std::atomic<bool> quiet{true};

  ~Link() {
    if (kv) kvStore_Destroy(kv);
    if (reported) kvStore_Destroy(reported);
    if (js) jsCtx_Destroy(js);
    if (subscription) natsSubscription_Destroy(subscription);
    if (connection) natsConnection_Destroy(connection);
    if (stats) natsStatistics_Destroy(stats);
  }
};


}  // namespace harmony::agent::daemon
