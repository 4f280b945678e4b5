// Identities deleted and re-created in Azure under the same name: the planner detaches the stale entry
// once so that it is attached again (core/plan.cpp `recreated`), with the controller's former guards.
#include <catch2/catch.hpp>

#include "core/plan.hpp"
#include "core/state_codec.hpp"
#include "fixtures.hpp"

using namespace podid::core;
using namespace podid::core::testing;

namespace {

// Pod d/p on VM n0 with d/x (client "client-x") attached by us and confirmed by a read: Assigned.
Log attached(const Settings& settings = {}) {
  Log log;
  log.add(SettingsObserved{0, settings});
  log.add(NodeObserved{0, vm_node("n0")});
  log.add(IdentityObserved{0, msi("d", "x")});
  log.add(BindingObserved{0, binding("d", "b", "x", "sel")});
  log.add(PodObserved{0, pod("d", "p", "sel")});
  log.add(ArmOperationStarted{0, "op-a", vm_target("n0"), {rid("x")}, {}, {}});
  log.add(ArmOperationSucceeded{0, "op-a", vm_target("n0")});
  log.add(VmIdentitiesObserved{0, vm_target("n0"), {{rid("x"), "client-x", "principal-x"}}});
  REQUIRE(log.find(kPod, kId)->phase == Phase::assigned);
  return log;
}

const std::vector<std::string> kDetachX{rid("x")};

}  // namespace

TEST_CASE("An identity Azure reports as another one than the AzureIdentity names is detached once",
          "[unit]") {
  struct Row {
    const char* what;
    std::string client_id;
    std::string principal_id;
    bool detach;
  };
  const auto row = GENERATE(Row{"null client and principal IDs (re-created)", "", "", true},
                            Row{"null principal ID", "client-x", "", true},
                            Row{"the old client ID (AzureIdentity already edited)", "client-old", "p", true},
                            Row{"the AzureIdentity's client ID", "client-x", "principal-x", false},
                            Row{"the AzureIdentity's client ID in another case", "CLIENT-X", "p", false});
  INFO(row.what);
  auto log = attached();
  log.add(VmIdentitiesObserved{0, vm_target("n0"), {{rid("x"), row.client_id, row.principal_id}}});
  CHECK(detached(log) == (row.detach ? kDetachX : std::vector<std::string>{}));
}

TEST_CASE(
    "Only a re-created identity we attached, that a read reported and that is not protected, is "
    "detached",
    "[unit]") {
  SECTION("after our PATCH and before any read, empty IDs mean unknown, not null") {
    Log log;
    log.add(NodeObserved{0, vm_node("n0")});
    log.add(IdentityObserved{0, msi("d", "x")});
    log.add(BindingObserved{0, binding("d", "b", "x", "sel")});
    log.add(PodObserved{0, pod("d", "p", "sel")});
    log.add(ArmOperationStarted{0, "op-a", vm_target("n0"), {rid("x")}, {}, {}});
    log.add(ArmOperationSucceeded{0, "op-a", vm_target("n0")});
    REQUIRE(log.find(kPod, kId)->phase == Phase::assigned);
    CHECK(log.state.targets.at(vm_target("n0")).unconfirmed.contains(rid("x")));
    CHECK(detached(log).empty());
  }
  SECTION("attached by someone else") {
    Log log;
    log.add(NodeObserved{0, vm_node("n0")});
    log.add(IdentityObserved{0, msi("d", "x")});
    log.add(BindingObserved{0, binding("d", "b", "x", "sel")});
    log.add(PodObserved{0, pod("d", "p", "sel")});
    log.add(VmIdentitiesObserved{0, vm_target("n0"), {{rid("x"), "", ""}}});
    REQUIRE(log.find(kPod, kId)->phase == Phase::assigned);
    CHECK(detached(log).empty());
  }
  SECTION("a cluster or immutable identity") {
    Settings settings;
    settings.cluster_identities = {"client-x"};
    auto log = attached(settings);
    log.add(VmIdentitiesObserved{0, vm_target("n0"), {{rid("x"), "", ""}}});
    CHECK(detached(log).empty());
  }
  SECTION("a target with a PATCH in flight") {
    auto log = attached();
    log.add(VmIdentitiesObserved{0, vm_target("n0"), {{rid("x"), "", ""}}});
    log.add(ArmOperationStarted{0, "op-other", vm_target("n0"), {}, {}, {}});
    CHECK(detached(log).empty());
  }
}

