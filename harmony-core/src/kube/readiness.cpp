#include <harmony/kube/readiness.hpp>

#include <array>

namespace harmony::kube {
namespace {

Readiness current() { return {Health::current, {}}; }
Readiness waiting(std::string message) { return {Health::in_progress, std::move(message)}; }
Readiness failed(std::string message) { return {Health::failed, std::move(message)}; }

std::string of(std::int64_t have, std::int64_t want, const char* what) {
  return std::to_string(have) + " of " + std::to_string(want) + " " + what;
}

bool is_true(const Object& o, std::string_view type) {
  auto c = condition(o, type);
  return c && c->status == "True";
}

Readiness deployment(const Object& o) {
  if (auto p = condition(o, "Progressing"); p && p->reason == "ProgressDeadlineExceeded") {
    return failed("the rollout stalled: " + p->message);
  }
  // Pods that cannot even be created (a quota, admission): waiting is pointless.
  if (auto f = condition(o, "ReplicaFailure"); f && f->status == "True") {
    return failed("its pods cannot be created: " + f->message);
  }
  const auto want = o.int_at("/spec/replicas").value_or(1);
  const auto updated = o.int_at("/status/updatedReplicas").value_or(0);
  const auto replicas = o.int_at("/status/replicas").value_or(0);
  const auto available = o.int_at("/status/availableReplicas").value_or(0);
  if (updated < want) return waiting(of(updated, want, "replicas updated"));
  if (replicas > updated) return waiting(std::to_string(replicas - updated) + " old replicas are pending termination");
  if (available < updated) return waiting(of(available, updated, "updated replicas available"));
  return current();
}

Readiness stateful_set(const Object& o) {
  const auto want = o.int_at("/spec/replicas").value_or(1);
  const auto ready = o.int_at("/status/readyReplicas").value_or(0);
  if (o.string_at("/spec/updateStrategy/type") == "OnDelete") {
    return ready < want ? waiting(of(ready, want, "replicas ready")) : current();
  }
  const auto partition = o.int_at("/spec/updateStrategy/rollingUpdate/partition").value_or(0);
  const auto updated = o.int_at("/status/updatedReplicas").value_or(0);
  if (partition > 0) {
    if (updated < want - partition) return waiting(of(updated, want - partition, "replicas updated (partitioned)"));
    return ready < want ? waiting(of(ready, want, "replicas ready")) : current();
  }
  if (ready < want) return waiting(of(ready, want, "replicas ready"));
  if (updated < want) return waiting(of(updated, want, "replicas updated"));
  const auto current_revision = o.string_at("/status/currentRevision").value_or("");
  const auto update_revision = o.string_at("/status/updateRevision").value_or("");
  if (current_revision != update_revision) return waiting("rolling out revision " + update_revision);
  return current();
}

Readiness daemon_set(const Object& o) {
  const auto want = o.int_at("/status/desiredNumberScheduled").value_or(0);
  const auto updated = o.int_at("/status/updatedNumberScheduled").value_or(0);
  const auto available = o.int_at("/status/numberAvailable").value_or(0);
  if (updated < want) return waiting(of(updated, want, "pods updated"));
  if (available < want) return waiting(of(available, want, "pods available"));
  return current();
}

Readiness job(const Object& o) {
  if (auto f = condition(o, "Failed"); f && f->status == "True") return failed("the job failed: " + f->reason + ": " + f->message);
  if (is_true(o, "Complete")) return current();
  return waiting(of(o.int_at("/status/succeeded").value_or(0), o.int_at("/spec/completions").value_or(1), "completions"));
}

// Waiting reasons that do not heal by waiting.
constexpr std::array<std::string_view, 7> fatal_waits = {
    "ErrImageNeverPull", "ImagePullBackOff", "ErrImagePull",      "InvalidImageName",
    "CrashLoopBackOff",  "CreateContainerConfigError", "CreateContainerError"};

Readiness pod(const Object& o) {
  const auto phase = o.string_at("/status/phase").value_or("");
  if (phase == "Succeeded") return current();
  if (phase == "Failed") {
    return failed("the pod failed" + (o.has("/status/message") ? ": " + *o.string_at("/status/message") : std::string()));
  }
  for (const char* list : {"/status/initContainerStatuses", "/status/containerStatuses"}) {
    for (const Object& c : o.items_at(list)) {
      const auto reason = c.string_at("/state/waiting/reason").value_or("");
      const auto said = c.string_at("/state/waiting/message").value_or("");
      // The kubelet's own caches lagging behind a Secret or ConfigMap made
      // a moment ago: it tries again by itself.
      if (reason == "CreateContainerConfigError" && said.find("failed to sync") != std::string::npos)
        return waiting("container " + c.string_at("/name").value_or("?") + ": " + reason + ": " + said);
      for (const auto fatal : fatal_waits) {
        if (reason == fatal) {
          std::string message = "container " + c.string_at("/name").value_or("?") + ": " + reason;
          if (auto m = c.string_at("/state/waiting/message"); m && !m->empty()) message += ": " + *m;
          return failed(std::move(message));
        }
      }
    }
  }
  if (is_true(o, "Ready")) return current();
  if (auto s = condition(o, "PodScheduled"); s && s->status == "False") {
    return waiting("not scheduled: " + s->reason + (s->message.empty() ? "" : ": " + s->message));
  }
  return waiting(phase.empty() ? "not started" : "phase " + phase + ", not ready");
}

Readiness crd(const Object& o) {
  if (auto n = condition(o, "NamesAccepted"); n && n->status == "False") return failed("names not accepted: " + n->message);
  if (!is_true(o, "Established")) return waiting("not established yet");
  return current();
}

Readiness namespace_(const Object& o) {
  const auto phase = o.string_at("/status/phase").value_or("Active");
  if (phase == "Terminating") {
    std::string why;
    for (const Object& c : o.items_at("/status/conditions")) {
      if (c.string_at("/status") == "True" && c.string_at("/message")) why = *c.string_at("/message");
    }
    return failed("the namespace is being deleted" + (why.empty() ? std::string() : ": " + why));
  }
  return current();
}

}  // namespace

Readiness evaluate(const Object& o) {
  const std::string kind = o.kind();
  if (o.has("/metadata/deletionTimestamp") && kind != "Namespace") return waiting("being deleted");
  if (const auto observed = o.int_at("/status/observedGeneration"); observed && *observed < o.generation()) {
    return waiting("the controller has not seen generation " + std::to_string(o.generation()) + " yet");
  }
  if (kind == "Deployment") return deployment(o);
  if (kind == "StatefulSet") return stateful_set(o);
  if (kind == "DaemonSet") return daemon_set(o);
  if (kind == "Job") return job(o);
  if (kind == "Pod") return pod(o);
  if (kind == "CustomResourceDefinition") return crd(o);
  if (kind == "Namespace") return namespace_(o);
  if (kind == "PersistentVolumeClaim") {
    const auto phase = o.string_at("/status/phase").value_or("Pending");
    return phase == "Bound" ? current() : waiting("phase " + phase + ", not bound");
  }
  if (auto ready = condition(o, "Ready")) {
    return ready->status == "True" ? current() : waiting(ready->message.empty() ? "not ready" : ready->message);
  }
  return current();
}

}  // namespace harmony::kube
