#include "agent.hpp"

#include <harmony/base/secrets.hpp>

#include "link.hpp"

#include <harmony/fleet/contract_json.hpp>
#include "memory.hpp"

#include <algorithm>
#include <random>
#include <system_error>
#include <utility>

#include <nats/nats.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <harmony/base/process.hpp>
#include <harmony/base/text.hpp>
#include <harmony/base/time.hpp>
#include <harmony/version.hpp>

namespace harmony::agent::daemon {

namespace {

std::int64_t since_ms(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
}

std::string text(natsStatus s) { return natsStatus_GetText(s); }

// Backoff between connection attempts: 100 ms doubling to 5 s, with jitter so
// that a fleet does not reconnect in lockstep after a server restart.
int64_t reconnect_delay(int attempts) {
  thread_local std::mt19937 random{std::random_device{}()};
  const int64_t base = std::min<int64_t>(5000, int64_t{100} << std::min(attempts, 6));
  return base / 2 + std::uniform_int_distribution<int64_t>(0, base / 2)(random);
}

// How long a JetStream request (the KV lookup, a put) may take. A server
// that does not answer costs one heartbeat this long, then backoff.
constexpr int64_t jetstream_wait_ms = 2000;

// After JetStream failed or did not answer: wait one interval, doubling up
// to a minute, before using it again; heartbeats go to the subject meanwhile.
std::chrono::milliseconds kv_backoff(std::chrono::milliseconds interval, int failures) {
  const auto longest = std::chrono::milliseconds(60'000);
  auto delay = interval * (int64_t{1} << std::min(failures - 1, 10));
  return std::min(delay, std::max(longest, interval));
}

// Why the last attempt failed ("Authorization Violation", "Connection
// refused"), as libnats recorded it.
std::string last_error(natsConnection* nc, natsStatus fallback) {
  const char* detail = nullptr;
  if (nc != nullptr) natsConnection_GetLastError(nc, &detail);
  if (detail == nullptr || detail[0] == '\0') detail = nats_GetLastError(nullptr);
  if (detail == nullptr || detail[0] == '\0') detail = natsStatus_GetText(fallback);
  // libnats prefixes its own source position: "(conn.c:2088): No server...".
  std::string_view out = detail;
  if (out.starts_with('(')) {
    if (auto end = out.find("): "); end != std::string_view::npos) out.remove_prefix(end + 3);
  }
  return std::string(out);
}

Failure stopping() { return Failure{ErrorKind::busy, "the agent is stopping; ask again once it is back"}; }

std::string connected_url(natsConnection* nc) {
  char url[256] = {};
  if (nc != nullptr) natsConnection_GetConnectedUrl(nc, url, sizeof url);
  return url;
}

// Said at attempts 1, 2, 4, 8... and then every 64th (about every five
// minutes at the longest backoff): why it fails, without a line per attempt.
bool worth_saying(int attempts) { return (attempts & (attempts - 1)) == 0 || attempts % 64 == 0; }

}  // namespace

Agent::Agent(Config config, std::string password, std::shared_ptr<spdlog::logger> log,
             std::shared_ptr<spdlog::sinks::ringbuffer_sink<std::mutex>> recent)
    : config_(std::move(config)),
      password_(std::move(password)),
      log_(std::move(log)),
      recent_(std::move(recent)),
      started_(std::chrono::steady_clock::now()),
      started_at_(base::rfc3339_now()) {}

Agent::~Agent() {
  stop();
  if (options_) natsOptions_Destroy(options_);
}

base::expected<void> Agent::start() {
  auto check = [](natsStatus s, const char* what) -> base::expected<void> {
    if (s == NATS_OK) return {};
    return base::fail(base::make_error(std::string("cannot set up NATS: ") + what, text(s)));
  };
  if (auto ok = check(natsOptions_Create(&options_), "options"); !ok) return ok;
  std::vector<const char*> servers;
  for (const auto& url : config_.nats_urls) servers.push_back(url.c_str());
  if (auto ok = check(natsOptions_SetServers(options_, servers.data(), static_cast<int>(servers.size())), "nats.urls"); !ok)
    return ok;
  if (!config_.nats_user.empty())
    if (auto ok = check(natsOptions_SetUserInfo(options_, config_.nats_user.c_str(), password_.c_str()), "nats.user"); !ok)
      return ok;
  if (!config_.token_file.empty()) {
    // Read at every connection and reconnection: a token expires, and the
    // server disconnects its user then; the file holds a fresh one by the
    // next attempt. A file that cannot be read sends no token, and the
    // server's refusal is logged like a wrong password's.
    auto handler = [](void* closure) -> const char* {
      auto* self = static_cast<Agent*>(closure);
      auto token = base::read_secret_file(self->config_.token_file, "the token file");
      if (!token) {
        self->log_->warn("cannot read the token file: {}: {}", token.error().message, token.error().reason);
        self->token_.clear();
      } else {
        self->token_ = std::move(*token);
      }
      return self->token_.c_str();
    };
    if (auto ok = check(natsOptions_SetTokenHandler(options_, handler, this), "nats.token_file"); !ok) return ok;
  }
  if (!config_.ca_file.empty()) {
    if (auto ok = check(natsOptions_LoadCATrustedCertificates(options_, config_.ca_file.c_str()), "nats.ca_file"); !ok)
      return ok;
    if (auto ok = check(natsOptions_SetSecure(options_, true), "TLS"); !ok) return ok;
    if (auto host = verifiable_host(config_.nats_urls.front()); !host.empty())
      if (auto ok = check(natsOptions_SetExpectedHostname(options_, host.c_str()), "TLS"); !ok) return ok;
  }
  const std::string name = "fleet-agent " + config_.device_id;
  natsOptions_SetName(options_, name.c_str());
  // The agent's own requests (JetStream) get replies under _INBOX.<id>., so
  // that its NATS user may subscribe there and not to everyone's inboxes.
  const std::string inbox = std::string(inbox_prefix) + config_.device_id;
  if (auto ok = check(natsOptions_SetCustomInboxPrefix(options_, inbox.c_str()), "inbox prefix"); !ok) return ok;
  natsOptions_SetTimeout(options_, 2000);
  natsOptions_SetMaxReconnect(options_, -1);
  natsOptions_SetCustomReconnectDelay(
      options_, [](natsConnection*, int attempts, void*) -> int64_t { return reconnect_delay(attempts); }, nullptr);
  // Replies leave at once: cnats otherwise delays each by about a millisecond.
  natsOptions_SetSendAsap(options_, true);
  // A heartbeat or reply buffered while disconnected would be stale when sent.
  natsOptions_SetReconnectBufSize(options_, 0);
  natsOptions_SetDisconnectedCB(
      options_,
      [](natsConnection* nc, void* self) {
        static_cast<Agent*>(self)->log_->warn("disconnected from NATS ({}); reconnecting", last_error(nc, NATS_CONNECTION_DISCONNECTED));
      },
      this);
  natsOptions_SetReconnectedCB(
      options_,
      [](natsConnection* nc, void* raw) {
        auto* self = static_cast<Agent*>(raw);
        self->log_->info("reconnected to NATS at {}", connected_url(nc));
        std::lock_guard lock(self->mutex_);
        self->beat_now_ = true;  // say so at once, not at the next interval
        self->resync_desired_ = true;
        self->changed_.notify_all();
      },
      this);
  natsOptions_SetClosedCB(
      options_,
      [](natsConnection* nc, void* raw) {
        auto* self = static_cast<Agent*>(raw);
        std::lock_guard link(self->link_mutex_);
        std::lock_guard lock(self->mutex_);
        --self->open_connections_;  // the last callback of this connection
        if (self->link_ && self->link_->connection == nc) self->link_closed_ = true;
        self->changed_.notify_all();
      },
      this);
  natsOptions_SetErrorHandler(
      options_,
      [](natsConnection* nc, natsSubscription*, natsStatus err, void* self) {
        static_cast<Agent*>(self)->log_->error("NATS error: {}", last_error(nc, err));
      },
      this);

  const std::string subject = command_subscription(config_.device_id);
  const std::size_t programs = exec_programs(config_).size();
  log_->info("fleet-agent {} {} serving {} (exec allows {} program{})", config_.device_id, harmony::version, subject,
             programs, programs == 1 ? "" : "s");
  if (config_.workloads) {
    workloads_ = std::make_unique<Workloads>(
        config_, log_, [this](const fleet::contract::ReportedState& r) { report_workload(r); },
        [this](const fleet::contract::Key& k) { forget_workload(k); });
    if (auto ok = workloads_->start(); !ok) {
      if (config_.workloads_dir_set) return ok;
      // The default place is the package's (/var/lib/fleet-agent); an agent
      // run by hand elsewhere still serves its verbs.
      log_->warn("{} ({}): desired state is not watched; set workloads.directory to run workloads",
                 ok.error().message, ok.error().reason);
      workloads_.reset();
    }
  }
  supervisor_ = std::thread([this] { supervise(); });
  heartbeat_ = std::thread([this] { heartbeat_loop(); });
  if (workloads_) desired_ = std::thread([this] { desired_loop(); });
  return {};
}

bool Agent::wait_stopping(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, delay, [this] { return stopping_; });
}

// One connection attempt; on success the link is in place.
bool Agent::connect_once(int& attempts) {
  auto link = std::make_shared<Link>();
  link->agent = this;
  natsStatus s = natsConnection_Connect(&link->connection, options_);
  if (s == NATS_OK) {
    std::lock_guard lock(mutex_);
    ++open_connections_;
  }
  if (s != NATS_OK) {
    ++attempts;
    if (worth_saying(attempts))
      log_->warn("cannot connect to NATS at {} ({}); attempt {}, retrying with backoff", base::join(config_.nats_urls, ","),
                 last_error(nullptr, s), attempts);
    return false;
  }
  const std::string subject = command_subscription(config_.device_id);
  s = natsConnection_Subscribe(
      &link->subscription, link->connection, subject.c_str(),
      [](natsConnection* nc, natsSubscription*, natsMsg* msg, void* self) {
        // Copy out, release the message at once: exec answers from another thread.
        std::string subj = natsMsg_GetSubject(msg);
        std::string reply = natsMsg_GetReply(msg) ? natsMsg_GetReply(msg) : "";
        std::string payload(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
        natsMsg_Destroy(msg);
        static_cast<Agent*>(self)->serve(nc, subj, reply, payload);
      },
      this);
  if (s == NATS_OK) {
    link->quiet = false;
    natsSubscription_SetOnCompleteCB(
        link->subscription,
        [](void* raw) {
          auto* closed = static_cast<Link*>(raw);
          Agent* self = closed->agent;
          std::lock_guard lock(self->mutex_);
          closed->quiet = true;
          self->changed_.notify_all();
        },
        link.get());
    s = natsConnection_Flush(link->connection);  // the subscription is in place when we say so
  }
  if (s != NATS_OK) {
    ++attempts;
    log_->error("cannot subscribe to {}: {}", subject, last_error(link->connection, s));
    natsConnection_Close(link->connection);
    retire(std::move(link));
    return false;
  }
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = jetstream_wait_ms;
  natsConnection_JetStream(&link->js, link->connection, &js_options);
  natsStatistics_Create(&link->stats);
  log_->info("connected to NATS at {}", connected_url(link->connection));
  {
    std::lock_guard guard(link_mutex_);
    std::lock_guard lock(mutex_);
    if (link_) ++reconnects_;
    link_ = std::move(link);
    link_closed_ = false;
    beat_now_ = true;
  }
  changed_.notify_all();  // the first heartbeat on this connection goes now
  attempts = 0;
  return true;
}

void Agent::supervise() {
  int attempts = 0;
  bool connected = false;
  bool first = true;
  while (true) {
    if (!connected) {
      connected = connect_once(attempts);
      // Start-up is over once the first attempt is made, whether NATS was
      // there or not (the first heartbeat trims again, after JetStream).
      if (std::exchange(first, false)) release_startup_memory();
      if (!connected) {
        if (wait_stopping(std::chrono::milliseconds(reconnect_delay(attempts)))) return;
        continue;
      }
    }
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return stopping_ || link_closed_; });
    if (stopping_) return;
    lock.unlock();
    // libnats gave this connection up: start over with a new one.
    std::shared_ptr<Link> closed;
    {
      std::lock_guard guard(link_mutex_);
      closed = std::move(link_);
    }
    log_->warn("NATS closed the connection ({}); connecting again", last_error(closed->connection, NATS_CONNECTION_CLOSED));
    retire(std::move(closed));
    connected = false;
  }
}

