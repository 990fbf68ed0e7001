#include "agent.hpp"

#include <algorithm>
#include <random>

#include <nats/nats.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <harmony/base/process.hpp>
#include <harmony/base/time.hpp>
#include <harmony/version.hpp>

namespace harmony::agent::daemon {

struct Agent::Nats {
  natsOptions* options = nullptr;
  natsConnection* connection = nullptr;
  natsSubscription* subscription = nullptr;
  natsStatistics* stats = nullptr;
  jsCtx* js = nullptr;
  kvStore* kv = nullptr;

  ~Nats() {
    if (kv) kvStore_Destroy(kv);
    if (js) jsCtx_Destroy(js);
    if (subscription) natsSubscription_Destroy(subscription);
    if (connection) natsConnection_Destroy(connection);
    if (options) natsOptions_Destroy(options);
    if (stats) natsStatistics_Destroy(stats);
  }
};

namespace {

std::int64_t since_ms(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
}

std::string text(natsStatus s) { return natsStatus_GetText(s); }

// Backoff between reconnect attempts: 100 ms doubling to 5 s, with jitter so
// that a fleet does not reconnect in lockstep after a server restart.
int64_t reconnect_delay(natsConnection*, int attempts, void*) {
  thread_local std::mt19937 random{std::random_device{}()};
  const int64_t base = std::min<int64_t>(5000, int64_t{100} << std::min(attempts, 6));
  return base / 2 + std::uniform_int_distribution<int64_t>(0, base / 2)(random);
}

}  // namespace

Agent::Agent(Config config, std::string password, std::shared_ptr<spdlog::logger> log,
             std::shared_ptr<spdlog::sinks::ringbuffer_sink<std::mutex>> recent)
    : config_(std::move(config)),
      password_(std::move(password)),
      log_(std::move(log)),
      recent_(std::move(recent)),
      nats_(std::make_unique<Nats>()),
      started_(std::chrono::steady_clock::now()),
      started_at_(base::rfc3339_now()) {}

Agent::~Agent() { stop(); }

base::expected<void> Agent::start() {
  auto check = [](natsStatus s, const char* what) -> base::expected<void> {
    if (s == NATS_OK) return {};
    return base::fail(base::make_error(std::string("cannot set up NATS: ") + what, text(s)));
  };
  Nats& n = *nats_;
  if (auto ok = check(natsOptions_Create(&n.options), "options"); !ok) return ok;
  std::vector<const char*> servers;
  for (const auto& url : config_.nats_urls) servers.push_back(url.c_str());
  if (auto ok = check(natsOptions_SetServers(n.options, servers.data(), static_cast<int>(servers.size())), "servers"); !ok)
    return ok;
  if (!config_.nats_user.empty())
    if (auto ok = check(natsOptions_SetUserInfo(n.options, config_.nats_user.c_str(), password_.c_str()), "user"); !ok)
      return ok;
  const std::string name = "fleet-agent " + config_.device_id;
  natsOptions_SetName(n.options, name.c_str());
  natsOptions_SetMaxReconnect(n.options, -1);
  natsOptions_SetCustomReconnectDelay(n.options, reconnect_delay, nullptr);
  // Replies leave at once: cnats otherwise delays each by about a millisecond.
  natsOptions_SetSendAsap(n.options, true);
  // A heartbeat or reply buffered while disconnected would be stale when sent.
  natsOptions_SetReconnectBufSize(n.options, 0);
  natsOptions_SetDisconnectedCB(
      n.options, [](natsConnection*, void* self) { static_cast<Agent*>(self)->log_->warn("disconnected from NATS; reconnecting"); },
      this);
  natsOptions_SetReconnectedCB(
      n.options,
      [](natsConnection* nc, void* self) {
        char url[256] = {};
        natsConnection_GetConnectedUrl(nc, url, sizeof url);
        static_cast<Agent*>(self)->log_->info("reconnected to NATS at {}", url);
      },
      this);
  natsOptions_SetErrorHandler(
      n.options,
      [](natsConnection*, natsSubscription*, natsStatus err, void* self) {
        static_cast<Agent*>(self)->log_->error("NATS error: {}", natsStatus_GetText(err));
      },
      this);
  natsOptions_SetRetryOnFailedConnect(
      n.options, true,
      [](natsConnection* nc, void* self) {
        char url[256] = {};
        natsConnection_GetConnectedUrl(nc, url, sizeof url);
        static_cast<Agent*>(self)->log_->info("connected to NATS at {}", url);
      },
      this);
  natsStatistics_Create(&n.stats);

  natsStatus s = natsConnection_Connect(&n.connection, n.options);
  if (s == NATS_NOT_YET_CONNECTED) {
    log_->warn("NATS at {} is not reachable yet; retrying in the background", config_.nats_urls.front());
  } else if (s != NATS_OK) {
    std::string reason = text(s);
    if (const char* last = nats_GetLastError(nullptr)) reason = last;
    return base::fail(base::make_error("cannot connect to NATS at " + config_.nats_urls.front(), reason,
                                       "check nats.urls, nats.user and the password file"));
  } else {
    char url[256] = {};
    natsConnection_GetConnectedUrl(n.connection, url, sizeof url);
    log_->info("connected to NATS at {}", url);
  }

  const std::string subject = command_subscription(config_.device_id);
  s = natsConnection_Subscribe(
      &n.subscription, n.connection, subject.c_str(),
      [](natsConnection*, natsSubscription*, natsMsg* msg, void* self) {
        // Copy out, release the message at once: exec answers from another thread.
        std::string subj = natsMsg_GetSubject(msg);
        std::string reply = natsMsg_GetReply(msg) ? natsMsg_GetReply(msg) : "";
        std::string payload(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
        natsMsg_Destroy(msg);
        static_cast<Agent*>(self)->serve(subj, reply, payload);
      },
      this);
  if (s != NATS_OK) return base::fail(base::make_error("cannot subscribe to " + subject, text(s)));
  natsConnection_JetStream(&n.js, n.connection, nullptr);
  log_->info("fleet-agent {} serving {} (exec allows {} program{})", config_.device_id, subject, config_.exec_allow.size(),
             config_.exec_allow.size() == 1 ? "" : "s");
  heartbeat_ = std::thread([this] { heartbeat_loop(); });
  return {};
}

void Agent::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  changed_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
  if (nats_->connection && natsConnection_Status(nats_->connection) == NATS_CONN_STATUS_CONNECTED) {
    // Drain: no new requests; those already delivered are answered.
    if (natsConnection_DrainTimeout(nats_->connection, 5000) == NATS_OK) {
      for (int i = 0; i < 60 && natsConnection_Status(nats_->connection) != NATS_CONN_STATUS_CLOSED; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, config_.exec_timeout + std::chrono::seconds(2), [this] { return exec_running_ == 0; });
  }
  if (nats_->connection) natsConnection_Close(nats_->connection);
  log_->info("stopped");
}

void Agent::send(const std::string& reply, const std::string& payload) {
  if (reply.empty()) return;  // a publish, not a request: nobody to answer
  natsStatus s = natsConnection_Publish(nats_->connection, reply.c_str(), payload.data(), static_cast<int>(payload.size()));
  if (s != NATS_OK) log_->warn("could not reply: {}", text(s));
}

void Agent::serve(const std::string& subject, const std::string& reply, const std::string& payload) {
  auto token = verb_token(subject, config_.device_id);
  auto request = decode_request(token.value_or(""), payload);
  if (!request) {
    log_->warn("refused a request on {}: {}: {}", subject, error_kind_name(request.error().kind), request.error().message);
    send(reply, encode(request.error()));
    return;
  }
  switch (request->verb) {
    case Verb::ping: {
      PingReply r{config_.device_id, harmony::version, protocol_version, since_ms(started_), config_.labels, base::rfc3339_now()};
      send(reply, encode(r));
      return;
    }
    case Verb::status: {
      StatusReply r;
      r.id = config_.device_id;
      r.version = harmony::version;
      r.started_at = started_at_;
      r.uptime_ms = since_ms(started_);
      r.labels = config_.labels;
      char url[256] = {};
      natsConnection_GetConnectedUrl(nats_->connection, url, sizeof url);
      r.nats_server = url;
      uint64_t reconnects = 0;
      if (natsConnection_GetStats(nats_->connection, nats_->stats) == NATS_OK)
        natsStatistics_GetCounts(nats_->stats, nullptr, nullptr, nullptr, nullptr, &reconnects);
      r.reconnects = static_cast<std::int64_t>(reconnects);
      {
        std::lock_guard lock(mutex_);
        r.heartbeat_mode = heartbeat_mode_;
        r.last_heartbeat = last_heartbeat_;
        r.exec_running = exec_running_;
      }
      r.heartbeat_interval_ms = config_.heartbeat_interval.count();
      r.exec_allowed = config_.exec_allow;
      r.time = base::rfc3339_now();
      send(reply, encode(r));
      return;
    }
    case Verb::logs: {
      const auto& body = std::get<LogsRequest>(request->body);
      const std::size_t limit = std::min({body.lines.value_or(100), config_.log_lines, max_logs_lines});
      auto all = recent_->last_formatted();
      LogsReply r;
      r.truncated = all.size() > limit;
      for (std::size_t i = all.size() > limit ? all.size() - limit : 0; i < all.size(); ++i) {
        std::string line = all[i];
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
        r.lines.push_back(std::move(line));
      }
      send(reply, encode(r));
      return;
    }
    case Verb::exec: {
      auto exec = std::get<ExecRequest>(std::move(request->body));
      const std::string& program = exec.argv.front();
      if (std::find(config_.exec_allow.begin(), config_.exec_allow.end(), program) == config_.exec_allow.end()) {
        log_->warn("refused exec of {}: not on the allowlist", base::printable(program));
        send(reply, encode(Failure{ErrorKind::not_allowed, "'" + base::printable(program) +
                                                                "' is not on this agent's exec allowlist"}));
        return;
      }
      {
        std::lock_guard lock(mutex_);
        if (stopping_) {
          send(reply, encode(Failure{ErrorKind::busy, "the agent is stopping"}));
          return;
        }
        if (exec_running_ >= config_.exec_max_concurrent) {
          send(reply, encode(Failure{ErrorKind::busy, std::to_string(exec_running_) + " execs are running; the limit is " +
                                                          std::to_string(config_.exec_max_concurrent)}));
          return;
        }
        ++exec_running_;
      }
      std::thread([this, reply, exec = std::move(exec)]() mutable { run_exec(reply, std::move(exec)); }).detach();
      return;
    }
  }
}

void Agent::run_exec(std::string reply, ExecRequest request) {
  const auto timeout = std::min(request.timeout.value_or(config_.exec_timeout), config_.exec_timeout);
  log_->info("exec {} ({} argument{}, deadline {})", base::printable(request.argv.front()), request.argv.size() - 1,
             request.argv.size() == 2 ? "" : "s", base::format_duration(timeout));
  base::ProcessSpec spec;
  spec.argv = request.argv;
  spec.timeout = timeout;
  spec.kill_grace = std::chrono::milliseconds(500);
  spec.output_limit = config_.exec_output_limit;
  auto result = base::run_process(spec);
  std::string payload;
  if (!result) {
    payload = encode(Failure{ErrorKind::exec_failed, result.error().message + ": " + result.error().reason});
  } else if (result->end == base::ProcessResult::End::timed_out) {
    payload = encode(Failure{ErrorKind::timed_out, "'" + base::printable(request.argv.front()) + "' was killed after " +
                                                       base::format_duration(timeout) + ", its deadline"});
  } else {
    ExecReply r;
    if (result->end == base::ProcessResult::End::signaled) {
      r.signal = result->signal;
      r.signal_name = base::signal_name(result->signal);
    } else {
      r.exit_code = result->exit_code;
    }
    r.stdout_text = std::move(result->out);
    r.stderr_text = std::move(result->err);
    r.stdout_truncated = result->out_truncated;
    r.stderr_truncated = result->err_truncated;
    r.duration_ms = result->elapsed.count();
    payload = encode(r);
  }
  send(reply, payload);
  {
    std::lock_guard lock(mutex_);
    --exec_running_;
  }
  changed_.notify_all();
}

void Agent::publish_heartbeat() {
  Nats& n = *nats_;
  if (natsConnection_Status(n.connection) != NATS_CONN_STATUS_CONNECTED) return;
  Heartbeat h;
  h.id = config_.device_id;
  h.version = harmony::version;
  h.labels = config_.labels;
  h.time = base::rfc3339_now();
  h.started_at = started_at_;
  h.interval_ms = config_.heartbeat_interval.count();
  const std::string payload = encode(h);
  // The KV bucket is created by the fleet's deploy; until it exists (or
  // without JetStream), heartbeats go to a plain subject.
  if (n.kv == nullptr && n.js != nullptr) js_KeyValue(&n.kv, n.js, std::string(status_bucket).c_str());
  std::string mode = "subject";
  natsStatus s = NATS_ERR;
  if (n.kv != nullptr) {
    uint64_t revision = 0;
    s = kvStore_PutString(&revision, n.kv, status_key(config_.device_id).c_str(), payload.c_str());
    if (s == NATS_OK) {
      mode = "kv";
    } else {
      log_->warn("heartbeat into KV bucket {} failed ({}); using subject {}", status_bucket, text(s),
                 heartbeat_subject(config_.device_id));
      kvStore_Destroy(n.kv);
      n.kv = nullptr;
    }
  }
  if (mode == "subject") {
    const std::string subject = heartbeat_subject(config_.device_id);
    s = natsConnection_Publish(n.connection, subject.c_str(), payload.data(), static_cast<int>(payload.size()));
  }
  std::lock_guard lock(mutex_);
  if (s == NATS_OK) {
    last_heartbeat_ = h.time;
    if (heartbeat_mode_ != mode) log_->info("heartbeats go to {}", mode == "kv" ? "the KV bucket " + std::string(status_bucket) : heartbeat_subject(config_.device_id));
    heartbeat_mode_ = mode;
  }
}

void Agent::heartbeat_loop() {
  while (true) {
    publish_heartbeat();
    std::unique_lock lock(mutex_);
    if (changed_.wait_for(lock, config_.heartbeat_interval, [this] { return stopping_; })) return;
  }
}

}  // namespace harmony::agent::daemon
