// Identities adopted from AzureAssignedIdentities when a target is read for the first time in a log (a log
// rebuilt after damage, or an upgrade from the original MIC): see core/projection.cpp adopt_from_assigned.
// Without it, identities attached before the log began were never detached when their pods went away.
#include <catch2/catch.hpp>

#include "core/plan.hpp"
#include "fixtures.hpp"

using namespace podid::core;
using namespace podid::core::testing;

namespace {

AssignedIdentity aai(const PodKey& pod, const AzureIdentity& id, const std::string& status,
                     std::int64_t type = 0) {
  AssignedIdentity a;
  a.key = {"default", assigned_identity_name(pod, id.key)};
  a.pod = pod;
  a.identity = id.key;
  a.binding = {id.key.ns, "b"};
  a.node = "n0";
  a.status = status;
  a.resource_version = "7";
  a.identity_copy = IdentityCopy{type, id.client_id, id.resource_id};
  return a;
}

// A fresh log of a cluster that already runs: pod d/p with d/x on VM n0, its AAI `status`, and Azure
// reporting x (and y, attached by someone else) on n0, read once the initial lists are in the log.
Log fresh_log(const std::string& status, std::int64_t type = 0, const Settings& settings = {}) {
  Log log;
  log.add(SettingsObserved{0, settings});
  log.add(NodeObserved{0, vm_node("n0")});
  log.add(IdentityObserved{0, msi("d", "x")});
  log.add(BindingObserved{0, binding("d", "b", "x", "sel")});
  log.add(PodObserved{0, pod("d", "p", "sel")});
  log.add(AssignedIdentityObserved{0, aai(kPod, msi("d", "x"), status, type)});
  log.add(
      VmIdentitiesObserved{0, vm_target("n0"), {{rid("x"), "client-x", "px"}, {rid("y"), "client-y", "py"}}});
  return log;
}

}  // namespace

TEST_CASE("After a rebuild, an identity an Assigned AAI records is ours: detached when its pod goes",
          "[unit]") {
  auto log = fresh_log("Assigned");
  REQUIRE(log.find(kPod, kId)->phase == Phase::assigned);
  const auto& t = log.state.targets.at(vm_target("n0"));
  CHECK(t.ours == std::set<std::string>{rid("x")});             // y has no AAI: never ours
  CHECK(plan(log.state, log.now_ms).identity_changes.empty());  // nothing to attach, nothing to detach
  log.add(PodDeleted{0, kPod, "9"});
  CHECK(detached(log) == std::vector<std::string>{rid("x")});
}

TEST_CASE("No adoption from an AAI that is not Assigned, not type 0, or not on the target", "[unit]") {
  SECTION("status Created") {
    auto log = fresh_log("Created");
    CHECK(log.state.targets.at(vm_target("n0")).ours.empty());
  }
  SECTION("a service principal's AAI") {
    auto log = fresh_log("Assigned", 1);
    CHECK(log.state.targets.at(vm_target("n0")).ours.empty());
  }
  SECTION("its identity is not on the VM") {
    Log log;
    log.add(NodeObserved{0, vm_node("n0")});
    log.add(AssignedIdentityObserved{0, aai(kPod, msi("d", "x"), "Assigned")});
    log.add(VmIdentitiesObserved{0, vm_target("n0"), {{rid("y"), "client-y", "py"}}});
    CHECK(log.state.targets.at(vm_target("n0")).ours.empty());
  }
  SECTION("its node is another VM") {
    Log log;
    log.add(NodeObserved{0, vm_node("n0")});
    log.add(NodeObserved{0, vm_node("n1")});
    auto other = aai(kPod, msi("d", "x"), "Assigned");
    other.node = "n1";
    log.add(AssignedIdentityObserved{0, other});
    log.add(VmIdentitiesObserved{0, vm_target("n0"), {{rid("x"), "client-x", "px"}}});
    CHECK(log.state.targets.at(vm_target("n0")).ours.empty());
  }
}

TEST_CASE("An adopted immutable identity is never detached", "[unit]") {
  Settings settings;
  settings.immutable_identities = {"client-x"};
  auto log = fresh_log("Assigned", 0, settings);
  log.add(PodDeleted{0, kPod, "9"});
  CHECK(detached(log).empty());
}

TEST_CASE("Only the first read of a target adopts: later reads leave what was found attached alone",
          "[unit]") {
  // In a log kept from the start: y was on the VM when its pod came, so it was settled without a PATCH
  // and its AAI says Assigned; it stays someone else's.
  Log log;
  log.add(NodeObserved{0, vm_node("n0")});
  log.add(VmIdentitiesObserved{0, vm_target("n0"), {{rid("y"), "client-y", "py"}}});
  log.add(IdentityObserved{0, msi("d", "y")});
  log.add(BindingObserved{0, binding("d", "b", "y", "sel")});
  log.add(PodObserved{0, pod("d", "p", "sel")});
  REQUIRE(log.find(kPod, {"d", "y"})->phase == Phase::assigned);
  log.add(AssignedIdentityWritten{0, WriteAction::created, aai(kPod, msi("d", "y"), "Assigned")});
  log.add(VmIdentitiesObserved{0, vm_target("n0"), {{rid("y"), "client-y", "py"}}});
  CHECK(log.state.targets.at(vm_target("n0")).ours.empty());
  log.add(PodDeleted{0, kPod, "9"});
  CHECK(detached(log).empty());
}
