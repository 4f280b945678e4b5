#include "core/event_codec.hpp"
#include "integration/arm/arm_fixture.hpp"

using namespace podid::arm;
using namespace podid::arm::testing;
using podid::core::ErrorCode;
using podid::core::Event;

namespace {

// The events with their timestamps cleared, for exact comparison; timestamps are checked to be ordered.
std::vector<Event> untimed(std::vector<Event> events) {
  std::int64_t last = 0;
  for (auto& e : events) {
    std::visit(
        [&](auto& x) {
          CHECK(x.at_ms >= last);
          last = x.at_ms;
          x.at_ms = 0;
        },
        e);
  }
  return events;
}

std::string operation_of(const Event& e) {
  return std::get<podid::core::ArmOperationStarted>(e).operation_id;
}

podid::core::VmIdentity reported(Cloud& cloud, const std::string& id) {
  const auto mi = cloud.emu.identity(id);
  REQUIRE(mi.has_value());
  return podid::core::VmIdentity{id, mi->client_id, mi->principal_id};
}

podid::core::ArmOperationStarted started(const std::string& op, podid::core::ArmTarget t,
                                         std::vector<std::string> add, std::vector<std::string> remove = {}) {
  return podid::core::ArmOperationStarted{0, op, std::move(t), std::move(add), std::move(remove), {7}};
}

std::size_t attached(Cloud& cloud, const podid::core::ArmTarget& t) {
  const auto m = cloud.emu.machine(t.arm_id());
  REQUIRE(m.has_value());
  return m->user.size();
}

}  // namespace

TEST_CASE("Attaching to a scale set records Started, Succeeded and what Azure reports, exactly",
          "[integration]") {
  Cloud cloud;
  Controller c(cloud);
  REQUIRE(c.execute(change(vmss("ss-0"), {identity("id-a"), identity("id-b")})).has_value());
  REQUIRE(c.events.size() == 3);
  const std::string op = operation_of(c.events[0]);
  CHECK(op.size() == 36);
  const std::vector<Event> expected{
      started(op, vmss("ss-0"), {identity("id-a"), identity("id-b")}),
      podid::core::ArmOperationSucceeded{0, op, vmss("ss-0")},
      podid::core::VmIdentitiesObserved{
          0, vmss("ss-0"), {reported(cloud, identity("id-a")), reported(cloud, identity("id-b"))}}};
  CHECK(untimed(c.events) == expected);
  CHECK(cloud.emu.counter("arm.vmss.patch") == 1);
  CHECK(c.arm->counters().polls >= 1);  // the operation was followed to its end
  const auto m = cloud.emu.machine(vmss("ss-0").arm_id());
  REQUIRE(m.has_value());
  CHECK(m->effective_user.size() == 2);  // what IMDS serves changed: the operation completed

  SECTION("removing detaches only what the change names") {
    c.events.clear();
    REQUIRE(c.execute(change(vmss("ss-0"), {}, {identity("id-a")})).has_value());
    REQUIRE(c.events.size() == 3);
    CHECK(untimed(c.events)[2] ==
          Event{podid::core::VmIdentitiesObserved{0, vmss("ss-0"), {reported(cloud, identity("id-b"))}}});
    CHECK(attached(cloud, vmss("ss-0")) == 1);
  }
  SECTION("a change Azure already satisfies sends no PATCH") {
    c.events.clear();
    REQUIRE(c.execute(change(vmss("ss-0"), {identity("id-a")}, {identity("id-1-not-there")})).has_value());
    CHECK(cloud.emu.counter("arm.vmss.patch") == 1);
    CHECK(c.actuator->counters().skipped_patches == 1);
    REQUIRE(c.events.size() == 3);
    CHECK(std::holds_alternative<podid::core::ArmOperationSucceeded>(c.events[1]));
  }
}

TEST_CASE("A VM keeps its system-assigned identity through attach and detach", "[integration]") {
  Cloud cloud;
  Controller c(cloud);
  REQUIRE(c.execute(change(vm("vm-0"), {identity("id-a")})).has_value());
  REQUIRE(c.execute(change(vm("vm-0"), {}, {identity("id-a")})).has_value());
  const auto m = cloud.emu.machine(vm("vm-0").arm_id());
  REQUIRE(m.has_value());
  CHECK(m->system.has_value());
  CHECK(m->user.empty());
  REQUIRE(c.events.size() == 6);
  CHECK(std::get<podid::core::VmIdentitiesObserved>(c.events[2]).identities ==
        std::vector<podid::core::VmIdentity>{reported(cloud, identity("id-a"))});
  CHECK(std::get<podid::core::VmIdentitiesObserved>(c.events[5]).identities.empty());
  auto seen = c.run(c.arm->get(vm("vm-0")));
  REQUIRE(seen.has_value());
  CHECK(seen->system_assigned);
}

