// `replay --explain` answers, in words, why a pod has or lacks an identity.

#include "cli/explain.hpp"

#include <catch2/catch.hpp>

#include "core/plan.hpp"
#include "core/projection.hpp"
#include "golden_logs.hpp"
#include "unit/core/fixtures.hpp"

using namespace podid;

namespace {

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

core::State replay_all(const std::vector<core::Event>& events) {
  core::State s;
  core::Seq seq = 0;
  for (const auto& e : events) core::apply(s, e, ++seq);
  return s;
}

}  // namespace

TEST_CASE("Explaining a quarantined pod names the reason and the throttled retry", "[unit]") {
  const auto events = test::read_golden("quarantine_throttle");
  const auto state = replay_all(events);
  std::vector<std::pair<core::Seq, core::Event>> history;
  for (std::size_t i = 0; i < events.size(); ++i) history.emplace_back(i + 1, events[i]);
  auto lines = cli::explain(state, "pod/d/p", history);
  REQUIRE(lines.has_value());
  const auto text = joined(*lines);
  CHECK_THAT(text, Catch::Contains("identity d/bad via binding d/b-bad: Quarantined (invalid resource ID"));
  CHECK_THAT(text, Catch::Contains("identity d/good via binding d/b-good: RetryScheduled (throttled"));
  CHECK_THAT(text, Catch::Contains("throttled; retry after 60000 ms"));
  CHECK_THAT(text, Catch::Contains("history (" + std::to_string(events.size()) + " events)"));
}

TEST_CASE("Explaining a pod without the label says so", "[unit]") {
  auto events = test::read_golden("vm_assign");
  core::Pod pod;
  pod.key = {"apps", "nolabel"};
  pod.node = "n0";
  pod.ip = "10.0.0.99";
  pod.phase = "Running";
  core::PodObserved e;
  e.at_ms = 99999;
  e.pod = pod;
  events.emplace_back(e);
  const auto state = replay_all(events);
  auto lines = cli::explain(state, "pod/apps/nolabel", {});
  REQUIRE(lines.has_value());
  CHECK_THAT(joined(*lines), Catch::Contains("no identity: the pod has no aadpodidbinding label"));
}

TEST_CASE("Explaining an unknown subject kind is a clear usage error", "[unit]") {
  core::State s;
  auto lines = cli::explain(s, "bogus/x", {});
  REQUIRE_FALSE(lines.has_value());
  CHECK(lines.error().code == core::ErrorCode::invalid);
  CHECK_THAT(lines.error().message, Catch::Contains("expected pod/<ns>/<name>"));
}

TEST_CASE("Explaining a VM tells a repair of a re-created identity from a plain detach", "[unit]") {
  using namespace podid::core::testing;
  // d/x attached by us and Assigned; then Azure reports it with null IDs (deleted and re-created under the
  // same name): the planner detaches it to attach it again (core/plan.cpp `recreated`).
  Log log = matched_cluster();
  log.add(core::ArmOperationStarted{0, "op-a", vm_target("n0"), {rid("x")}, {}, {}});
  log.add(core::ArmOperationSucceeded{0, "op-a", vm_target("n0")});
  log.add(core::VmIdentitiesObserved{0, vm_target("n0"), {{rid("x"), "client-x", "principal-x"}}});
  log.add(core::VmIdentitiesObserved{0, vm_target("n0"), {{rid("x"), "", ""}}});
  const auto plan = core::plan(log.state, log.now_ms);
  REQUIRE(plan.identity_changes.size() == 1);
  REQUIRE(plan.identity_changes[0].remove == std::vector<std::string>{rid("x")});
  const auto repair = log.add(core::ArmOperationStarted{0, "op-r", vm_target("n0"), {}, {rid("x")}, {}});

  std::vector<std::pair<core::Seq, core::Event>> history;
  for (std::size_t i = 0; i < log.events.size(); ++i) history.emplace_back(i + 1, log.events[i]);
  auto lines = cli::explain(log.state, vm_target("n0").to_string(), history);
  REQUIRE(lines.has_value());
  const auto text = joined(*lines);
  CHECK_THAT(text, Catch::Contains("#" + std::to_string(repair) + " "));
  CHECK_THAT(text, Catch::Contains("started on " + vm_target("n0").to_string() +
                                   ": attach nothing; detach nothing; detach to attach again " + rid("x") +
                                   " (re-created in Azure"));
  // The first PATCH detached nothing and is not called a repair.
  CHECK_THAT(text, Catch::Contains("op-a started on " + vm_target("n0").to_string() + ": attach " + rid("x") +
                                   "; detach nothing\n"));
  // Without the replayed state the event alone is a plain detach.
  CHECK(cli::describe(log.events[repair - 1]) ==
        "ARM PATCH op-r started on " + vm_target("n0").to_string() + ": attach nothing; detach " + rid("x"));
}
