// The controller end to end: the real kube-apiserver, the Azure emulator and the Controller in-process.
// A pod's identity is attached to its scale set and recorded as an Assigned AzureAssignedIdentity with an
// Event, and detached again when the pod goes; an identity Azure refuses is quarantined while another pod's
// identity is assigned; with leader election only the leader writes, and a standby takes over.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "integration/controller/controller_env.hpp"
#include "support/control_plane_catch.hpp"

using podid::testing::get_json;
using podid::testing::run_async;
using podid::testing::run_until;
using podid::testing::RunningController;
namespace asio = boost::asio;
namespace cli = podid::cli;
namespace core = podid::core;
namespace emu = podid::emulator;
namespace json = boost::json;
namespace kinds = podid::watch::kinds;
namespace t = podid::testing;
namespace watch = podid::watch;

using namespace std::chrono_literals;

namespace {

struct Scenario {
  explicit Scenario(t::ControlPlane& control_plane)
      : cp(control_plane),
        ns(cp.create_namespace("ctrl")),
        node("node-" + ns),
        emulator(t::controller_cloud()) {
    REQUIRE(emulator.start());
    kube = t::admin_client(io, cp);
  }

  void create(const watch::ResourceKind& kind, const std::string& in_ns, json::object object) {
    auto created = run_async(io, kube->create(kind, in_ns, std::move(object)));
    if (!created) FAIL(created.error().describe());
  }
  // The pod, scheduled on the node and running with an IP (set through the status subresource).
  void create_pod(const std::string& name, const std::string& selector, const std::string& ip) {
    create(kinds::pods(), ns, t::scheduled_pod(name, selector, node));
    const auto reply = cp.request("PATCH", "/api/v1/namespaces/" + ns + "/pods/" + name + "/status",
                                  R"({"status":{"phase":"Running","podIP":")" + ip + R"("}})",
                                  "application/merge-patch+json");
    REQUIRE(reply.status == 200);
  }
  void delete_pod(const std::string& name) {
    const auto reply =
        cp.request("DELETE", "/api/v1/namespaces/" + ns + "/pods/" + name + "?gracePeriodSeconds=0");
    REQUIRE(reply.status == 200);
  }
  void create_identity(const std::string& name, const std::string& resource_id, const std::string& client_id,
                       const std::string& selector) {
    create(kinds::azure_identities(), ns, t::msi_identity(name, resource_id, client_id));
    create(kinds::azure_identity_bindings(), ns, t::binding(name + "-binding", name, selector));
  }
  // Whether the emulated scale set holds the identity (its model, what ARM GET shows).
  bool scale_set_has(const std::string& resource_id) const {
    const auto m = emulator.machine(emu::testing::vmss_id("ss-0"));
    return m && m->user.contains(core::to_lower(resource_id));
  }
  json::value aai(const std::string& pod, const std::string& identity) const {
    const auto name = core::assigned_identity_name({ns, pod}, {ns, identity});
    return get_json(cp,
                    "/apis/aadpodidentity.k8s.io/v1/namespaces/" + ns + "/azureassignedidentities/" + name);
  }
  static const core::Assignment* assignment(const cli::Controller& c, const core::PodKey& pod,
                                            const core::IdentityKey& id) {
    const auto it = c.state().assignments.find(core::AssignmentKey{pod, id});
    return it == c.state().assignments.end() ? nullptr : &it->second;
  }
  bool phase_is(const cli::Controller& c, const std::string& pod, const std::string& id,
                core::Phase p) const {
    const auto* a = assignment(c, {ns, pod}, {ns, id});
    if (a == nullptr || a->phase != p) return false;
    const auto aai = c.state().assigned.find(a->aai);
    return aai != c.state().assigned.end() && aai->second.status == core::to_string(p);
  }

  t::ControlPlane& cp;
  asio::io_context io;
  std::string ns;
  std::string node;
  emu::Emulator emulator;
  std::unique_ptr<watch::HttpKubeClient> kube;
};

std::string str(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* at = &v;
  for (const auto key : path) {
    if (!at->is_object() || !at->as_object().contains(key)) return {};
    at = &at->as_object().at(key);
  }
  return at->is_string() ? std::string(at->as_string()) : std::string{};
}

}  // namespace

