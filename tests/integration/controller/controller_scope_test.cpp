// Controller behaviour against the real kube-apiserver and the Azure emulator: with force_namespaced a
// binding in one namespace gives nothing to a pod of another; a pod relabelled to another selector gets the
// new identity and loses the old one; a storm of 429s (injected and from tight ARM budgets) and 409s
// converges with a bounded number of ARM calls, and the controller is quiet afterwards.
#include <catch2/catch.hpp>

#include "integration/controller/behaviour_env.hpp"
#include "support/control_plane_catch.hpp"

using podid::testing::Cluster;
using podid::testing::get_json;
using podid::testing::json_str;
using podid::testing::RunningController;
namespace core = podid::core;
namespace emu = podid::emulator;
namespace t = podid::testing;

using namespace std::chrono_literals;

TEST_CASE("With force_namespaced a binding in one namespace gives nothing to a pod in another",
          "[integration][behaviour]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  Cluster c(*cp, {"iso"});
  const auto other = c.create_namespace("behave-other");
  const auto n0 = c.create_node("n0", 0);
  c.create_identity(c.ns, "iso", "iso");
  // The intruder comes first, so that every plan that assigns the owner has seen it.
  c.create_pod(other, "intruder", "iso", n0, "10.3.0.1");
  c.create_pod(c.ns, "owner", "iso", n0, "10.3.0.2");

  auto options = t::controller_options(c.ns);
  options.ingest.ns = "";  // watch every namespace: the intruder must be seen to be refused
  REQUIRE(options.settings.force_namespaced);
  RunningController replica(c.io, c.cp, c.emulator, options);
  const auto& ctl = replica.controller;
  REQUIRE(c.run_until(
      [&] {
        return Cluster::phase_is(ctl, c.ns, "owner", "iso", core::Phase::assigned) &&
               ctl.state().pods.contains(core::PodKey{other, "intruder"});
      },
      60s));
  CHECK(c.scale_set_has("iso"));
  CHECK_FALSE(Cluster::has_any_assignment(ctl, other, "intruder"));
  // No AzureAssignedIdentity names the intruder, in its namespace or the identity's.
  for (const auto& n : {other, c.ns, std::string("default")}) {
    const auto list =
        get_json(*cp, "/apis/aadpodidentity.k8s.io/v1/namespaces/" + n + "/azureassignedidentities");
    REQUIRE(list.is_object());
    for (const auto& item : list.at("items").as_array()) CHECK(json_str(item, {"spec", "pod"}) != "intruder");
  }
  // A pod arriving in the other namespace later (planned on its own event) gets nothing either.
  c.create_pod(other, "late", "iso", n0, "10.3.0.3");
  REQUIRE(c.run_until([&] { return ctl.state().pods.contains(core::PodKey{other, "late"}); }, 30s));
  REQUIRE(c.run_until([&] { return ctl.state().operations.empty(); }, 20s));
  CHECK_FALSE(Cluster::has_any_assignment(ctl, other, "late"));
  CHECK_FALSE(Cluster::has_any_assignment(ctl, other, "intruder"));
  CHECK(Cluster::phase_is(ctl, c.ns, "owner", "iso", core::Phase::assigned));
}

TEST_CASE("A pod relabelled to another selector gets the new identity and loses the old one",
          "[integration][behaviour]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  Cluster c(*cp, {"red", "blue"});
  const auto n0 = c.create_node("n0", 0);
  c.create_identity(c.ns, "red", "red");
  c.create_identity(c.ns, "blue", "blue");
  c.create_pod(c.ns, "app", "red", n0, "10.3.1.1");

  RunningController replica(c.io, c.cp, c.emulator, t::controller_options(c.ns));
  const auto& ctl = replica.controller;
  REQUIRE(
      c.run_until([&] { return Cluster::phase_is(ctl, c.ns, "app", "red", core::Phase::assigned); }, 60s));
  CHECK(c.scale_set_has("red"));
  CHECK_FALSE(c.scale_set_has("blue"));

  c.relabel_pod(c.ns, "app", "blue");
  REQUIRE(c.run_until(
      [&] {
        return Cluster::phase_is(ctl, c.ns, "app", "blue", core::Phase::assigned) &&
               Cluster::assignment(ctl, c.ns, "app", "red") == nullptr && !c.scale_set_has("red") &&
               ctl.state().operations.empty();
      },
      60s));
  CHECK(c.scale_set_has("blue"));
  CHECK(c.aai(c.ns, "app", "red").is_null());
  CHECK(json_str(c.aai(c.ns, "app", "blue"), {"status", "status"}) == "Assigned");
}

