#pragma once
// Is an object done? One rule per kind, after kstatus and helm's --wait:
// current (ready), in progress (wait on), or failed (stop waiting: it will
// not get better by itself). Pure functions of the object as the server
// returns it, so they are tested on recorded objects.
//
// Every kind: a deletionTimestamp is in progress (terminating); a
// status.observedGeneration behind metadata.generation is in progress (the
// controller has not seen the change yet).
// - Deployment: ProgressDeadlineExceeded fails with its message; otherwise
//   every replica updated, no old replicas left, every updated one available.
// - StatefulSet: observed, every replica ready and updated, the current
//   revision the update revision (rolling updates without a partition).
// - DaemonSet: every scheduled pod updated and available.
// - Job: Complete; Failed fails.
// - Pod: Ready (or Succeeded); Failed fails; a container waiting on a reason
//   that does not heal (image cannot be pulled, crash loop, bad config) fails
//   with that reason.
// - CustomResourceDefinition: Established and NamesAccepted; names not
//   accepted fails.
// - Namespace: Active; Terminating fails (nothing can be created in it).
// - PersistentVolumeClaim: Bound.
// - Anything else: its Ready condition if it has one, else current.

#include <string>

#include <harmony/kube/object.hpp>

namespace harmony::kube {

enum class Health { current, in_progress, failed };

struct Readiness {
  Health health = Health::in_progress;
  std::string message;  // why not current: "1 of 2 replicas available"

  [[nodiscard]] bool ready() const { return health == Health::current; }
};

Readiness evaluate(const Object& object);

}  // namespace harmony::kube