// Keeps a closed connection until its handler is done, and frees the ones
// that are: a flapping server must not grow the agent without bound.
void Agent::retire(std::shared_ptr<Link> link) {
  std::vector<std::shared_ptr<Link>> done;
  {
    std::lock_guard guard(link_mutex_);
    auto quiet = std::stable_partition(retired_.begin(), retired_.end(), [](const auto& l) { return !l->quiet; });
    done.assign(std::make_move_iterator(quiet), std::make_move_iterator(retired_.end()));
    retired_.erase(quiet, retired_.end());
    retired_.push_back(std::move(link));
  }
  // Freed here, outside the lock.
}

std::shared_ptr<Agent::Link> Agent::current_link() {
  std::lock_guard guard(link_mutex_);
  return link_;
}

void Agent::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;  // from now on every request is answered busy
  }
  changed_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
  if (desired_.joinable()) desired_.join();
  // The workloads keep running; the next start of the agent adopts them.
  if (workloads_) workloads_->stop();
  if (supervisor_.joinable()) supervisor_.join();

  // Every exec in flight answers: run_process ends each at its deadline.
  std::list<Worker> workers;
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return exec_running_ == 0; });
    workers = std::move(workers_);
  }
  workers.clear();  // joins

  std::shared_ptr<Link> link = current_link();
  // Then no new requests; those already taken are answered. Disconnected,
  // there is nothing to drain (and draining would wait for a server that is
  // not there).
  if (link && natsConnection_Status(link->connection) == NATS_CONN_STATUS_CONNECTED) {
    if (natsSubscription_Drain(link->subscription) == NATS_OK)
      natsSubscription_WaitForDrainCompletion(link->subscription, 5000);
    natsConnection_FlushTimeout(link->connection, 2000);
  }
  if (link) natsConnection_Close(link->connection);

  std::vector<std::shared_ptr<Link>> links;
  {
    std::lock_guard guard(link_mutex_);
    links = std::move(retired_);
    if (link_) links.push_back(std::move(link_));
  }
  link.reset();
  {
    // No handler or connection callback may run once the agent is gone:
    // wait for every subscription's completion and every connection's
    // closed callback (libnats's last word), a bounded time.
    std::unique_lock lock(mutex_);
    const bool quiet = changed_.wait_for(lock, std::chrono::seconds(5), [&] {
      return open_connections_ == 0 &&
             std::all_of(links.begin(), links.end(), [](const auto& l) { return l->quiet.load(); });
    });
    if (!quiet) log_->warn("NATS callbacks still pending after 5s; stopping anyway");
  }
  log_->info("stopped");
}

