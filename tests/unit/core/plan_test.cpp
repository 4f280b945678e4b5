#include "core/plan.hpp"

#include <catch2/catch.hpp>

#include "fixtures.hpp"

using namespace podid::core;
using namespace podid::core::testing;

namespace {

// Attaches rid("x") to n0 through a successful operation.
void attach_x(Log& log) {
  log.add(ArmOperationStarted{0, "op-a", vm_target("n0"), {rid("x")}, {}, {}});
  log.add(ArmOperationSucceeded{0, "op-a", vm_target("n0")});
}

}  // namespace

TEST_CASE("A new assignment plans one attach and an AzureAssignedIdentity create", "[unit]") {
  auto log = matched_cluster();
  const auto p = plan(log.state, log.now_ms);
  REQUIRE(p.identity_changes.size() == 1);
  CHECK(p.identity_changes[0].target == vm_target("n0"));
  CHECK(p.identity_changes[0].add == std::vector<std::string>{rid("x")});
  CHECK(p.identity_changes[0].remove.empty());
  CHECK(p.identity_changes[0].caused_by == std::vector<Seq>{4});
  REQUIRE(p.aai_writes.size() == 1);
  CHECK(p.aai_writes[0].kind == AaiWriteKind::create);
  CHECK(p.aai_writes[0].assigned.status == "Created");
}

TEST_CASE("Nothing is planned for a target with a PATCH in flight", "[unit]") {
  auto log = matched_cluster();
  log.add(ArmOperationStarted{0, "op", vm_target("n0"), {rid("x")}, {}, {}});
  CHECK(plan(log.state, log.now_ms).identity_changes.empty());
}

TEST_CASE("Service principal identities need no ARM call", "[unit]") {
  auto type = GENERATE(1, 2);
  auto log = matched_cluster();
  log.add(IdentityObserved{0, sp("d", "x", type)});
  const auto p = plan(log.state, log.now_ms);
  CHECK(p.identity_changes.empty());
  REQUIRE(p.aai_writes.size() == 1);
  CHECK(p.aai_writes[0].kind == AaiWriteKind::create);
}

TEST_CASE("Changes are split into requests of at most 150 identities", "[unit]") {
  auto n = GENERATE(1, 150, 151, 301);
  Log log;
  log.add(NodeObserved{0, vm_node("n0")});
  log.add(PodObserved{0, pod("d", "p", "sel")});
  for (int i = 0; i < n; ++i) {
    const auto name = "id" + std::to_string(i);
    log.add(IdentityObserved{0, msi("d", name)});
    log.add(BindingObserved{0, binding("d", "b" + std::to_string(i), name, "sel")});
  }
  const auto p = plan(log.state, log.now_ms);
  const auto expected_parts = static_cast<std::size_t>((n + 149) / 150);
  REQUIRE(p.identity_changes.size() == expected_parts);
  std::size_t total = 0;
  for (const auto& c : p.identity_changes) {
    CHECK(c.add.size() + c.remove.size() <= kMaxIdentitiesPerRequest);
    CHECK(c.parts == expected_parts);
    total += c.add.size();
  }
  CHECK(total == static_cast<std::size_t>(n));
}

TEST_CASE("An identity still used by another pod on the same VM or scale set is not detached", "[unit]") {
  auto vmss = GENERATE(false, true);
  Log log;
  log.add(NodeObserved{0, vmss ? vmss_node("n0", "pool", "0") : vm_node("n0")});
  log.add(NodeObserved{0, vmss ? vmss_node("n1", "pool", "1") : vm_node("n0b")});
  log.add(IdentityObserved{0, msi("d", "x")});
  log.add(BindingObserved{0, binding("d", "b", "x", "sel")});
  log.add(PodObserved{0, pod("d", "p", "sel", "n0")});
  log.add(PodObserved{0, pod("e", "p", "sel", vmss ? "n1" : "n0")});  // same name, other namespace
  const auto target = vmss ? vmss_target("pool") : vm_target("n0");
  log.add(ArmOperationStarted{0, "op", target, {rid("x")}, {}, {}});
  log.add(ArmOperationSucceeded{0, "op", target});
  log.add(PodDeleted{0, {"d", "p"}, "9"});
  CAPTURE(vmss);
  CHECK(plan(log.state, log.now_ms).identity_changes.empty());
  log.add(PodDeleted{0, {"e", "p"}, "10"});
  const auto p = plan(log.state, log.now_ms);
  REQUIRE(p.identity_changes.size() == 1);
  CHECK(p.identity_changes[0].remove == std::vector<std::string>{rid("x")});
}