TEST_CASE(
    "A pod's identity is attached to its scale set, recorded as Assigned with an Event, and detached "
    "when the pod is deleted",
    "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  Scenario s(*cp);
  const auto demo = s.emulator.identity(emu::testing::identity_id("demo"));
  REQUIRE(demo);
  s.create(kinds::nodes(), "", t::scale_set_node(s.node));
  s.create_identity("demo", demo->id, demo->client_id, "demo");
  s.create_pod("web", "demo", "10.1.0.5");

  RunningController replica(s.io, s.cp, s.emulator, t::controller_options(s.ns));
  REQUIRE(run_until(
      s.io, [&] { return s.phase_is(replica.controller, "web", "demo", core::Phase::assigned); }, 60s));
  CHECK(s.scale_set_has(demo->id));

  const auto aai = s.aai("web", "demo");
  REQUIRE(aai.is_object());
  CHECK(str(aai, {"status", "status"}) == "Assigned");
  CHECK(str(aai, {"spec", "pod"}) == "web");
  CHECK(str(aai, {"spec", "podNamespace"}) == s.ns);
  CHECK(str(aai, {"spec", "nodename"}) == s.node);
  CHECK(str(aai, {"metadata", "labels", "nodename"}) == s.node);
  CHECK(str(aai, {"spec", "azureIdentityRef", "apiVersion"}) == "aadpodidentity.k8s.io/v1");
  CHECK(str(aai, {"spec", "azureIdentityRef", "kind"}) == "AzureIdentity");
  CHECK(str(aai, {"spec", "azureIdentityRef", "metadata", "name"}) == "demo");
  CHECK(str(aai, {"spec", "azureIdentityRef", "spec", "clientID"}) == demo->client_id);
  CHECK(str(aai, {"spec", "azureBindingRef", "kind"}) == "AzureIdentityBinding");
  CHECK(str(aai, {"spec", "azureBindingRef", "metadata", "name"}) == "demo-binding");
  const auto& finalizers = aai.at("metadata").at("finalizers").as_array();
  CHECK(std::count(finalizers.begin(), finalizers.end(), json::value(watch::kAaiFinalizer)) == 1);

  // The Event about the pod, and the identity's Ready condition.
  REQUIRE(run_until(
      s.io, [&] { return replica.controller.recorder().counters().created >= 1; }, 10s));
  const auto events = get_json(*cp, "/api/v1/namespaces/" + s.ns + "/events");
  REQUIRE(events.is_object());
  bool applied = false;
  for (const auto& e : events.at("items").as_array())
    applied =
        applied || (str(e, {"reason"}) == "binding applied" && str(e, {"involvedObject", "name"}) == "web" &&
                    str(e, {"involvedObject", "kind"}) == "Pod" && str(e, {"type"}) == "Normal");
  CHECK(applied);
  REQUIRE(run_until(
      s.io, [&] { return replica.controller.recorder().counters().conditions >= 1; }, 10s));
  const auto identity =
      get_json(*cp, "/apis/aadpodidentity.k8s.io/v1/namespaces/" + s.ns + "/azureidentities/demo");
  REQUIRE(identity.is_object());
  const auto& conditions = identity.at("status").at("conditions").as_array();
  REQUIRE(conditions.size() == 1);
  CHECK(str(conditions[0], {"type"}) == "Ready");
  CHECK(str(conditions[0], {"status"}) == "True");

  // Deleting the pod deletes its AAI and detaches the identity: no other pod uses it, and we attached it.
  s.delete_pod("web");
  REQUIRE(run_until(
      s.io, [&] { return replica.controller.state().assignments.empty() && !s.scale_set_has(demo->id); },
      60s));
  CHECK(s.aai("web", "demo").is_null());
  CHECK(replica.controller.writer().counters().deleted == 1);
}