void Agent::send(natsConnection* nc, const std::string& reply, const std::string& payload) {
  if (reply.empty() || nc == nullptr) return;  // a publish, not a request: nobody to answer
  natsStatus s = natsConnection_Publish(nc, reply.c_str(), payload.data(), static_cast<int>(payload.size()));
  if (s != NATS_OK) log_->warn("could not reply: {}", text(s));
}

// Execs answer on whatever connection is current: a reply subject is reached
// from any connection to the same account.
void Agent::send_current(const std::string& reply, const std::string& payload) {
  auto link = current_link();
  send(link ? link->connection : nullptr, reply, payload);
}

void Agent::serve(natsConnection* nc, const std::string& subject, const std::string& reply, const std::string& payload) {
  // A publish, not a request: nobody would read the answer, and an exec
  // nobody asked to hear about must not run (docs/agent-protocol.md).
  if (reply.empty()) {
    log_->debug("ignored a message without a reply subject on {}", base::printable(subject));
    return;
  }
  if (std::unique_lock lock(mutex_); stopping_) {
    lock.unlock();
    send(nc, reply, encode(stopping()));
    return;
  }
  auto token = verb_token(subject, config_.device_id);
  auto request = decode_request(token.value_or(""), payload);
  if (!request) {
    log_->warn("refused a request on {}: {}: {}", subject, error_kind_name(request.error().kind), request.error().message);
    send(nc, reply, encode(request.error()));
    return;
  }
  switch (request->verb) {
    case Verb::ping: {
      PingReply r{config_.device_id, harmony::version, protocol_version, since_ms(started_), config_.labels, base::rfc3339_now()};
      send(nc, reply, encode(r));
      return;
    }
    case Verb::status: {
      StatusReply r;
      r.id = config_.device_id;
      r.version = harmony::version;
      r.started_at = started_at_;
      r.uptime_ms = since_ms(started_);
      r.labels = config_.labels;
      r.nats_server = connected_url(nc);
      uint64_t reconnects = 0;
      {
        // libnats's reconnects of this connection, and ours of new ones.
        std::lock_guard guard(link_mutex_);
        if (link_ && link_->connection == nc && natsConnection_GetStats(nc, link_->stats) == NATS_OK)
          natsStatistics_GetCounts(link_->stats, nullptr, nullptr, nullptr, nullptr, &reconnects);
        std::lock_guard lock(mutex_);
        r.reconnects = static_cast<std::int64_t>(reconnects) + reconnects_;
        r.heartbeat_mode = heartbeat_mode_;
        r.last_heartbeat = last_heartbeat_;
        r.exec_running = exec_running_;
      }
      r.heartbeat_interval_ms = config_.heartbeat_interval.count();
      if (workloads_)
        for (const auto& w : workloads_->states())
          r.workloads.push_back({w.namespace_, w.name, w.revision, std::string(fleet::contract::json_codec::name_of(w.phase)),
                                 w.message, w.restarts});
      r.exec_allowed = exec_programs(config_);
      r.exec_allowed_args = config_.exec_allow_args;
      r.time = base::rfc3339_now();
      send(nc, reply, encode(r));
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
      send(nc, reply, encode(r));
      return;
    }
    case Verb::exec: {
      auto exec = std::get<ExecRequest>(std::move(request->body));
      if (auto refused = exec_refusal(config_, exec.argv)) {
        log_->warn("refused exec: {}", *refused);
        send(nc, reply, encode(Failure{ErrorKind::not_allowed, *refused}));
        return;
      }
      std::list<Worker> finished;  // joined once the lock is released
      std::optional<Failure> busy;
      {
        std::lock_guard lock(mutex_);
        for (auto it = workers_.begin(); it != workers_.end();) {
          auto next = std::next(it);
          if (it->done) finished.splice(finished.end(), workers_, it);
          it = next;
        }
        if (stopping_) {
          busy = stopping();
        } else if (exec_running_ >= config_.exec_max_concurrent) {
          busy = Failure{ErrorKind::busy, std::to_string(exec_running_) + " execs are running; the limit is " +
                                              std::to_string(config_.exec_max_concurrent)};
        } else {
          ++exec_running_;
          // Started under the lock, so that stop() finds every worker it must join.
          Worker& worker = workers_.emplace_back();
          try {
            worker.thread = std::jthread([this, &worker, reply, exec = std::move(exec)] {
              run_exec(reply, exec);
              {
                std::lock_guard done(mutex_);
                --exec_running_;
                worker.done = true;
              }
              changed_.notify_all();
            });
          } catch (const std::system_error& e) {
            // Out of threads or memory: this is libnats' callback, where an
            // exception would end the agent. Say so and carry on.
            workers_.pop_back();
            --exec_running_;
            busy = Failure{ErrorKind::busy, std::string("the agent cannot start a command now: ") + e.what()};
          }
        }
      }
      if (busy) send(nc, reply, encode(*busy));
      return;
    }
  }
}

