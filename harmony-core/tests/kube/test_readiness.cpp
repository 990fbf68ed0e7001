#include <catch2/catch.hpp>

#include <harmony/kube/readiness.hpp>

using namespace harmony::kube;

namespace {

Object parse(const std::string& json) {
  auto o = Object::parse(json);
  REQUIRE(o);
  return *o;
}

}  // namespace

TEST_CASE("readiness: a Deployment is ready once every replica is updated and available") {
  const auto rolling = parse(R"({"kind":"Deployment","metadata":{"generation":2},"spec":{"replicas":2},
    "status":{"observedGeneration":2,"replicas":3,"updatedReplicas":2,"availableReplicas":2}})");
  CHECK(evaluate(rolling).health == Health::in_progress);
  CHECK(evaluate(rolling).message == "1 old replicas are pending termination");

  const auto unseen = parse(R"({"kind":"Deployment","metadata":{"generation":3},"spec":{"replicas":1},
    "status":{"observedGeneration":2,"replicas":1,"updatedReplicas":1,"availableReplicas":1}})");
  CHECK_THAT(evaluate(unseen).message, Catch::Contains("generation 3"));

  const auto fresh = parse(R"({"kind":"Deployment","metadata":{"generation":1},"spec":{"replicas":2}})");
  CHECK(evaluate(fresh).message == "0 of 2 replicas updated");

  const auto done = parse(R"({"kind":"Deployment","metadata":{"generation":2},"spec":{"replicas":2},
    "status":{"observedGeneration":2,"replicas":2,"updatedReplicas":2,"availableReplicas":2}})");
  CHECK(evaluate(done).ready());

  const auto stalled = parse(R"({"kind":"Deployment","metadata":{"generation":1},"spec":{"replicas":1},
    "status":{"observedGeneration":1,"conditions":[{"type":"Progressing","status":"False","reason":"ProgressDeadlineExceeded",
    "message":"ReplicaSet \"web-5d8\" has timed out progressing."}]}})");
  CHECK(evaluate(stalled).health == Health::failed);
  CHECK_THAT(evaluate(stalled).message, Catch::Contains("timed out progressing"));
}

TEST_CASE("readiness: a StatefulSet waits for ready replicas and the update revision") {
  const auto old_revision = parse(R"({"kind":"StatefulSet","metadata":{"generation":1},"spec":{"replicas":1},
    "status":{"observedGeneration":1,"readyReplicas":1,"updatedReplicas":1,"currentRevision":"nats-1","updateRevision":"nats-2"}})");
  CHECK_THAT(evaluate(old_revision).message, Catch::Contains("nats-2"));
  const auto done = parse(R"({"kind":"StatefulSet","metadata":{"generation":1},"spec":{"replicas":1},
    "status":{"observedGeneration":1,"readyReplicas":1,"updatedReplicas":1,"currentRevision":"nats-2","updateRevision":"nats-2"}})");
  CHECK(evaluate(done).ready());
  const auto on_delete = parse(R"({"kind":"StatefulSet","metadata":{"generation":1},"spec":{"replicas":2,"updateStrategy":{"type":"OnDelete"}},
    "status":{"observedGeneration":1,"readyReplicas":2}})");
  CHECK(evaluate(on_delete).ready());
}

TEST_CASE("readiness: a DaemonSet waits for every scheduled pod updated and available, at its generation") {
  const auto rolling = parse(R"({"kind":"DaemonSet","metadata":{"generation":2},
    "status":{"observedGeneration":2,"desiredNumberScheduled":3,"updatedNumberScheduled":1,"numberAvailable":3}})");
  CHECK(evaluate(rolling).health == Health::in_progress);
  CHECK(evaluate(rolling).message == "1 of 3 pods updated");
  const auto starting = parse(R"({"kind":"DaemonSet","metadata":{"generation":2},
    "status":{"observedGeneration":2,"desiredNumberScheduled":3,"updatedNumberScheduled":3,"numberAvailable":2}})");
  CHECK(evaluate(starting).message == "2 of 3 pods available");
  const auto unseen = parse(R"({"kind":"DaemonSet","metadata":{"generation":3},
    "status":{"observedGeneration":2,"desiredNumberScheduled":3,"updatedNumberScheduled":3,"numberAvailable":3}})");
  CHECK_THAT(evaluate(unseen).message, Catch::Contains("generation 3"));
  CHECK(evaluate(parse(R"({"kind":"DaemonSet","metadata":{"generation":2},
    "status":{"observedGeneration":2,"desiredNumberScheduled":3,"updatedNumberScheduled":3,"numberAvailable":3}})")).ready());
  // No node to run on: nothing to wait for.
  CHECK(evaluate(parse(R"({"kind":"DaemonSet","metadata":{"generation":1},"status":{"observedGeneration":1,"desiredNumberScheduled":0}})")).ready());
}