TEST_CASE("An identity Azure refuses is quarantined with a reason while another pod's identity is assigned",
          "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  Scenario s(*cp);
  const auto demo = s.emulator.identity(emu::testing::identity_id("demo"));
  REQUIRE(demo);
  const auto ghost_id = emu::testing::identity_id("ghost");  // valid form, but no such identity in Azure
  s.create(kinds::nodes(), "", t::scale_set_node(s.node));
  s.create_identity("demo", demo->id, demo->client_id, "demo");
  s.create_identity("ghost", ghost_id, "00000000-0000-0000-0000-00000000dead", "ghost");
  s.create_pod("good", "demo", "10.1.0.6");
  s.create_pod("bad", "ghost", "10.1.0.7");

  RunningController replica(s.io, s.cp, s.emulator, t::controller_options(s.ns));
  REQUIRE(run_until(
      s.io,
      [&] {
        return s.phase_is(replica.controller, "good", "demo", core::Phase::assigned) &&
               s.phase_is(replica.controller, "bad", "ghost", core::Phase::quarantined);
      },
      60s));
  CHECK(s.scale_set_has(demo->id));
  CHECK_FALSE(s.scale_set_has(ghost_id));
  const auto bad = s.aai("bad", "ghost");
  REQUIRE(bad.is_object());
  CHECK(str(bad, {"status", "status"}) == "Quarantined");
  CHECK_FALSE(str(bad, {"status", "reason"}).empty());
  CHECK(str(s.aai("good", "demo"), {"status", "status"}) == "Assigned");

  // The quarantined identity says why on its own status, and a Warning Event names the pod.
  REQUIRE(run_until(
      s.io,
      [&] {
        const auto ghost =
            get_json(*cp, "/apis/aadpodidentity.k8s.io/v1/namespaces/" + s.ns + "/azureidentities/ghost");
        return ghost.is_object() && ghost.as_object().contains("status") &&
               str(ghost.at("status").at("conditions").as_array().at(0), {"status"}) == "False";
      },
      15s));
  const auto events = get_json(*cp, "/api/v1/namespaces/" + s.ns + "/events");
  bool warned = false;
  for (const auto& e : events.at("items").as_array())
    warned = warned || (str(e, {"type"}) == "Warning" && str(e, {"involvedObject", "name"}) == "bad");
  CHECK(warned);
}

TEST_CASE("With leader election only the leader writes, and a standby takes over when it stops",
          "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  Scenario s(*cp);
  const auto demo = s.emulator.identity(emu::testing::identity_id("demo"));
  REQUIRE(demo);
  s.create(kinds::nodes(), "", t::scale_set_node(s.node));
  s.create_identity("demo", demo->id, demo->client_id, "demo");
  auto options = [&](const std::string& identity) {
    auto o = t::controller_options(s.ns);
    watch::LeaderElectionOptions le;
    le.ns = s.ns;
    le.name = "podid-controller";
    le.identity = identity;
    le.lease_duration = 3s;
    le.renew_deadline = 2s;
    le.retry_period = 300ms;
    o.leader_election = le;
    return o;
  };
  auto first = std::make_unique<RunningController>(s.io, s.cp, s.emulator, options("replica-a"));
  REQUIRE(run_until(
      s.io, [&] { return first->controller.leading(); }, 20s));
  RunningController second(s.io, s.cp, s.emulator, options("replica-b"));
  REQUIRE(run_until(
      s.io, [&] { return second.controller.synced(); }, 20s));

  s.create_pod("one", "demo", "10.1.0.8");
  REQUIRE(run_until(
      s.io, [&] { return s.phase_is(first->controller, "one", "demo", core::Phase::assigned); }, 60s));
  // The standby observed everything but wrote nothing.
  CHECK_FALSE(second.controller.leading());
  CHECK(second.controller.counters().plans == 0);
  CHECK(second.controller.writer().counters().created == 0);
  CHECK(second.controller.actuator().counters().started == 0);

  first->stop();  // releases the lease
  first.reset();
  REQUIRE(run_until(
      s.io, [&] { return second.controller.leading(); }, 20s));
  const auto lease =
      get_json(*cp, "/apis/coordination.k8s.io/v1/namespaces/" + s.ns + "/leases/podid-controller");
  CHECK(str(lease, {"spec", "holderIdentity"}) == "replica-b");
  CHECK(str(lease, {"spec", "renewTime"}).size() == std::string("2006-01-02T15:04:05.000000Z").size());
  CHECK(lease.at("spec").at("leaseTransitions").as_int64() >= 1);

  s.create_pod("two", "demo", "10.1.0.9");
  REQUIRE(run_until(
      s.io, [&] { return s.phase_is(second.controller, "two", "demo", core::Phase::assigned); }, 60s));
  CHECK(s.phase_is(second.controller, "one", "demo", core::Phase::assigned));
  CHECK(second.controller.writer().counters().created >= 1);
  // The identity was already on the scale set: the new leader sent no PATCH for it.
  CHECK(s.emulator.counter("arm.vmss.patch") == 1);
}

