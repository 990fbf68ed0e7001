#include "leader.hpp"

#include <cstdio>
#include <ctime>

#include <harmony/base/exit_status.hpp>
#include <harmony/kube/json.hpp>

namespace harmony::fleet::op {
namespace {

using nlohmann::json;

// A MicroTime, as Leases carry them: 2026-12-01T10:00:00.123456Z.
std::string micro_time_now() {
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::chrono::system_clock::to_time_t(now);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  const auto fraction = static_cast<unsigned>(micros < 0 ? 0 : micros);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                utc.tm_hour, utc.tm_min, utc.tm_sec, fraction);
  return buffer;
}

}  // namespace

LeaderElector::LeaderElector(kube::Client& client, LeaseOptions options, Log log)
    : client_(client), options_(std::move(options)), log_(std::move(log)) {}

bool LeaderElector::step() {
  const auto now = std::chrono::steady_clock::now();
  const kube::ObjectRef ref{"coordination.k8s.io/v1", "Lease", options_.namespace_, options_.name};
  const auto duration_s = std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(options_.duration).count());
  auto lose = [&](const std::string& why) {
    if (leading_) log_("warn", "stopped leading: " + why);
    leading_ = false;
    return false;
  };
  auto found = client_.find(ref);
  if (!found) {
    if (leading_ && now - last_renewed_ > options_.renew_deadline) return lose("cannot renew the Lease: " + found.error().message);
    return leading_;
  }
  const std::string stamp = micro_time_now();
  if (!*found) {
    json lease{{"apiVersion", "coordination.k8s.io/v1"},
               {"kind", "Lease"},
               {"metadata", {{"name", options_.name}, {"namespace", options_.namespace_}}},
               {"spec",
                {{"holderIdentity", options_.identity},
                 {"leaseDurationSeconds", duration_s},
                 {"acquireTime", stamp},
                 {"renewTime", stamp},
                 {"leaseTransitions", 0}}}};
    if (client_.create(kube::object_from(lease))) {
      leading_ = true;
      last_renewed_ = now;
      log_("info", "leading: created Lease " + options_.namespace_ + "/" + options_.name);
    }
    return leading_;
  }
  json lease = kube::json_of(**found);
  json& spec = lease["spec"];
  const std::string holder = spec.value("holderIdentity", "");
  const std::string renewed = spec.value("renewTime", "");
  if (holder != observed_holder_ || renewed != observed_renew_) {
    observed_holder_ = holder;
    observed_renew_ = renewed;
    observed_at_ = now;
  }
  const auto their_duration = std::chrono::seconds(spec.value("leaseDurationSeconds", duration_s));
  const bool mine = holder == options_.identity;
  if (!mine && !holder.empty() && now - observed_at_ < their_duration) return lose("the Lease is held by " + holder);
  if (!mine) {
    spec["holderIdentity"] = options_.identity;
    spec["acquireTime"] = stamp;
    spec["leaseTransitions"] = spec.value("leaseTransitions", 0) + 1;
  }
  spec["renewTime"] = stamp;
  spec["leaseDurationSeconds"] = duration_s;
  auto written = client_.replace(kube::object_from(lease));
  if (!written) {
    if (leading_ && now - last_renewed_ > options_.renew_deadline) return lose("cannot renew the Lease: " + written.error().message);
    return leading_;
  }
  if (!leading_) log_("info", mine ? "leading again" : "leading: took the Lease over from " + (holder.empty() ? std::string("nobody") : holder));
  leading_ = true;
  last_renewed_ = now;
  observed_holder_ = options_.identity;
  observed_renew_ = stamp;
  observed_at_ = now;
  return true;
}

void LeaderElector::release() {
  if (!leading_) return;
  leading_ = false;
  auto found = client_.find({"coordination.k8s.io/v1", "Lease", options_.namespace_, options_.name});
  if (!found || !*found) return;
  json lease = kube::json_of(**found);
  if (lease["spec"].value("holderIdentity", "") != options_.identity) return;
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  if (client_.replace(kube::object_from(lease))) log_("info", "released the Lease");
}

}  // namespace harmony::fleet::op