TEST_CASE("Immutable, cluster and foreign identities are never detached", "[unit]") {
  auto which = GENERATE(as<std::string>{}, "immutable-client", "immutable-rid", "cluster", "foreign");
  auto log = matched_cluster();
  Settings settings;
  if (which == "immutable-client") settings.immutable_identities = {"CLIENT-X"};
  if (which == "immutable-rid") settings.immutable_identities = {rid("x")};
  if (which == "cluster") settings.cluster_identities = {"client-x"};
  log.add(SettingsObserved{0, settings});
  if (which == "foreign") {
    log.add(VmIdentitiesObserved{0, vm_target("n0"), {{rid("x"), "client-x", "p"}}});
  } else {
    attach_x(log);
  }
  log.add(PodDeleted{0, kPod, "9"});
  CAPTURE(which);
  CHECK(plan(log.state, log.now_ms).identity_changes.empty());
}

TEST_CASE("Retry-scheduled assignments wait until not_before", "[unit]") {
  auto log = matched_cluster();
  log.add(ArmOperationStarted{0, "op", vm_target("n0"), {rid("x")}, {}, {}});
  log.add(ArmOperationThrottled{0, "op", vm_target("n0"), 5000});
  const auto due = log.now_ms + 5000;
  const auto early = plan(log.state, due - 1);
  CHECK(early.identity_changes.empty());
  CHECK(early.wake_at_ms == due);
  CHECK(plan(log.state, due).identity_changes.size() == 1);
}

TEST_CASE("A quarantined assignment does not block the others on the node", "[unit]") {
  auto log = matched_cluster();
  auto bad = msi("d", "bad");
  bad.resource_id = "nonsense";
  log.add(IdentityObserved{0, bad});
  log.add(BindingObserved{0, binding("d", "b2", "bad", "sel")});
  const auto p = plan(log.state, log.now_ms);
  REQUIRE(p.identity_changes.size() == 1);
  CHECK(p.identity_changes[0].add == std::vector<std::string>{rid("x")});
  bool warned = false;
  for (const auto& r : p.reports) warned = warned || (r.warning && r.reason == "binding apply error");
  CHECK(warned);
}

TEST_CASE("AzureAssignedIdentity status follows the assignment and orphans are deleted", "[unit]") {
  auto log = matched_cluster();
  const auto* a = log.find(kPod, kId);
  AssignedIdentity aai{a->aai, kPod, kId, {"d", "b"}, "n0", "Created", "", "5"};
  aai.identity_copy = IdentityCopy{0, "client-x", rid("x")};  // as the writer embeds msi("d", "x")
  log.add(AssignedIdentityWritten{0, WriteAction::created, aai});
  attach_x(log);
  auto p = plan(log.state, log.now_ms);
  REQUIRE(p.aai_writes.size() == 1);
  CHECK(p.aai_writes[0].kind == AaiWriteKind::status);
  CHECK(p.aai_writes[0].assigned.status == "Assigned");
  CHECK(p.aai_writes[0].assigned.resource_version == "5");

  log.add(
      AssignedIdentityObserved{0, {{"default", "stale"}, {"d", "old"}, kId, {}, "n0", "Assigned", "", "1"}});
  p = plan(log.state, log.now_ms);
  bool removed = false;
  for (const auto& w : p.aai_writes)
    removed = removed || (w.kind == AaiWriteKind::remove && w.assigned.key.name == "stale");
  CHECK(removed);
}

TEST_CASE("Managed mode plans nothing", "[unit]") {
  auto log = matched_cluster();
  Settings settings;
  settings.mode = Mode::managed;
  log.add(SettingsObserved{0, settings});
  CHECK(plan(log.state, log.now_ms).empty());
}
