#include "nats.hpp"

#include <map>
#include <mutex>

#include <nats/nats.h>

namespace harmony::fleet::op {

// One kvStore per bucket for writes, made on first use (a JetStream
// stream-info request each), shared by the threads that write.
struct Nats::Stores {
  std::mutex mutex;
  jsCtx* js = nullptr;
  std::map<std::string, kvStore*> stores;
  ~Stores() {
    for (auto& [name, kv] : stores) kvStore_Destroy(kv);
    if (js) jsCtx_Destroy(js);
  }
};

namespace {

std::string last_error(natsStatus s) {
  const char* detail = nats_GetLastError(nullptr);
  std::string out = detail && detail[0] ? detail : natsStatus_GetText(s);
  if (out.starts_with('(')) {
    if (auto end = out.find("): "); end != std::string::npos) out.erase(0, end + 3);
  }
  return out;
}

base::unexpected<base::Error> failed(const std::string& what, natsStatus s) {
  return base::fail(base::make_error(what, last_error(s)));
}

}  // namespace

Nats::Nats(NatsOptions options, Log log) : options_(std::move(options)), log_(std::move(log)), stores_(std::make_unique<Stores>()) {}

Nats::~Nats() {
  stop();
  stores_.reset();
  if (connection_) natsConnection_Destroy(connection_);
  if (nats_options_) natsOptions_Destroy(nats_options_);
}

base::expected<void> Nats::connect() {
  natsOptions_Create(&nats_options_);
  std::vector<const char*> servers;
  for (const auto& u : options_.urls) servers.push_back(u.c_str());
  natsOptions_SetServers(nats_options_, servers.data(), static_cast<int>(servers.size()));
  if (!options_.user.empty()) natsOptions_SetUserInfo(nats_options_, options_.user.c_str(), options_.password.c_str());
  if (!options_.ca_file.empty()) {
    if (auto s = natsOptions_LoadCATrustedCertificates(nats_options_, options_.ca_file.c_str()); s != NATS_OK)
      return failed("cannot read the NATS CA file " + options_.ca_file, s);
    natsOptions_SetSecure(nats_options_, true);
  }
  natsOptions_SetName(nats_options_, "fleet-operator");
  natsOptions_SetCustomInboxPrefix(nats_options_, "_INBOX_fleet-operator");
  natsOptions_SetMaxReconnect(nats_options_, -1);
  natsOptions_SetReconnectWait(nats_options_, 500);
  natsOptions_SetReconnectedCB(
      nats_options_,
      [](natsConnection*, void* self) {
        auto* n = static_cast<Nats*>(self);
        n->log_("info", "reconnected to NATS: reading the buckets again");
        ++n->generation_;
      },
      this);
  natsOptions_SetDisconnectedCB(
      nats_options_, [](natsConnection*, void* self) { static_cast<Nats*>(self)->log_("warn", "disconnected from NATS; reconnecting"); },
      this);
  // Started before NATS is up (or while it restarts), the operator connects
  // when it can; the callback says so.
  natsOptions_SetRetryOnFailedConnect(
      nats_options_, true,
      [](natsConnection*, void* self) {
        auto* n = static_cast<Nats*>(self);
        n->log_("info", "connected to NATS");
        ++n->generation_;
      },
      this);
  if (auto s = natsConnection_Connect(&connection_, nats_options_); s != NATS_OK && s != NATS_NOT_YET_CONNECTED)
    return failed("cannot connect to NATS at " + options_.urls.front(), s);
  jsOptions js;
  jsOptions_Init(&js);
  js.Wait = 5000;
  if (auto s = natsConnection_JetStream(&stores_->js, connection_, &js); s != NATS_OK) return failed("cannot use JetStream", s);
  return {};
}

bool Nats::connected() const {
  return connection_ != nullptr && natsConnection_Status(connection_) == NATS_CONN_STATUS_CONNECTED;
}

void Nats::watch(const std::string& bucket, BucketEvents events, bool create) {
  watchers_.emplace_back([this, bucket, events = std::move(events), create] { watch_loop(bucket, events, create); });
}

void Nats::watch_loop(const std::string& bucket, const BucketEvents& events, bool create) {
  std::string last_problem;
  while (!stopping_) {
    if (!connected()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    const int generation = generation_;
    kvStore* kv = nullptr;
    kvWatcher* watcher = nullptr;
    natsStatus s = NATS_OK;
    {
      std::lock_guard lock(stores_->mutex);
      s = js_KeyValue(&kv, stores_->js, bucket.c_str());
      if (s == NATS_NOT_FOUND && create) {
        kvConfig config;
        kvConfig_Init(&config);
        config.Bucket = bucket.c_str();
        config.History = 1;
        s = js_CreateKeyValue(&kv, stores_->js, &config);
        if (s == NATS_OK) log_("warn", "the KV bucket " + bucket + " was missing (NATS lost its JetStream store?): made it again");
        // Writes made before it existed failed; the stores are looked up anew.
        for (auto& [name, store] : stores_->stores) kvStore_Destroy(store);
        stores_->stores.clear();
      }
    }
    if (s == NATS_OK) s = kvStore_WatchAll(&watcher, kv, nullptr);
    if (s != NATS_OK) {
      const std::string problem = "cannot watch the KV bucket " + bucket + ": " + last_error(s);
      if (problem != last_problem) log_("warn", problem + "; trying again");
      last_problem = problem;
      if (kv) kvStore_Destroy(kv);
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    if (!last_problem.empty()) log_("info", "watching the KV bucket " + bucket + " again");
    last_problem.clear();
    events.reset();
    const auto until = std::chrono::steady_clock::now() + options_.resync;
    bool initial = true;
    while (!stopping_ && generation == generation_ && std::chrono::steady_clock::now() < until) {
      kvEntry* entry = nullptr;
      s = kvWatcher_Next(&entry, watcher, 250);
      if (s == NATS_TIMEOUT) continue;
      if (s != NATS_OK) break;
      if (entry == nullptr) {  // the initial values are all in
        if (initial) events.synced();
        initial = false;
        continue;
      }
      const std::string key = kvEntry_Key(entry);
      const kvOperation op = kvEntry_Operation(entry);
      if (op == kvOp_Put)
        events.change(key, std::string(static_cast<const char*>(kvEntry_Value(entry)), static_cast<std::size_t>(kvEntry_ValueLen(entry))));
      else
        events.change(key, std::nullopt);
      kvEntry_Destroy(entry);
    }
    kvWatcher_Stop(watcher);
    kvWatcher_Destroy(watcher);
    kvStore_Destroy(kv);
  }
}

base::expected<kvStore*> Nats::store(const std::string& bucket) {
  auto it = stores_->stores.find(bucket);
  if (it != stores_->stores.end()) return it->second;
  kvStore* kv = nullptr;
  if (auto s = js_KeyValue(&kv, stores_->js, bucket.c_str()); s != NATS_OK)
    return failed("cannot use the KV bucket " + bucket, s);
  stores_->stores[bucket] = kv;
  return kv;
}

base::expected<void> Nats::put(const std::string& bucket, const std::string& key, const std::string& value) {
  std::lock_guard lock(stores_->mutex);
  auto kv = store(bucket);
  if (!kv) return base::fail(kv.error());
  std::uint64_t revision = 0;
  if (auto s = kvStore_PutString(&revision, *kv, key.c_str(), value.c_str()); s != NATS_OK)
    return failed("cannot write " + bucket + " " + key, s);
  return {};
}

base::expected<void> Nats::remove(const std::string& bucket, const std::string& key) {
  std::lock_guard lock(stores_->mutex);
  auto kv = store(bucket);
  if (!kv) return base::fail(kv.error());
  if (auto s = kvStore_Delete(*kv, key.c_str()); s != NATS_OK) return failed("cannot delete " + bucket + " " + key, s);
  return {};
}

void Nats::stop() {
  stopping_ = true;
  for (auto& t : watchers_)
    if (t.joinable()) t.join();
  watchers_.clear();
}

}  // namespace harmony::fleet::op