TEST_CASE("More than 150 identities in one request are refused by ARM and reported", "[integration]") {
  Cloud cloud;
  Controller c(cloud);
  std::vector<std::string> ids;
  for (int i = 0; i <= 150; ++i) ids.push_back(numbered(i));
  REQUIRE(c.execute(change(vmss("ss-1"), ids)).has_value());
  REQUIRE(c.events.size() == 2);
  const auto& failed = std::get<podid::core::ArmOperationFailed>(c.events[1]);
  CHECK(failed.operation_id == operation_of(c.events[0]));
  CHECK(failed.error_class == ErrorCode::invalid);
  CHECK_THAT(failed.message, Catch::Contains("exceed limit '150'"));
  CHECK(failed.failed_identities.empty());  // the whole batch, not one identity
  CHECK(attached(cloud, vmss("ss-1")) == 0);
  ids.pop_back();  // 150 go through
  REQUIRE(c.execute(change(vmss("ss-1"), ids)).has_value());
  CHECK(std::holds_alternative<podid::core::ArmOperationSucceeded>(c.events[3]));
  CHECK(attached(cloud, vmss("ss-1")) == 150);
}

TEST_CASE("An identity ARM rejects is named, and the rest succeeds in a later batch", "[integration]") {
  Cloud cloud;
  Controller c(cloud);
  const std::string missing = identity("id-does-not-exist");
  SECTION("an identity that does not exist") {
    REQUIRE(c.execute(change(vmss("ss-0"), {identity("id-a"), missing})).has_value());
    REQUIRE(c.events.size() == 2);
    const auto& failed = std::get<podid::core::ArmOperationFailed>(c.events[1]);
    CHECK(failed.error_class == ErrorCode::invalid);
    CHECK(failed.failed_identities == std::vector<std::string>{missing});
    CHECK_THAT(failed.message, Catch::Contains("FailedIdentityOperation"));
  }
  SECTION("an identity the controller may not assign") {
    const auto mi = cloud.emu.identity(identity("id-b"));
    REQUIRE(mi.has_value());
    REQUIRE(cloud.emu.set_assigners(mi->id, {"someone-else"}).has_value());
    REQUIRE(c.execute(change(vmss("ss-0"), {identity("id-a"), identity("id-b")})).has_value());
    const auto& failed = std::get<podid::core::ArmOperationFailed>(c.events.at(1));
    CHECK(failed.error_class == ErrorCode::permission);
    CHECK(failed.failed_identities == std::vector<std::string>{identity("id-b")});
  }
  CHECK(attached(cloud, vmss("ss-0")) == 0);  // the failed batch attached nothing and detached nothing
  c.events.clear();
  REQUIRE(c.execute(change(vmss("ss-0"), {identity("id-a")})).has_value());
  REQUIRE(c.events.size() == 3);
  CHECK(std::get<podid::core::VmIdentitiesObserved>(c.events[2]).identities ==
        std::vector<podid::core::VmIdentity>{reported(cloud, identity("id-a"))});
}

TEST_CASE("A 429 becomes Throttled with ARM's Retry-After, and writes wait it out locally", "[integration]") {
  Cloud cloud;
  Controller c(cloud);
  cloud.emu.inject_fault(podid::emulator::Fault{"arm.vmss.patch", 429, 1, false, std::chrono::seconds(7)});
  REQUIRE(c.execute(change(vmss("ss-0"), {identity("id-a")})).has_value());
  REQUIRE(c.events.size() == 2);
  const auto& throttled = std::get<podid::core::ArmOperationThrottled>(c.events[1]);
  CHECK(throttled.operation_id == operation_of(c.events[0]));
  CHECK(throttled.retry_after_ms == 7000);
  CHECK(throttled.target == vmss("ss-0"));
  const auto patches = cloud.emu.counter("arm.vmss.patch");
  REQUIRE(c.execute(change(vmss("ss-1"), {identity("id-a")})).has_value());
  REQUIRE(c.events.size() == 4);
  const auto& again = std::get<podid::core::ArmOperationThrottled>(c.events[3]);
  CHECK(again.retry_after_ms > 0);
  CHECK(again.retry_after_ms <= 7000);
  CHECK(cloud.emu.counter("arm.vmss.patch") == patches);          // no write was sent
  REQUIRE(c.run(c.actuator->observe(vmss("ss-1"))).has_value());  // reads go on
  CHECK(std::holds_alternative<podid::core::VmIdentitiesObserved>(c.events.back()));
}