TEST_CASE("readiness: a Pod whose image cannot be had fails at once, with the kubelet's reason") {
  const auto never = parse(R"({"kind":"Pod","status":{"phase":"Pending","containerStatuses":[{"name":"agent",
    "state":{"waiting":{"reason":"ErrImageNeverPull","message":"Container image \"fleet-agent:0.1.0\" is not present with pull policy of Never"}}}]}})");
  CHECK(evaluate(never).health == Health::failed);
  CHECK_THAT(evaluate(never).message, Catch::Contains("container agent: ErrImageNeverPull") && Catch::Contains("not present"));
  const auto crash = parse(R"({"kind":"Pod","status":{"phase":"Running","containerStatuses":[{"name":"x",
    "state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}})");
  CHECK(evaluate(crash).health == Health::failed);
  // A Secret that does not exist is a configuration error; the kubelet's
  // cache not having caught up with one made a moment ago is not.
  const auto no_secret = parse(R"({"kind":"Pod","status":{"phase":"Pending","containerStatuses":[{"name":"x",
    "state":{"waiting":{"reason":"CreateContainerConfigError","message":"secret \"db\" not found"}}}]}})");
  CHECK(evaluate(no_secret).health == Health::failed);
  const auto lagging = parse(R"({"kind":"Pod","status":{"phase":"Pending","containerStatuses":[{"name":"x",
    "state":{"waiting":{"reason":"CreateContainerConfigError","message":"failed to sync secret cache: timed out waiting for the condition"}}}]}})");
  CHECK(evaluate(lagging).health == Health::in_progress);
  CHECK_THAT(evaluate(lagging).message, Catch::Contains("failed to sync secret cache"));
  const auto creating = parse(R"({"kind":"Pod","status":{"phase":"Pending","containerStatuses":[{"name":"x",
    "state":{"waiting":{"reason":"ContainerCreating"}}}]}})");
  CHECK(evaluate(creating).health == Health::in_progress);
  const auto unschedulable = parse(R"({"kind":"Pod","status":{"phase":"Pending","conditions":[{"type":"PodScheduled",
    "status":"False","reason":"Unschedulable","message":"0/1 nodes are available"}]}})");
  CHECK_THAT(evaluate(unschedulable).message, Catch::Contains("Unschedulable"));
  const auto ready = parse(R"({"kind":"Pod","status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}})");
  CHECK(evaluate(ready).ready());
}

TEST_CASE("readiness: Jobs, CRDs, Namespaces, PVCs and kinds without rules") {
  CHECK(evaluate(parse(R"({"kind":"Job","status":{"conditions":[{"type":"Complete","status":"True"}]}})")).ready());
  CHECK(evaluate(parse(R"({"kind":"Job","status":{"conditions":[{"type":"Failed","status":"True","reason":"BackoffLimitExceeded","message":"Job has reached the specified backoff limit"}]}})")).health ==
        Health::failed);
  CHECK_FALSE(evaluate(parse(R"({"kind":"CustomResourceDefinition","status":{"conditions":[{"type":"NamesAccepted","status":"True"}]}})")).ready());
  CHECK(evaluate(parse(R"({"kind":"CustomResourceDefinition","status":{"conditions":[{"type":"NamesAccepted","status":"True"},{"type":"Established","status":"True"}]}})")).ready());
  CHECK(evaluate(parse(R"({"kind":"CustomResourceDefinition","status":{"conditions":[{"type":"NamesAccepted","status":"False","message":"\"fleets\" is already in use"}]}})")).health ==
        Health::failed);
  const auto terminating = parse(R"({"kind":"Namespace","metadata":{"deletionTimestamp":"2026-12-01T00:00:00Z"},"status":{"phase":"Terminating",
    "conditions":[{"type":"NamespaceFinalizersRemaining","status":"True","message":"Some content in the namespace has finalizers remaining"}]}})");
  CHECK(evaluate(terminating).health == Health::failed);
  CHECK_THAT(evaluate(terminating).message, Catch::Contains("being deleted") && Catch::Contains("finalizers"));
  CHECK(evaluate(parse(R"({"kind":"Namespace","status":{"phase":"Active"}})")).ready());
  CHECK_FALSE(evaluate(parse(R"({"kind":"PersistentVolumeClaim","status":{"phase":"Pending"}})")).ready());
  CHECK(evaluate(parse(R"({"kind":"ConfigMap"})")).ready());
  CHECK_FALSE(evaluate(parse(R"({"kind":"Widget","status":{"conditions":[{"type":"Ready","status":"False"}]}})")).ready());
  CHECK_FALSE(evaluate(parse(R"({"kind":"ConfigMap","metadata":{"deletionTimestamp":"x"}})")).ready());
}

TEST_CASE("objects: read by JSON pointer, edited, and printed") {
  auto o = parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop","generation":4,
    "labels":{"app":"web","tier":"front"}},"spec":{"template":{"spec":{"containers":[{"name":"a"},{"name":"b"}]}}}})");
  CHECK(o.api_version() == "apps/v1");
  CHECK(o.name() == "web");
  CHECK(o.namespace_() == "shop");
  CHECK(o.generation() == 4);
  CHECK(o.items_at("/spec/template/spec/containers").size() == 2);
  CHECK(o.strings_at("/metadata/labels").size() == 2);
  CHECK_FALSE(o.string_at("/nope/nothing"));
  CHECK_FALSE(o.string_at("not a pointer"));
  o.set_string("/metadata/labels/new", "x");
  o.set_int("/spec/replicas", 3);
  o.erase("/metadata/labels/tier");
  CHECK(o.string_at("/metadata/labels/new") == "x");
  CHECK(o.int_at("/spec/replicas") == 3);
  CHECK_FALSE(o.has("/metadata/labels/tier"));
  Object copy = o;
  copy.set_string("/metadata/name", "other");
  CHECK(o.name() == "web");
  CHECK_FALSE(Object::parse("[1,2]"));
  CHECK_FALSE(Object::parse("{"));
}
