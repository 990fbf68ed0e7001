// fleet-sim: N simulated devices on one NATS, speaking the documented
// protocol (docs/agent-protocol.md, docs/fleet-operator.md) exactly as
// fleet-agent does, without N processes: a heartbeat per device in the
// agent-status bucket (kept fresh), and for every desired-state key a
// report in device-state (Running, at the key's revision).
//
//   fleet-sim URL USER PASSWORD_FILE COUNT PREFIX LABEL=VALUE SECONDS
//
// Prints one JSON line when every device has its desired state and has
// reported it, or when SECONDS pass: when the first and the last desired
// keys arrived and when the last report was written (milliseconds since the
// epoch), and how many.

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string rfc3339_now() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

// The value of "field":"..." in a small JSON document we wrote ourselves or
// the operator wrote (no escapes in revisions, names and namespaces).
std::string field(const std::string& json, const std::string& name) {
  const std::string key = "\"" + name + "\":\"";
  auto at = json.find(key);
  if (at == std::string::npos) return {};
  at += key.size();
  return json.substr(at, json.find('"', at) - at);
}

struct State {
  std::mutex mutex;
  std::set<std::string> seen;                                // devices with desired state
  std::vector<std::pair<std::string, std::string>> pending;  // key, value: to report
  long long first_desired = 0, last_desired = 0, last_report = 0;
  int reports = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: fleet-sim URL USER PASSWORD_FILE COUNT PREFIX LABEL=VALUE SECONDS\n");
    return 2;
  }
  const std::string url = argv[1], user = argv[2];
  std::string password;
  std::ifstream(argv[3]) >> password;
  const int count = std::atoi(argv[4]);
  const std::string prefix = argv[5], label = argv[6];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(std::atoi(argv[7]));
  const auto eq = label.find('=');
  const std::string labels = "{\"" + label.substr(0, eq) + "\":\"" + label.substr(eq + 1) + "\"}";

  natsOptions* options = nullptr;
  natsOptions_Create(&options);
  natsOptions_SetURL(options, url.c_str());
  natsOptions_SetUserInfo(options, user.c_str(), password.c_str());
  natsConnection* nc = nullptr;
  if (natsConnection_Connect(&nc, options) != NATS_OK) {
    std::fprintf(stderr, "fleet-sim: cannot connect to %s\n", url.c_str());
    return 1;
  }
  jsCtx* js = nullptr;
  natsConnection_JetStream(&js, nc, nullptr);
  kvStore* status = nullptr;
  kvStore* reported = nullptr;
  if (js_KeyValue(&status, js, "agent-status") != NATS_OK || js_KeyValue(&reported, js, "device-state") != NATS_OK) {
    std::fprintf(stderr, "fleet-sim: the fleet's buckets are missing\n");
    return 1;
  }
  std::vector<std::string> ids;
  for (int i = 1; i <= count; ++i) ids.push_back(prefix + "-" + std::to_string(i));
  const std::string started = rfc3339_now();
  auto beat = [&] {
    const std::string time = rfc3339_now();
    for (const auto& id : ids) {
      const std::string hb = "{\"id\":\"" + id + "\",\"version\":\"sim\",\"protocol\":1,\"labels\":" + labels +
                             ",\"status\":\"ok\",\"time\":\"" + time + "\",\"started_at\":\"" + started +
                             "\",\"interval_ms\":5000}";
      std::uint64_t rev = 0;
      kvStore_PutString(&rev, status, id.c_str(), hb.c_str());
    }
  };
  beat();

  State state;
  std::atomic<bool> done{false};
  // Every desired-state put, as it happens (the operator writes after we subscribe).
  natsSubscription* sub = nullptr;
  natsConnection_Subscribe(
      &sub, nc, "$KV.desired-state.>",
      [](natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
        auto* s = static_cast<State*>(closure);
        const std::string subject = natsMsg_GetSubject(msg);
        const std::string key = subject.substr(std::string("$KV.desired-state.").size());
        const std::string device = key.substr(0, key.find('.'));
        std::string value(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
        natsMsg_Destroy(msg);
        std::lock_guard lock(s->mutex);
        const long long t = now_ms();
        if (s->first_desired == 0) s->first_desired = t;
        if (s->seen.insert(device).second) s->last_desired = t;
        if (!value.empty()) s->pending.emplace_back(key, std::move(value));
      },
      &state);
  natsSubscription_SetPendingLimits(sub, -1, -1);
  natsConnection_Flush(nc);
  std::printf("{\"ready\":true}\n");
  std::fflush(stdout);

  // Reports follow what arrived, in batches, as a fleet of agents would.
  std::set<std::string> answered;
  auto last_beat = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline && !done) {
    std::vector<std::pair<std::string, std::string>> todo;
    {
      std::lock_guard lock(state.mutex);
      todo.swap(state.pending);
    }
    for (const auto& [key, value] : todo) {
      const std::string device = key.substr(0, key.find('.'));
      const std::string report = "{\"device\":\"" + device + "\",\"namespace\":\"" + field(value, "namespace") +
                                 "\",\"name\":\"" + field(value, "name") + "\",\"revision\":\"" + field(value, "revision") +
                                 "\",\"phase\":\"Running\",\"restarts\":0,\"time\":\"" + rfc3339_now() + "\"}";
      std::uint64_t rev = 0;
      kvStore_PutString(&rev, reported, key.c_str(), report.c_str());
      answered.insert(device);
      std::lock_guard lock(state.mutex);
      state.last_report = now_ms();
      ++state.reports;
    }
    if (static_cast<int>(answered.size()) == count) done = true;
    if (std::chrono::steady_clock::now() - last_beat > std::chrono::seconds(4)) {
      beat();
      last_beat = std::chrono::steady_clock::now();
    }
    if (todo.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::lock_guard lock(state.mutex);
  std::printf("{\"devices\":%d,\"with_desired\":%zu,\"reported\":%d,\"first_desired_ms\":%lld,\"last_desired_ms\":%lld,"
              "\"last_report_ms\":%lld}\n",
              count, state.seen.size(), state.reports, state.first_desired, state.last_desired, state.last_report);
  return static_cast<int>(state.seen.size()) == count ? 0 : 1;
}
