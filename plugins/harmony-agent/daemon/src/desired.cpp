// The agent's side of the fleet's desired state (docs/fleet-operator.md):
// watching its own keys of the desired-state bucket, and writing what its
// workloads do into device-state.
//
// The watch is a JetStream push consumer created on
// $JS.API.CONSUMER.CREATE.KV_desired-state.<name>.$KV.desired-state.<id>.>:
// the filter is in the subject, so the agent's NATS user may create that and
// nothing else, and the server refuses a body whose filter differs. It
// delivers the last value of each key, then every change, to an inbox under
// _INBOX.<id>. One thread reads it synchronously (no callback outlives it).

#include "agent.hpp"
#include "link.hpp"
#include "memory.hpp"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <set>
#include <utility>

#include <harmony/base/text.hpp>

namespace harmony::agent::daemon {

namespace contract = harmony::fleet::contract;
using nlohmann::json;

struct Agent::Watch {
  std::shared_ptr<Link> link;
  natsSubscription* subscription = nullptr;
  std::string consumer;
  bool synced = false;  // the snapshot is complete; changes apply one by one
  std::map<std::string, contract::DesiredState> snapshot;
  std::set<std::pair<std::string, std::string>> deleted;  // namespace, name: deletion markers in the full read
  std::uint64_t next_sequence = 1;  // the consumer's next delivery: a gap means messages were lost
  std::string last_problem;

