#pragma once
// Leader election through a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection does it: the holder renews the Lease every `retry`; another
// replica takes it over only once it has seen no renewal for the lease's
// duration by its own clock (never comparing clocks across machines), with
// an optimistic-locking write so that two cannot both win. A leader that
// cannot renew for `renew_deadline` stops leading before its lease can have
// expired for the others; a leader that stops hands the Lease over at once.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include <harmony/kube/client.hpp>

namespace harmony::fleet::op {

struct LeaseOptions {
  std::string namespace_ = "fleet-system";
  std::string name = "fleet-operator";
  std::string identity;
  std::chrono::milliseconds duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry{2000};
};

class LeaderElector {
 public:
  using Log = std::function<void(const std::string& level, const std::string& message)>;
  LeaderElector(kube::Client& client, LeaseOptions options, Log log);

  // Tries to acquire or renew once; true while this replica leads.
  bool step();
  // Gives the Lease up (when stopping): another replica need not wait.
  void release();
  [[nodiscard]] bool leading() const { return leading_; }
  [[nodiscard]] const LeaseOptions& options() const { return options_; }

 private:
  kube::Client& client_;
  LeaseOptions options_;
  Log log_;
  std::atomic<bool> leading_{false};
  std::chrono::steady_clock::time_point last_renewed_{};
  // The record as last seen, and when (our clock) it last changed.
  std::string observed_holder_;
  std::string observed_renew_;
  std::chrono::steady_clock::time_point observed_at_{};
};

}  // namespace harmony::fleet::op
