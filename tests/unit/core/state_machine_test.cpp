#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "core/state_codec.hpp"
#include "fixtures.hpp"

using namespace podid::core;
using namespace podid::core::testing;

namespace {

ArmOperationStarted start(const std::string& id, std::vector<std::string> add,
                          std::vector<std::string> remove = {}) {
  return {0, id, vm_target("n0"), std::move(add), std::move(remove), {}};
}

}  // namespace

TEST_CASE("A successful ARM change moves the assignment from Created to Assigned", "[unit]") {
  auto log = matched_cluster();
  log.add(start("op1", {rid("x")}));
  CHECK(log.state.targets.at(vm_target("n0")).in_flight == "op1");
  log.add(ArmOperationSucceeded{0, "op1", vm_target("n0")});
  const auto& t = log.state.targets.at(vm_target("n0"));
  CHECK(t.in_flight.empty());
  CHECK(t.ours.contains(rid("x")));
  CHECK(log.find(kPod, kId)->phase == Phase::assigned);
}

TEST_CASE("Azure already holding the identity settles the assignment without a PATCH", "[unit]") {
  auto log = matched_cluster();
  log.add(VmIdentitiesObserved{0, vm_target("n0"), {{rid("x"), "client-x", "p"}}});
  CHECK(log.find(kPod, kId)->phase == Phase::assigned);
  CHECK(log.state.targets.at(vm_target("n0")).ours.empty());
  SECTION("and an identity detached behind our back is attached again") {
    log.add(VmIdentitiesObserved{0, vm_target("n0"), {}});
    CHECK(log.find(kPod, kId)->phase == Phase::created);
  }
}

TEST_CASE("Failures schedule retries with back-off, then quarantine permanent ones", "[unit]") {
  auto log = matched_cluster();
  Settings settings;
  settings.retry = RetryPolicy{1000, 8000, 3};
  log.add(SettingsObserved{0, settings});
  for (int attempt = 1; attempt <= 3; ++attempt) {
    const auto op = "op" + std::to_string(attempt);
    log.add(start(op, {rid("x")}));
    log.add(
        ArmOperationFailed{0, op, vm_target("n0"), ErrorCode::permission, "LinkedAuthorizationFailed", {}});
    const auto* a = log.find(kPod, kId);
    CAPTURE(attempt);
    if (attempt < 3) {
      CHECK(a->phase == Phase::retry_scheduled);
      CHECK(a->attempts == attempt);
      CHECK(a->not_before_ms == log.now_ms + backoff_ms(settings.retry, attempt));
    } else {
      CHECK(a->phase == Phase::quarantined);
      CHECK(a->reason.find("LinkedAuthorizationFailed") != std::string::npos);
    }
  }
  // Editing the identity gives it another chance.
  auto edited = msi("d", "x");
  edited.resource_version = "2";
  log.add(IdentityObserved{0, edited});
  CHECK(log.find(kPod, kId)->phase == Phase::created);
}

TEST_CASE("A status-only write to a quarantined identity does not re-evaluate it; a spec edit does",
          "[unit]") {
  auto log = Log();
  auto id = msi("d", "x");
  id.generation = 1;
  log.add(NodeObserved{0, vm_node("n0")});
  log.add(IdentityObserved{0, id});
  log.add(BindingObserved{0, binding("d", "b", "x", "sel")});
  log.add(PodObserved{0, pod("d", "p", "sel")});
  Settings settings;
  settings.retry = RetryPolicy{1000, 8000, 1};
  log.add(SettingsObserved{0, settings});
  log.add(start("op1", {rid("x")}));
  log.add(
      ArmOperationFailed{0, "op1", vm_target("n0"), ErrorCode::permission, "LinkedAuthorizationFailed", {}});
  REQUIRE(log.find(kPod, kId)->phase == Phase::quarantined);
  // The controller's Ready condition (status subresource): a new resourceVersion, the same generation.
  auto status_written = id;
  status_written.resource_version = "2";
  log.add(IdentityObserved{0, status_written});
  CHECK(log.find(kPod, kId)->phase == Phase::quarantined);
  // A spec edit bumps the generation: another chance.
  auto edited = status_written;
  edited.resource_version = "3";
  edited.generation = 2;
  log.add(IdentityObserved{0, edited});
  CHECK(log.find(kPod, kId)->phase == Phase::created);
}

TEST_CASE("Transient failures keep retrying and never quarantine", "[unit]") {
  auto log = matched_cluster();
  for (int attempt = 1; attempt <= 8; ++attempt) {
    const auto op = "op" + std::to_string(attempt);
    log.add(start(op, {rid("x")}));
    log.add(ArmOperationFailed{0, op, vm_target("n0"), ErrorCode::transient, "503", {}});
  }
  CHECK(log.find(kPod, kId)->phase == Phase::retry_scheduled);
  CHECK(log.state.targets.at(vm_target("n0")).failures == 8);
}