TEST_CASE("A storm of 429s and 409s converges with a bounded number of ARM calls and then goes quiet",
          "[integration][behaviour]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  Cluster c(*cp, {"s1", "s2", "s3"});
  const auto n0 = c.create_node("n0", 0);
  const auto n1 = c.create_node("n1", 1);
  for (const auto* name : {"s1", "s2", "s3"}) c.create_identity(c.ns, name, name);
  c.create_pod(c.ns, "p1", "s1", n0, "10.3.2.1");
  c.create_pod(c.ns, "p2", "s2", n1, "10.3.2.2");
  c.create_pod(c.ns, "p3", "s3", n0, "10.3.2.3");

  // Tight subscription budgets (real token-bucket 429s with Retry-After) plus injected failures of the PATCH.
  c.emulator.set_arm_budgets(emu::Budget{1, 1}, emu::Budget{1, 0.5});
  c.emulator.inject_fault(emu::Fault{"arm.vmss.patch", 429, 3, false, 1s});
  c.emulator.inject_fault(emu::Fault{"arm.vmss.patch", 409, 2, false, 1s});

  RunningController replica(c.io, c.cp, c.emulator, t::controller_options(c.ns));
  const auto& ctl = replica.controller;
  REQUIRE(c.run_until(
      [&] {
        return Cluster::phase_is(ctl, c.ns, "p1", "s1", core::Phase::assigned) &&
               Cluster::phase_is(ctl, c.ns, "p2", "s2", core::Phase::assigned) &&
               Cluster::phase_is(ctl, c.ns, "p3", "s3", core::Phase::assigned) &&
               ctl.state().operations.empty();
      },
      90s));
  CHECK(c.scale_set_has("s1"));
  CHECK(c.scale_set_has("s2"));
  CHECK(c.scale_set_has("s3"));
  const auto counters = c.emulator.counters();
  const auto get = [&](const std::string& k) {
    const auto it = counters.find(k);
    return it == counters.end() ? std::uint64_t{0} : it->second;
  };
  INFO("arm.requests=" << get("arm.requests") << " arm.throttled=" << get("arm.throttled")
                       << " arm.vmss.patch=" << get("arm.vmss.patch") << " arm.reads=" << get("arm.reads"));
  CHECK(get("arm.faults") == 5);     // every injected failure was met
  CHECK(get("arm.throttled") >= 1);  // and the budgets bit: real token-bucket 429s
  // Five failed PATCHes and one that succeeds; a little slack for a batch split, none for a hot loop.
  CHECK(get("arm.vmss.patch") >= 6);
  CHECK(get("arm.vmss.patch") <= 9);
  // The budgets refill at 1-2 calls a second: a client that ignored Retry-After would run up hundreds.
  CHECK(get("arm.throttled") <= 20);
  CHECK(get("arm.requests") <= 60);

  // Quiet afterwards: with the default drift interval, nothing goes to ARM while nothing changes. This
  // window proves an absence, so it is a fixed length by nature.
  const auto before = c.emulator.counter("arm.requests");
  const auto plans = ctl.counters().plans;
  CHECK_FALSE(c.run_until([&] { return c.emulator.counter("arm.requests") != before; }, 3s));
  // A few trailing watch events (conditions, Events, AAI status) may still wake it; a hot loop would plan
  // every few milliseconds.
  CHECK(ctl.counters().plans <= plans + 5);
}
