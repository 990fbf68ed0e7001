#include <harmony/fleet/roles.hpp>

#include <harmony/agent/protocol.hpp>
#include <harmony/fleet/contract.hpp>

namespace harmony::fleet {

Permissions agent_permissions(std::string_view device_id) {
  namespace c = contract;
  const std::string id(device_id);
  const std::string status(agent::status_bucket);
  const std::string own = c::device_key_filter(id);
  // The consumer's filter is part of the subject it is created on (NATS
  // 2.10), so the server refuses any other filter: the agent watches its
  // own desired state and nobody else's.
  return {{agent::heartbeat_subject(id), c::key_subject(status, agent::status_key(id)),
           "$JS.API.STREAM.INFO." + c::bucket_stream(status),
           "$JS.API.CONSUMER.CREATE." + c::bucket_stream(c::desired_bucket) + ".*." + c::key_subject(c::desired_bucket, own),
           c::key_subject(c::reported_bucket, own), "$JS.API.STREAM.INFO." + c::bucket_stream(c::reported_bucket)},
          {agent::command_subscription(id), std::string(agent::inbox_prefix) + id + ".>"},
          true};
}

Permissions callout_permissions() {
  // Its answers go to each request's reply subject (allow_responses). An
  // empty allow list would allow everything, so publishing is allowed on
  // one subject that nothing listens to.
  Permissions p;
  p.publish = {"_INBOX_fleet-callout.none"};
  p.subscribe = {"$SYS.REQ.USER.AUTH"};
  p.allow_responses = true;
  return p;
}

Permissions controller_permissions() {
  namespace c = contract;
  Permissions p;
  for (std::string_view bucket : {agent::status_bucket, c::desired_bucket, c::reported_bucket}) {
    const std::string stream = c::bucket_stream(bucket);
    // Watching (ephemeral consumers with flow control) and reading keys.
    for (const std::string& subject :
         {"$JS.API.STREAM.INFO." + stream, "$JS.API.CONSUMER.*." + stream, "$JS.API.CONSUMER.*." + stream + ".>",
          "$JS.API.DIRECT.GET." + stream, "$JS.API.DIRECT.GET." + stream + ".>", "$JS.API.STREAM.MSG.GET." + stream,
          "$JS.FC." + stream + ".>", "$JS.ACK." + stream + ".>"})
      p.publish.push_back(subject);
  }
  // libnats's watchers find a bucket's stream by its subjects: the names of
  // streams, nothing of their content.
  p.publish.emplace_back("$JS.API.STREAM.NAMES");
  // A NATS that lost its JetStream store (an emptyDir, a new pod) has no
  // buckets: the operator makes the fleet's three again, and only those.
  for (std::string_view bucket : {agent::status_bucket, c::desired_bucket, c::reported_bucket})
    p.publish.push_back("$JS.API.STREAM.CREATE." + c::bucket_stream(bucket));
  // Writing: desired state; and removing reports of deployments that are gone.
  p.publish.push_back(c::key_subject(c::desired_bucket, ">"));
  p.publish.push_back(c::key_subject(c::reported_bucket, ">"));
  p.subscribe.push_back(std::string(controller_inbox) + ".>");
  return p;
}

Permissions fleet_ops_permissions() {
  namespace c = contract;
  Permissions p;
  // Requests to every agent (harmony agent ping, status, exec, logs).
  p.publish.push_back(std::string(agent::command_prefix) + ".*.>");
  for (std::string_view bucket : {agent::status_bucket, c::desired_bucket, c::reported_bucket}) {
    const std::string stream = c::bucket_stream(bucket);
    // Reading and watching the buckets (harmony agent list reads agent-status),
    // and making them when a NATS has none (the deploy's smoke test).
    for (const std::string& subject :
         {"$JS.API.STREAM.INFO." + stream, "$JS.API.STREAM.CREATE." + stream, "$JS.API.CONSUMER.*." + stream,
          "$JS.API.CONSUMER.*." + stream + ".>", "$JS.API.DIRECT.GET." + stream, "$JS.API.DIRECT.GET." + stream + ".>",
          "$JS.API.STREAM.MSG.GET." + stream, "$JS.FC." + stream + ".>", "$JS.ACK." + stream + ".>"})
      p.publish.push_back(subject);
  }
  p.publish.emplace_back("$JS.API.INFO");
  p.publish.emplace_back("$JS.API.STREAM.NAMES");
  // Replies to its own requests, and the agents' heartbeats.
  p.subscribe.emplace_back("_INBOX.>");
  p.subscribe.push_back(std::string(agent::heartbeat_prefix) + ".*");
  return p;
}

}  // namespace harmony::fleet