void Agent::run_exec(const std::string& reply, const ExecRequest& request) {
  const auto timeout = std::min(request.timeout.value_or(config_.exec_timeout), config_.exec_timeout);
  log_->info("exec {} ({} argument{}, deadline {})", base::printable(request.argv.front()), request.argv.size() - 1,
             request.argv.size() == 2 ? "" : "s", base::format_duration(timeout));
  base::ProcessSpec spec;
  spec.argv = request.argv;
  spec.env = exec_environment(config_);
  spec.cwd = exec_directory;
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
    r.output_incomplete = result->output_incomplete;
    r.duration_ms = result->elapsed.count();
    payload = encode(r);
  }
  send_current(reply, payload);
}

bool Agent::publish_heartbeat() {
  Heartbeat h;
  h.id = config_.device_id;
  h.version = harmony::version;
  h.labels = config_.labels;
  h.time = base::rfc3339_now();
  h.started_at = started_at_;
  h.interval_ms = config_.heartbeat_interval.count();
  const std::string payload = encode(h);

  // Our copy keeps the connection alive; no lock is held from here on.
  std::shared_ptr<Link> link = current_link();
  if (!link || natsConnection_Status(link->connection) != NATS_CONN_STATUS_CONNECTED) return false;
  std::string mode = "subject";
  natsStatus s = NATS_ERR;
  if (put_into_kv(*link, payload)) {
    mode = "kv";
    s = NATS_OK;
  } else {
    const std::string subject = heartbeat_subject(config_.device_id);
    s = natsConnection_Publish(link->connection, subject.c_str(), payload.data(), static_cast<int>(payload.size()));
  }
  std::lock_guard lock(mutex_);
  if (s == NATS_OK) {
    last_heartbeat_ = h.time;
    if (heartbeat_mode_ != mode)
      log_->info("heartbeats go to {}", mode == "kv" ? "the KV bucket " + std::string(status_bucket) : heartbeat_subject(config_.device_id));
    heartbeat_mode_ = mode;
  }
  return s == NATS_OK;
}

