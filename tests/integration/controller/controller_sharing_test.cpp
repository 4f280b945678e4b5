// Controller behaviour on one scale set, against the real kube-apiserver and the Azure emulator: pods that
// share an identity keep it when one of them goes; immutable and cluster identities stay attached when
// their pods go while an ordinary identity is detached; an identity detached behind the controller's back
// is re-attached by the drift check, and idle drift checks write nothing.
#include <catch2/catch.hpp>
#include <cctype>

#include "integration/controller/behaviour_env.hpp"
#include "support/control_plane_catch.hpp"

using podid::testing::Cluster;
using podid::testing::json_str;
using podid::testing::RunningController;
namespace core = podid::core;
namespace emu = podid::emulator;
namespace t = podid::testing;

using namespace std::chrono_literals;

TEST_CASE(
    "Pods on one scale set share an identity: deleting one keeps the identity attached and the others "
    "Assigned",
    "[integration][behaviour]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  Cluster c(*cp, {});
  const auto n0 = c.create_node("n0", 0);
  const auto n1 = c.create_node("n1", 1);
  c.create_identity(c.ns, "demo", "demo");
  c.create_identity(c.ns, "id-b", "idb");
  c.create_pod(c.ns, "p1", "demo", n0, "10.2.0.1");
  c.create_pod(c.ns, "p2", "demo", n1, "10.2.0.2");
  c.create_pod(c.ns, "p3", "demo", n0, "10.2.0.3");

  RunningController replica(c.io, c.cp, c.emulator, t::controller_options(c.ns));
  const auto& ctl = replica.controller;
  REQUIRE(c.run_until(
      [&] {
        return Cluster::phase_is(ctl, c.ns, "p1", "demo", core::Phase::assigned) &&
               Cluster::phase_is(ctl, c.ns, "p2", "demo", core::Phase::assigned) &&
               Cluster::phase_is(ctl, c.ns, "p3", "demo", core::Phase::assigned);
      },
      60s));
  CHECK(c.scale_set_has("demo"));
  // One identity for one scale set: a single PATCH, whatever the number of pods.
  CHECK(c.emulator.counter("arm.vmss.patch") == 1);

  c.delete_pod(c.ns, "p1");
  REQUIRE(c.run_until(
      [&] { return !Cluster::has_any_assignment(ctl, c.ns, "p1") && c.aai(c.ns, "p1", "demo").is_null(); },
      60s));
  // A barrier: a later change on the same scale set. Had the deletion planned a detach of demo, it would
  // have been sent before (one operation in flight per scale set) or batched with this attach.
  c.create_pod(c.ns, "p4", "idb", n1, "10.2.0.4");
  REQUIRE(
      c.run_until([&] { return Cluster::phase_is(ctl, c.ns, "p4", "id-b", core::Phase::assigned); }, 60s));
  REQUIRE(c.run_until([&] { return ctl.state().operations.empty(); }, 20s));
  CHECK(c.scale_set_has("demo"));
  CHECK(c.scale_set_has("id-b"));
  CHECK(c.emulator.counter("arm.vmss.patch") == 2);
  CHECK(Cluster::phase_is(ctl, c.ns, "p2", "demo", core::Phase::assigned));
  CHECK(Cluster::phase_is(ctl, c.ns, "p3", "demo", core::Phase::assigned));
  CHECK(json_str(c.aai(c.ns, "p2", "demo"), {"status", "status"}) == "Assigned");
  CHECK(json_str(c.aai(c.ns, "p3", "demo"), {"status", "status"}) == "Assigned");
  CHECK(c.aai(c.ns, "p1", "demo").is_null());
}

TEST_CASE(
    "Immutable and cluster identities stay attached when their pods go, while an ordinary identity is "
    "detached",
    "[integration][behaviour]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  Cluster c(*cp, {"plain"});
  const auto n0 = c.create_node("n0", 0);
  const auto demo = c.azure_identity("demo");
  const auto kubelet = c.azure_identity("id-b");
  c.create_identity(c.ns, "demo", "demo");
  c.create_identity(c.ns, "id-b", "kubelet");
  c.create_identity(c.ns, "plain", "plain");
  c.create_pod(c.ns, "pa", "demo", n0, "10.2.1.1");
  c.create_pod(c.ns, "pb", "kubelet", n0, "10.2.1.2");
  c.create_pod(c.ns, "pc", "plain", n0, "10.2.1.3");

  auto options = t::controller_options(c.ns);
  options.settings.immutable_identities = {demo.client_id};  // by client ID
  std::string upper = kubelet.id;                            // by resource ID, in another case
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  options.settings.cluster_identities = {upper};
  RunningController replica(c.io, c.cp, c.emulator, options);
  const auto& ctl = replica.controller;
  REQUIRE(c.run_until(
      [&] {
        return Cluster::phase_is(ctl, c.ns, "pa", "demo", core::Phase::assigned) &&
               Cluster::phase_is(ctl, c.ns, "pb", "id-b", core::Phase::assigned) &&
               Cluster::phase_is(ctl, c.ns, "pc", "plain", core::Phase::assigned);
      },
      60s));
  CHECK(c.scale_set_has("demo"));
  CHECK(c.scale_set_has("id-b"));
  CHECK(c.scale_set_has("plain"));

  c.delete_pod(c.ns, "pa");
  c.delete_pod(c.ns, "pb");
  c.delete_pod(c.ns, "pc");
  // The ordinary identity goes: the deletions were planned and executed.
  REQUIRE(c.run_until(
      [&] {
        return ctl.state().assignments.empty() && !c.scale_set_has("plain") && ctl.state().operations.empty();
      },
      60s));
  CHECK(c.scale_set_has("demo"));
  CHECK(c.scale_set_has("id-b"));
  CHECK(c.aai(c.ns, "pa", "demo").is_null());
  CHECK(c.aai(c.ns, "pb", "id-b").is_null());
}

TEST_CASE("An identity detached behind the controller's back is re-attached by the drift check",
          "[integration][behaviour]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  Cluster c(*cp, {});
  const auto n0 = c.create_node("n0", 0);
  c.create_identity(c.ns, "demo", "demo");
  c.create_pod(c.ns, "web", "demo", n0, "10.2.2.1");

  auto options = t::controller_options(c.ns);
  options.drift_interval = 300ms;
  RunningController replica(c.io, c.cp, c.emulator, options);
  const auto& ctl = replica.controller;
  REQUIRE(
      c.run_until([&] { return Cluster::phase_is(ctl, c.ns, "web", "demo", core::Phase::assigned); }, 60s));
  REQUIRE(c.scale_set_has("demo"));
  CHECK(c.emulator.counter("arm.vmss.patch") == 1);

  // Idle drift checks read but never write.
  const auto observes = ctl.counters().observes_started;
  REQUIRE(c.run_until([&] { return ctl.counters().observes_started >= observes + 3; }, 20s));
  CHECK(c.emulator.counter("arm.vmss.patch") == 1);

  REQUIRE(c.emulator.detach(emu::testing::vmss_id("ss-0"), emu::testing::identity_id("demo")));
  REQUIRE_FALSE(c.scale_set_has("demo"));
  REQUIRE(c.run_until([&] { return c.scale_set_has("demo"); }, 30s));
  REQUIRE(c.run_until(
      [&] {
        return Cluster::phase_is(ctl, c.ns, "web", "demo", core::Phase::assigned) &&
               ctl.state().operations.empty();
      },
      30s));
  CHECK(c.emulator.counter("arm.vmss.patch") == 2);
  CHECK(json_str(c.aai(c.ns, "web", "demo"), {"status", "status"}) == "Assigned");
}