TEST_CASE("A failure naming one identity leaves the others in the batch untouched", "[unit]") {
  auto log = matched_cluster();
  log.add(IdentityObserved{0, msi("d", "y")});
  log.add(BindingObserved{0, binding("d", "b2", "y", "sel")});
  log.add(start("op1", {rid("x"), rid("y")}));
  log.add(ArmOperationFailed{
      0, "op1", vm_target("n0"), ErrorCode::not_found, "FailedIdentityOperation", {rid("y")}});
  CHECK(log.find(kPod, kId)->phase == Phase::created);
  CHECK(log.find(kPod, {"d", "y"})->phase == Phase::retry_scheduled);
  CHECK(log.state.targets.at(vm_target("n0")).not_before_ms == 0);
}

TEST_CASE("Throttling schedules a retry after Retry-After without counting an attempt", "[unit]") {
  auto log = matched_cluster();
  log.add(start("op1", {rid("x")}));
  log.add(ArmOperationThrottled{0, "op1", vm_target("n0"), 30000});
  const auto* a = log.find(kPod, kId);
  CHECK(a->phase == Phase::retry_scheduled);
  CHECK(a->attempts == 0);
  CHECK(a->not_before_ms == log.now_ms + 30000);
  CHECK(log.state.targets.at(vm_target("n0")).not_before_ms == log.now_ms + 30000);
}

TEST_CASE("An undesired assignment is Unassigned until its AzureAssignedIdentity is deleted", "[unit]") {
  auto log = matched_cluster();
  const auto aai_key = log.find(kPod, kId)->aai;
  AssignedIdentity aai{aai_key, kPod, kId, {"d", "b"}, "n0", "Created", "", "5"};
  log.add(AssignedIdentityWritten{0, WriteAction::created, aai});
  log.add(PodDeleted{0, kPod, "9"});
  REQUIRE(log.find(kPod, kId) != nullptr);
  CHECK(log.find(kPod, kId)->phase == Phase::unassigned);
  log.add(AssignedIdentityDeleted{0, aai_key, "10"});
  CHECK(log.find(kPod, kId) == nullptr);
  CHECK(log.state.index.assignment_by_aai.empty());
}

TEST_CASE("Service principal identities are Assigned once their AzureAssignedIdentity exists", "[unit]") {
  auto type = GENERATE(1, 2);
  auto log = matched_cluster();
  log.add(IdentityObserved{0, sp("d", "x", type)});
  const auto* a = log.find(kPod, kId);
  REQUIRE(a->phase == Phase::created);
  AssignedIdentity aai{a->aai, kPod, kId, {"d", "b"}, "n0", "Created", "", "5"};
  log.add(AssignedIdentityObserved{0, aai});
  CHECK(log.find(kPod, kId)->phase == Phase::assigned);
}

TEST_CASE("Projection is deterministic and checkpoints continue like a fresh replay", "[unit]") {
  auto log = matched_cluster();
  log.add(IdentityObserved{0, msi("d", "y")});
  log.add(BindingObserved{0, binding("d", "b2", "y", "sel")});
  log.add(NodeObserved{0, vmss_node("n1", "pool", "0")});
  log.add(PodObserved{0, pod("d", "q", "sel", "n1")});
  log.add(start("op1", {rid("x"), rid("y")}));
  log.add(ArmOperationSucceeded{0, "op1", vm_target("n0")});
  log.add(ArmOperationStarted{0, "op2", vmss_target("pool"), {rid("x")}, {}, {3}});
  log.add(ArmOperationThrottled{0, "op2", vmss_target("pool"), 1000});
  log.add(AssignedIdentityWritten{
      0, WriteAction::created, {{"default", "aai"}, {"d", "gone"}, kId, {}, "n0", "", "", "1"}});
  log.add(MigrationApplied{0, "m0001_crd_field_case", "AzureIdentity", "d/x", true});
  log.add(PodDeleted{0, kPod, "9"});

  const auto cut = GENERATE(range<std::size_t>(0, 15));
  State twice;
  replay(twice, log.events);
  CHECK(twice == log.state);

  State head;
  replay(head, std::vector<Event>(log.events.begin(), log.events.begin() + static_cast<long>(cut)));
  const auto text = boost::json::serialize(encode_state(head));
  auto restored = decode_state(boost::json::parse(text));
  REQUIRE(restored.has_value());
  CHECK(*restored == head);
  replay(*restored, std::vector<Event>(log.events.begin() + static_cast<long>(cut), log.events.end()),
         cut + 1);
  CHECK(*restored == log.state);
}

TEST_CASE("Events at or below the last applied sequence number are ignored", "[unit]") {
  auto log = matched_cluster();
  const auto before = log.state;
  CHECK_FALSE(apply(log.state, PodDeleted{0, kPod, "9"}, 2));
  CHECK(log.state == before);
}

TEST_CASE("A corrupt checkpoint is reported as corrupt", "[unit]") {
  auto r = decode_state(boost::json::parse(R"({"format":99,"lastSeq":1})"));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::corrupt);
  auto r2 =
      decode_state(boost::json::parse(R"({"format":1,"lastSeq":1,"settings":{},"pods":[{"key":"x"}]})"));
  REQUIRE_FALSE(r2.has_value());
  CHECK(r2.error().message.find("pods[0]") != std::string::npos);
}