// The KV bucket is created by the fleet's deploy; until it exists (or
// without JetStream), heartbeats go to a plain subject. A missing bucket or
// JetStream is known at once and looked for again at every heartbeat; a
// JetStream that fails or does not answer is left alone for a while.
bool Agent::put_into_kv(Link& link, const std::string& payload) {
  if (&link != kv_link_) {  // a new connection may reach a JetStream that works
    kv_link_ = &link;
    kv_failures_ = 0;
    kv_retry_at_ = {};
  }
  if (link.js == nullptr || std::chrono::steady_clock::now() < kv_retry_at_) return false;
  natsStatus s = NATS_OK;
  if (link.kv == nullptr) {
    s = js_KeyValue(&link.kv, link.js, std::string(status_bucket).c_str());
    if (s == NATS_NOT_FOUND || s == NATS_NO_RESPONDERS) return false;
  }
  if (s == NATS_OK) {
    uint64_t revision = 0;
    s = kvStore_PutString(&revision, link.kv, status_key(config_.device_id).c_str(), payload.c_str());
    if (s == NATS_OK) {
      kv_failures_ = 0;
      return true;
    }
  }
  ++kv_failures_;
  const auto delay = kv_backoff(config_.heartbeat_interval, kv_failures_);
  kv_retry_at_ = std::chrono::steady_clock::now() + delay;
  log_->warn("heartbeat into KV bucket {} failed ({}); using subject {}, trying KV again in {}", status_bucket,
             last_error(link.connection, s), heartbeat_subject(config_.device_id), base::format_duration(delay));
  if (link.kv) kvStore_Destroy(link.kv);
  link.kv = nullptr;
  return false;
}

void Agent::heartbeat_loop() {
  bool started = false;
  while (true) {
    // Once the first heartbeat is out, start-up is over: connecting, the
    // JetStream lookup, OpenSSL's and the configuration's code ran once.
    if (publish_heartbeat() && !started) {
      started = true;
      release_startup_memory();
    }
    std::unique_lock lock(mutex_);
    if (changed_.wait_for(lock, config_.heartbeat_interval, [this] { return stopping_ || beat_now_; }) && stopping_) return;
    beat_now_ = false;
  }
}

}  // namespace harmony::agent::daemon