TEST_CASE("A 409 while another operation runs on the scale set is reported or retried", "[integration]") {
  Cloud cloud({std::chrono::milliseconds(150), std::chrono::milliseconds(600)});
  SECTION("a real conflict: another writer's operation is still running") {
    Controller other(cloud);  // another writer, e.g. the AKS resource provider
    boost::asio::co_spawn(
        other.io, other.arm->patch(vmss("ss-0"), IdentityPatch{"UserAssigned", {{identity("id-b"), true}}}),
        [](std::exception_ptr, podid::core::Status) {});
    while (cloud.emu.counter("arm.vmss.patch") < 1) other.io.run_one_for(std::chrono::milliseconds(10));
    auto o = Controller::fast_options();
    o.max_retries = 0;
    Controller c(cloud, o);
    REQUIRE(c.execute(change(vmss("ss-0"), {identity("id-000")})).has_value());
    REQUIRE(c.events.size() == 2);
    const auto& failed = std::get<podid::core::ArmOperationFailed>(c.events[1]);
    CHECK(failed.error_class == ErrorCode::conflict);
    CHECK(failed.failed_identities.empty());
    CHECK(cloud.emu.counter("arm.conflicts") == 1);
    other.io.run_for(std::chrono::seconds(5));
  }
  SECTION("an injected 409 is retried with backoff and the operation succeeds") {
    Controller c(cloud);
    cloud.emu.inject_fault(podid::emulator::Fault{"arm.vmss.patch", 409, 1, false, std::chrono::seconds(1)});
    REQUIRE(c.execute(change(vmss("ss-1"), {identity("id-a")})).has_value());
    CHECK(std::holds_alternative<podid::core::ArmOperationSucceeded>(c.events.at(1)));
    CHECK(c.arm->counters().retries == 1);
  }
}

TEST_CASE("Two scale sets are updated in parallel, two changes on one scale set one after the other",
          "[integration]") {
  const auto latency = std::chrono::milliseconds(800);
  Cloud cloud({std::chrono::milliseconds(150), latency});
  Controller c(cloud);
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  auto parallel =
      c.execute_all({change(vmss("ss-0"), {identity("id-a")}), change(vmss("ss-1"), {identity("id-a")})});
  const auto parallel_time = clock::now() - t0;
  for (const auto& s : parallel) REQUIRE(s.has_value());
  CHECK(c.actuator->counters().max_in_flight == 2);
  CHECK(c.tokens->acquisitions() == 1);  // both waited for one token request
  REQUIRE(c.events.size() == 6);         // both operations started before either finished
  CHECK(std::holds_alternative<podid::core::ArmOperationStarted>(c.events[0]));
  CHECK(std::holds_alternative<podid::core::ArmOperationStarted>(c.events[1]));
  CHECK(parallel_time >= latency);
  CHECK(parallel_time < 2 * latency);

  c.events.clear();
  t0 = clock::now();
  auto serial =
      c.execute_all({change(vmss("ss-0"), {identity("id-b")}), change(vmss("ss-0"), {identity("id-000")})});
  const auto serial_time = clock::now() - t0;
  for (const auto& s : serial) REQUIRE(s.has_value());
  CHECK(serial_time >= 2 * latency);
  CHECK(cloud.emu.counter("arm.conflicts") == 0);  // never a second PATCH while one ran
  REQUIRE(c.events.size() == 6);
  // The second operation started only after the first had succeeded.
  CHECK(std::holds_alternative<podid::core::ArmOperationSucceeded>(c.events[1]));
  CHECK(std::holds_alternative<podid::core::ArmOperationStarted>(c.events[3]));
  CHECK(attached(cloud, vmss("ss-0")) == 3);
}

TEST_CASE("The concurrency bound holds operations on different scale sets back", "[integration]") {
  Cloud cloud({std::chrono::milliseconds(150), std::chrono::milliseconds(300)});
  Controller c(cloud, Controller::fast_options(), ActuatorOptions{1});
  auto results =
      c.execute_all({change(vmss("ss-0"), {identity("id-a")}), change(vmss("ss-1"), {identity("id-a")})});
  for (const auto& s : results) REQUIRE(s.has_value());
  CHECK(c.actuator->counters().max_in_flight == 1);
  REQUIRE(c.events.size() == 6);
  CHECK(std::holds_alternative<podid::core::VmIdentitiesObserved>(c.events[2]));
  CHECK(std::holds_alternative<podid::core::ArmOperationStarted>(c.events[3]));
}

TEST_CASE("No event carries the client secret or the bearer token", "[integration]") {
  Cloud cloud;
  Controller c(cloud);
  REQUIRE(c.execute(change(vmss("ss-0"), {identity("id-a"), identity("id-nope")})).has_value());
  REQUIRE(c.execute(change(vmss("ss-0"), {identity("id-a")})).has_value());
  auto token = c.run(c.tokens->token());
  REQUIRE(token.has_value());
  for (const auto& e : c.events) {
    const std::string line = podid::core::encode_line(e);
    CHECK_THAT(line, !Catch::Contains(kSecret));
    CHECK_THAT(line, !Catch::Contains(token->value.value()));
  }
}
