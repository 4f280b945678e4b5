// ARM failing for a sustained period (issue 8, "Faults"): the emulator answers every identity PATCH of the
// scale set with 500, 503 or 429 until the test clears the fault. The controller (in-process, against the
// real API server) runs with a short retry policy (the State's RetryPolicy, 200 ms doubling to 1 s), so the
// period that stands for "minutes" lasts seconds. Shown, for each status:
//  - the calls ARM received during the window stay under the bound the back-off allows for the time that
//    passed (a hot loop would exceed it within milliseconds);
//  - the new assignment is RetryScheduled and is never Quarantined (replayed from the event log, every
//  event);
//  - nothing is ever detached: the identity already attached stays, and no operation removes anything;
//  - once ARM answers again, the assignment converges to Assigned.
#include <catch2/catch.hpp>
#include <cstdio>

#include "core/projection.hpp"
#include "integration/controller/behaviour_env.hpp"
#include "store/event_log.hpp"
#include "support/control_plane_catch.hpp"

using podid::testing::Cluster;
using podid::testing::RunningController;
namespace core = podid::core;
namespace emu = podid::emulator;
namespace store = podid::store;
namespace t = podid::testing;
using namespace std::chrono_literals;

namespace {

constexpr core::RetryPolicy kRetry{200, 1000, 2};
constexpr int kClientAttempts = 4;  // arm::ArmClientOptions::max_retries (3) + the first try
constexpr std::chrono::seconds kRetryAfter{1};

// The most controller-level attempts that fit in `elapsed`: attempt k + 1 waits backoff(k) (or Retry-After)
// after attempt k failed, less a few milliseconds for the rounding of event times to whole milliseconds.
std::uint64_t attempts_allowed(std::chrono::milliseconds elapsed, bool throttled) {
  constexpr std::int64_t kRounding = 5;
  std::uint64_t n = 1;
  std::int64_t spent = 0;
  for (;;) {
    spent += (throttled ? std::chrono::milliseconds(kRetryAfter).count()
                        : core::backoff_ms(kRetry, static_cast<int>(n))) -
             kRounding;
    if (spent > elapsed.count()) return n;
    ++n;
  }
}

struct History {
  bool ever_quarantined{false};
  bool ever_retry_scheduled{false};
  std::size_t removals{0};  // identities any started operation detached
  std::size_t operations{0};
};

// Replays the controller's log event by event and watches one assignment's phase.
History replay(store::EventStore& log, const core::AssignmentKey& key) {
  History h;
  core::State state;
  auto records = log.read(1, 1'000'000);
  REQUIRE(records.has_value());
  for (const auto& record : *records) {
    auto event = store::from_record(record);
    REQUIRE(event.has_value());
    if (const auto* started = std::get_if<core::ArmOperationStarted>(&*event)) {
      ++h.operations;
      h.removals += started->remove.size();
    }
    core::apply(state, *event, record.seq);
    const auto it = state.assignments.find(key);
    if (it == state.assignments.end()) continue;
    h.ever_quarantined = h.ever_quarantined || it->second.phase == core::Phase::quarantined;
    h.ever_retry_scheduled = h.ever_retry_scheduled || it->second.phase == core::Phase::retry_scheduled;
  }
  return h;
}

}  // namespace

TEST_CASE(
    "ARM failing for a sustained period gets bounded calls, RetryScheduled, no detach, and convergence after",
    "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const unsigned status = GENERATE(500u, 503u, 429u);
  const bool throttled = status == 429;
  INFO("ARM answers the PATCH with " << status);
  Cluster c(*cp, {"kept", "late"});
  const auto n0 = c.create_node("n0", 0);
  c.create_identity(c.ns, "kept", "kept");
  c.create_identity(c.ns, "late", "late");
  c.create_pod(c.ns, "p1", "kept", n0, "10.4.0.1");

  auto options = t::controller_options(c.ns);
  options.settings.retry = kRetry;
  RunningController replica(c.io, c.cp, c.emulator, options);
  const auto& ctl = replica.controller;
  REQUIRE(c.run_until(
      [&] {
        return Cluster::phase_is(ctl, c.ns, "p1", "kept", core::Phase::assigned) &&
               ctl.state().operations.empty();
      },
      60s));
  REQUIRE(c.scale_set_has("kept"));

  // The window: every identity PATCH fails until the fault is cleared; the window ends once the controller
  // has met the fault repeatedly (not after a fixed time).
  const auto patches_before = c.emulator.counter("arm.vmss.patch");
  const auto reads_before = c.emulator.counter("arm.reads");
  const auto faults_before = c.emulator.counter("arm.faults");
  c.emulator.inject_fault(emu::Fault{"arm.vmss.patch", status, 1'000'000, false, kRetryAfter});
  const auto window_start = std::chrono::steady_clock::now();
  c.create_pod(c.ns, "p2", "late", n0, "10.4.0.2");
  const std::uint64_t faults_wanted = throttled ? 5 : 5 * kClientAttempts;
  bool kept_lost = false;
  REQUIRE(c.run_until(
      [&] {
        kept_lost = kept_lost || !c.scale_set_has("kept");
        return c.emulator.counter("arm.faults") - faults_before >= faults_wanted &&
               Cluster::phase_is(ctl, c.ns, "p2", "late", core::Phase::retry_scheduled);
      },
      120s));
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - window_start);
  const auto patches = c.emulator.counter("arm.vmss.patch") - patches_before;
  const auto reads = c.emulator.counter("arm.reads") - reads_before;
  c.emulator.clear_faults();

  const auto allowed = attempts_allowed(elapsed, throttled);
  const auto patch_bound = throttled ? allowed : allowed * kClientAttempts;
  std::printf("ARM %u for %lld ms: %llu PATCHes (bound %llu), %llu reads\n", status,
              static_cast<long long>(elapsed.count()), static_cast<unsigned long long>(patches),
              static_cast<unsigned long long>(patch_bound), static_cast<unsigned long long>(reads));
  CHECK(patches <= patch_bound);
  CHECK(reads <= 2 * allowed + 2);  // one read before each PATCH attempt, and drift checks
  CHECK_FALSE(kept_lost);
  const auto* late = Cluster::assignment(ctl, c.ns, "p2", "late");
  REQUIRE(late != nullptr);
  CHECK(late->phase == core::Phase::retry_scheduled);
  if (!throttled) CHECK(late->attempts >= 2);

  // ARM answers again: the assignment converges and the kept identity is still there.
  REQUIRE(c.run_until(
      [&] {
        return Cluster::phase_is(ctl, c.ns, "p2", "late", core::Phase::assigned) &&
               ctl.state().operations.empty();
      },
      60s));
  CHECK(c.scale_set_has("late"));
  CHECK(c.scale_set_has("kept"));
  CHECK(Cluster::phase_is(ctl, c.ns, "p1", "kept", core::Phase::assigned));

  const auto history = replay(*replica.store, core::AssignmentKey{{c.ns, "p2"}, {c.ns, "late"}});
  CHECK(history.ever_retry_scheduled);
  CHECK_FALSE(history.ever_quarantined);
  CHECK(history.removals == 0);
  CHECK(history.operations >= 2);
}