TEST_CASE(
    "A candidate takes a Lease only when it is free or has not changed for a lease duration on its own "
    "clock",
    "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  asio::io_context io;
  const auto ns = cp->create_namespace("lease");
  auto kube = t::admin_client(io, *cp);
  core::FakeClock wall(1700000000000);
  core::FakeClock mono_a(0);
  core::FakeClock mono_b(5000000);  // another process: an unrelated monotonic origin
  core::MemorySink sink;
  auto options = [&](const std::string& identity) {
    watch::LeaderElectionOptions o;
    o.ns = ns;
    o.name = "lease";
    o.identity = identity;
    return o;
  };
  watch::LeaderElector a(*kube, wall, mono_a, core::Logger(sink, wall, "a"), options("a"));
  watch::LeaderElector b(*kube, wall, mono_b, core::Logger(sink, wall, "b"), options("b"));
  REQUIRE(run_async(io, a.try_acquire_or_renew()).value());  // created
  CHECK_FALSE(run_async(io, b.try_acquire_or_renew()).value());
  mono_b.advance(14000);  // not yet a lease duration since b first saw the record
  CHECK_FALSE(run_async(io, b.try_acquire_or_renew()).value());
  wall.advance(1000);
  mono_a.advance(1000);
  REQUIRE(run_async(io, a.try_acquire_or_renew()).value());  // a renews: the record changes
  mono_b.advance(2000);  // 16 s after b's first look, but only 2 s after the renewal
  CHECK_FALSE(run_async(io, b.try_acquire_or_renew()).value());
  mono_b.advance(15001);
  REQUIRE(run_async(io, b.try_acquire_or_renew()).value());  // expired by b's clock: taken over
  CHECK(b.observed().holder == "b");
  CHECK(b.observed().transitions == 1);
  CHECK(b.observed().renew_time.size() == 27);
  // a's fast path fails on the stale resourceVersion and the slow path sees b's live lease.
  CHECK_FALSE(run_async(io, a.try_acquire_or_renew()).value());
  REQUIRE(run_async(io, b.release()));
  CHECK(run_async(io, a.try_acquire_or_renew()).value());  // an empty holder is free at once
  CHECK(a.observed().transitions == 2);
}

TEST_CASE(
    "With retention the controller exports and drops old events after each checkpoint, and the log still "
    "rebuilds its state",
    "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  Scenario s(*cp);
  const auto demo = s.emulator.identity(emu::testing::identity_id("demo"));
  REQUIRE(demo);
  s.create(kinds::nodes(), "", t::scale_set_node(s.node));
  s.create_identity("demo", demo->id, demo->client_id, "demo");
  s.create_pod("web", "demo", "10.1.0.5");

  t::TempDir exports;
  auto options = t::controller_options(s.ns);
  options.checkpoint_every = 3;
  podid::store::RetentionPolicy retention;
  retention.max_events = 2;
  options.retention = retention;
  options.retention_export_dir = exports.path();
  RunningController replica(s.io, s.cp, s.emulator, std::move(options));
  REQUIRE(run_until(
      s.io, [&] { return s.phase_is(replica.controller, "web", "demo", core::Phase::assigned); }, 60s));
  REQUIRE(run_until(
      s.io, [&] { return replica.controller.counters().events_retired > 0; }, 20s));
  replica.stop();

  // Every dropped event is in an export file, and the log starts after them.
  std::uint64_t exported = 0;
  for (const auto& f : std::filesystem::directory_iterator(exports.path())) {
    std::ifstream in(f.path());
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) ++exported;
  }
  CHECK(exported == replica.controller.counters().events_retired);
  CHECK(replica.store->first_seq() == exported + 1);
  // What is left (the newest checkpoint and what follows it) rebuilds the controller's state, compared at
  // the controller's sequence number: the ingest may append after the controller's last catch-up, until
  // stop() (a loaded CI machine made that happen once).
  const auto& live = replica.controller.state();
  podid::store::EventLog log(*replica.store);
  podid::store::RebuildOptions at_live;
  at_live.upto = live.last_seq;
  const auto rebuilt = log.rebuild(at_live);
  REQUIRE(rebuilt.has_value());
  INFO("the log ends at " << replica.store->last_seq() << ", the controller's state at " << live.last_seq
                          << ", the rebuilt state at " << rebuilt->state.last_seq);
  CHECK(rebuilt->state == live);
}