TEST_CASE("A repaired identity is attached again and never detached twice for the same client ID", "[unit]") {
  auto log = attached();
  const auto stale = log.add(VmIdentitiesObserved{0, vm_target("n0"), {{rid("x"), "", ""}}});
  auto p = plan(log.state, log.now_ms);
  REQUIRE(p.identity_changes.size() == 1);
  CHECK(p.identity_changes[0].remove == kDetachX);
  CHECK(std::find(p.identity_changes[0].caused_by.begin(), p.identity_changes[0].caused_by.end(), stale) !=
        p.identity_changes[0].caused_by.end());

  // The controller executes it: the projection records the repair, the read shows the entry gone.
  log.add(ArmOperationStarted{0, "op-r", vm_target("n0"), {}, kDetachX, {}});
  CHECK(log.state.targets.at(vm_target("n0")).repaired.contains({rid("x"), "client-x"}));
  log.add(ArmOperationSucceeded{0, "op-r", vm_target("n0")});
  log.add(VmIdentitiesObserved{0, vm_target("n0"), {}});
  CHECK(log.find(kPod, kId)->phase == Phase::created);
  p = plan(log.state, log.now_ms);
  REQUIRE(p.identity_changes.size() == 1);
  CHECK(p.identity_changes[0].add == kDetachX);
  CHECK(p.identity_changes[0].remove.empty());

  // Attached again, and Azure still reports it null (or the AzureIdentity's client ID is wrong): no loop,
  // also after a restart from a checkpoint.
  log.add(ArmOperationStarted{0, "op-b", vm_target("n0"), kDetachX, {}, {}});
  log.add(ArmOperationSucceeded{0, "op-b", vm_target("n0")});
  log.add(VmIdentitiesObserved{0, vm_target("n0"), {{rid("x"), "", ""}}});
  REQUIRE(log.find(kPod, kId)->phase == Phase::assigned);
  CHECK(detached(log).empty());
  const auto restored = decode_state(encode_state(log.state));
  REQUIRE(restored.has_value());
  CHECK(*restored == log.state);
  CHECK(plan(*restored, log.now_ms).identity_changes.empty());

  // The documented fix, editing the AzureIdentity to the new client ID, gets one more repair.
  auto edited = msi("d", "x", "x", "client-new");
  edited.resource_version = "2";
  log.add(IdentityObserved{0, edited});
  log.add(VmIdentitiesObserved{0, vm_target("n0"), {{rid("x"), "client-old", "principal-old"}}});
  REQUIRE(log.find(kPod, kId)->phase == Phase::assigned);
  REQUIRE(log.find(kPod, kId)->client_id == "client-new");
  CHECK(detached(log) == kDetachX);
}

TEST_CASE("Repairs are forgotten once nothing on the target uses the identity", "[unit]") {
  auto log = attached();
  log.add(VmIdentitiesObserved{0, vm_target("n0"), {{rid("x"), "", ""}}});
  log.add(ArmOperationStarted{0, "op-r", vm_target("n0"), {}, kDetachX, {}});
  log.add(ArmOperationSucceeded{0, "op-r", vm_target("n0")});
  REQUIRE_FALSE(log.state.targets.at(vm_target("n0")).repaired.empty());
  log.add(PodDeleted{0, kPod, "9"});
  log.add(VmIdentitiesObserved{0, vm_target("n0"), {}});
  CHECK(log.state.assignments.empty());
  CHECK(log.state.targets.at(vm_target("n0")).repaired.empty());
}