  void close() {
    if (subscription) {
      natsSubscription_Unsubscribe(subscription);
      natsSubscription_Destroy(subscription);
    }
    subscription = nullptr;
    link.reset();
  }
};

namespace {

constexpr std::int64_t request_ms = 2000;
constexpr auto retry_after_failure = std::chrono::seconds(5);

std::string random_token() {
  static std::atomic<std::uint64_t> counter{0};
  return base::fingerprint(std::to_string(::getpid()) + "/" + std::to_string(counter++) + "/" +
                           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
}

// The consumer's name and sequence and what is still pending, from the reply
// subject JetStream gives each delivery: $JS.ACK.<stream>.<consumer>.<delivered>.
// <stream seq>.<consumer seq>.<time>.<pending>, or the longer form with a
// domain and account hash in front and a random token after.
struct Delivery {
  std::string consumer;
  std::uint64_t sequence = 0;
  std::uint64_t pending = 0;
};
std::optional<Delivery> delivery_of(const char* reply) {
  if (reply == nullptr) return std::nullopt;
  std::vector<std::string_view> t;
  for (std::string_view rest = reply;;) {
    const auto dot = rest.find('.');
    t.push_back(rest.substr(0, dot));
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  std::size_t at = 0;
  if (t.size() == 9) at = 3;
  else if (t.size() >= 12) at = 5;
  else return std::nullopt;
  try {
    return Delivery{std::string(t[at]), std::stoull(std::string(t[at + 3])), std::stoull(std::string(t[at + 5]))};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

void Agent::desired_loop() {
  Watch watch;
  const Link* attempted = nullptr;  // the connection the last watch was made on (or tried)
  bool first_watch = true;
  auto next_resync = std::chrono::steady_clock::now();
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    auto link = current_link();
    const auto now = std::chrono::steady_clock::now();
    // A full read that lacked a running workload is checked again soon.
    if (workloads_->wants_resync() && next_resync > now + std::chrono::seconds(11)) next_resync = now + std::chrono::seconds(11);
    if (link.get() != attempted || now >= next_resync || resync_desired_.exchange(false)) {
      watch.close();
      attempted = link.get();
      if (link && natsConnection_Status(link->connection) == NATS_CONN_STATUS_CONNECTED) {
        const bool ok = watch_desired(link, watch);
        // The first watch is part of start-up: give back what it needed.
        if (std::exchange(first_watch, false)) release_startup_memory();
        next_resync = now + (ok ? config_.desired_resync : std::min<std::chrono::milliseconds>(config_.desired_resync, retry_after_failure));
        workloads_->report_all();
      }
    }
    if (!watch.subscription) {
      wait_stopping(std::chrono::milliseconds(250));
      continue;
    }
    natsMsg* msg = nullptr;
    const natsStatus s = natsSubscription_NextMsg(&msg, watch.subscription, 250);
    if (s == NATS_OK) {
      take_desired(watch, msg);
      natsMsg_Destroy(msg);
    } else if (s != NATS_TIMEOUT) {
      watch.close();  // the connection went: watch again on the next one
    }
  }
  watch.close();
}

bool Agent::watch_desired(const std::shared_ptr<Link>& link, Watch& watch) {
  const std::string id = config_.device_id;
  const std::string stream = contract::bucket_stream(contract::desired_bucket);
  const std::string filter = contract::key_subject(contract::desired_bucket, contract::device_key_filter(id));
  watch.consumer = id + "-" + random_token();
  const std::string inbox = std::string(inbox_prefix) + id + ".desired." + watch.consumer;
  auto problem = [&](const std::string& what) {
    if (what != watch.last_problem) log_->warn("cannot watch desired state: {}; trying again", what);
    watch.last_problem = what;
    watch.close();
    return false;
  };
  if (natsConnection_SubscribeSync(&watch.subscription, link->connection, inbox.c_str()) != NATS_OK)
    return problem("cannot subscribe to " + inbox);
  watch.link = link;
  watch.synced = false;
  watch.snapshot.clear();
  watch.deleted.clear();
  watch.next_sequence = 1;
  const json request{{"stream_name", stream},
                     {"config",
                      {{"name", watch.consumer},
                       {"deliver_subject", inbox},
                       {"deliver_policy", "last_per_subject"},
                       {"ack_policy", "none"},
                       {"filter_subject", filter},
                       {"replay_policy", "instant"},
                       {"mem_storage", true},
                       {"num_replicas", 1},
                       // Gone by itself once nobody listens (the agent stopped, or watches anew).
                       {"inactive_threshold", std::int64_t{30'000'000'000}}}}};
  const std::string subject = "$JS.API.CONSUMER.CREATE." + stream + "." + watch.consumer + "." + filter;
  const std::string body = request.dump();
  natsMsg* reply = nullptr;
  natsStatus s = natsConnection_Request(&reply, link->connection, subject.c_str(), body.c_str(), static_cast<int>(body.size()), request_ms);
  if (s != NATS_OK)
    return problem(s == NATS_NO_RESPONDERS ? std::string("JetStream is not enabled on the server")
                                           : std::string("JetStream did not answer (") + natsStatus_GetText(s) + ")");
  const auto info = json::parse(std::string(natsMsg_GetData(reply), static_cast<std::size_t>(natsMsg_GetDataLength(reply))), nullptr, false);
  natsMsg_Destroy(reply);
  if (!info.is_object()) return problem("JetStream's answer is not JSON");
  if (info.contains("error")) {
    const auto& e = info["error"];
    const std::string description = e.is_object() ? e.value("description", "an error") : "an error";
    if (description.find("stream not found") != std::string::npos)
      return problem("the bucket " + std::string(contract::desired_bucket) + " does not exist (the fleet's NATS deploy makes it)");
    return problem("JetStream said: " + description);
  }
  if (!watch.last_problem.empty()) log_->info("watching desired state again");
  watch.last_problem.clear();
  // Nothing to deliver: the (empty) snapshot is complete already, unless a
  // change arrived first and completed it.
  if (info.value("num_pending", std::uint64_t{1}) == 0 && !watch.synced) {
    watch.synced = true;
    workloads_->replace_all({});
  }
  log_->debug("watching desired state with consumer {} ({} keys)", watch.consumer, info.value("num_pending", 0));
  return true;
}

void Agent::take_desired(Watch& watch, natsMsg* msg) {
  const auto delivery = delivery_of(natsMsg_GetReply(msg));
  if (!delivery || delivery->consumer != watch.consumer) return;  // a status message, or an older consumer's
  if (delivery->sequence != watch.next_sequence) {
    log_->warn("desired state: deliveries {} to {} were lost; reading it all again", watch.next_sequence, delivery->sequence - 1);
    resync_desired_ = true;
    return;
  }
  ++watch.next_sequence;
  const std::string prefix = contract::key_subject(contract::desired_bucket, "");
  const std::string subject = natsMsg_GetSubject(msg);
  const auto key = subject.starts_with(prefix) ? contract::parse_key(std::string_view(subject).substr(prefix.size())) : std::nullopt;
  if (!key || key->device != config_.device_id) {
    log_->warn("desired state: ignored the key {} (not <this device>.<namespace>.<name>)", base::printable(subject));
  } else {
    const char* operation = nullptr;
    natsMsgHeader_Get(msg, "KV-Operation", &operation);
    const bool removed = operation != nullptr && (std::string_view(operation) == "DEL" || std::string_view(operation) == "PURGE");
    const std::string k = key->namespace_ + "." + key->name;
    std::optional<contract::DesiredState> desired;
    if (!removed) {
      auto decoded = contract::decode_desired_state(
          std::string_view(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg))));
      if (!decoded) {
        log_->error("desired state {}.{} is not valid, left as it was: {}", key->namespace_, key->name, decoded.error().message);
      } else if (decoded->namespace_ != key->namespace_ || decoded->name != key->name) {
        log_->error("desired state {}.{} names another deployment ({}/{}), left as it was", key->namespace_, key->name,
                    decoded->namespace_, decoded->name);
      } else {
        desired = std::move(*decoded);
      }
    }
    if (!watch.synced) {
      // A deletion marker is a deletion, even in a full read: acted on at
      // once, unlike a key that is merely absent.
      if (removed) {
        watch.snapshot.erase(k);
        watch.deleted.insert({key->namespace_, key->name});
      } else if (desired) {
        watch.snapshot[k] = *desired;
        watch.deleted.erase({key->namespace_, key->name});
      }
    } else if (removed) {
      workloads_->remove(key->namespace_, key->name);
    } else if (desired) {
      workloads_->put(*desired);
    }
  }
  if (!watch.synced && delivery->pending == 0) {
    watch.synced = true;
    std::vector<contract::DesiredState> all;
    for (auto& [k, d] : watch.snapshot) all.push_back(d);
    log_->info("desired state: {} workload{}", all.size(), all.size() == 1 ? "" : "s");
    workloads_->replace_all(all);
    for (const auto& [ns, name] : watch.deleted) workloads_->remove(ns, name);
  }
}

void Agent::report_workload(const contract::ReportedState& state) {
  auto link = current_link();
  if (!link || natsConnection_Status(link->connection) != NATS_CONN_STATUS_CONNECTED) return;  // reported again on reconnect
  if (link->reported == nullptr) {
    jsCtx* js = nullptr;
    jsOptions options;
    jsOptions_Init(&options);
    options.Wait = 2000;
    if (natsConnection_JetStream(&js, link->connection, &options) != NATS_OK) return;
    const natsStatus s = js_KeyValue(&link->reported, js, std::string(contract::reported_bucket).c_str());
    jsCtx_Destroy(js);
    if (s != NATS_OK) {
      link->reported = nullptr;
      log_->warn("cannot report workload state: the bucket {} is not there ({})", contract::reported_bucket, natsStatus_GetText(s));
      return;
    }
  }
  const std::string key = contract::key_string({state.device, state.namespace_, state.name});
  std::uint64_t revision = 0;
  if (const natsStatus s = kvStore_PutString(&revision, link->reported, key.c_str(), contract::encode(state).c_str()); s != NATS_OK)
    log_->warn("cannot report workload state of {}: {}", key, natsStatus_GetText(s));
}

void Agent::forget_workload(const contract::Key& key) {
  auto link = current_link();
  if (!link || link->reported == nullptr) return;
  kvStore_Delete(link->reported, contract::key_string(key).c_str());
}

}  // namespace harmony::agent::daemon
