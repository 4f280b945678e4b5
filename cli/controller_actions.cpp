// Controller, the acting half: identity changes and drift reads spawned per target, AAI writes with
// per-object back-off, reports, and AzureIdentity Ready conditions.
#include <algorithm>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>

#include "cli/controller.hpp"

namespace podid::cli {

namespace asio = boost::asio;

namespace {

void earliest(std::optional<std::int64_t>& at, std::int64_t t) {
  if (!at || t < *at) at = t;
}

std::string pod_subject(const core::PodKey& pod) {
  return "pod/" + pod.to_string();
}

}  // namespace

void Controller::spawn(asio::awaitable<void> task) {
  auto& t = tasks_.emplace_back();
  ++running_;
  asio::co_spawn(wake_->get_executor(), std::move(task),
                 asio::bind_cancellation_slot(t.signal.slot(), [this, &t](const std::exception_ptr& e) {
                   t.done = true;
                   --running_;
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       logger_.error("Operation failed with an exception.", {{"error", ex.what()}});
                     }
                   }
                   notify();
                 }));
}

asio::awaitable<void> Controller::run_change(core::IdentityChange change) {
  const auto target = change.target;
  const auto done = co_await actuator_->execute(std::move(change));
  if (!done)
    logger_.warn("Identity change not completed.",
                 {{"target", target.to_string().c_str()}, {"error", done.error().describe().c_str()}});
  busy_.erase(target);
}

asio::awaitable<void> Controller::run_observe(core::ArmTarget target) {
  const auto done = co_await actuator_->observe(target);
  if (!done)
    logger_.warn("Identity read failed.",
                 {{"target", target.to_string().c_str()}, {"error", done.error().describe().c_str()}});
  busy_.erase(target);
}

// The planner detaches an identity that an Assigned assignment needs only when it was re-created in Azure
// (core/plan.hpp); such detaches are worth a warning.
std::size_t Controller::recreated_in(const core::IdentityChange& change) const {
  std::size_t n = 0;
  const auto keys = state_.index.assignments_by_target.find(change.target);
  if (keys == state_.index.assignments_by_target.end()) return 0;
  for (const auto& rid : change.remove)
    for (const auto& key : keys->second) {
      const auto& a = state_.assignments.at(key);
      if (a.phase == core::Phase::assigned && a.resource_id == rid) {
        ++n;
        break;
      }
    }
  return n;
}

namespace {

// What a change asks for, order-insensitive: a different value means it grew (or changed) since last seen.
std::size_t change_signature(const core::IdentityChange& change) {
  std::size_t sig = change.add.size() * 31 + change.remove.size();
  for (const auto& id : change.add) sig += std::hash<std::string>{}(id);
  for (const auto& id : change.remove) sig ^= std::hash<std::string>{}(id)*3;
  return sig;
}

}  // namespace

std::optional<std::int64_t> Controller::start_changes(const core::Plan& plan, std::int64_t now) {
  std::optional<std::int64_t> wake;
  std::set<core::ArmTarget> planned;
  for (const auto& change : plan.identity_changes) {
    // Later parts of a split change are planned again once the first one has been applied.
    if (change.part != 0) continue;
    planned.insert(change.target);
    // The batching window: while a target's change keeps growing (a burst of pods), hold it until it has
    // been still for batch_quiet or pending for batch_max_wait. Waiting never delays the last arrival's
    // completion by more than the window (one operation per target is in flight anyway: the next PATCH
    // would carry the rest) and saves a PATCH per wave of arrivals. It counts while the target is busy,
    // so the change that queued behind an operation goes out as soon as that one completes.
    const auto sig = change_signature(change);
    auto [p, fresh] = pending_.try_emplace(change.target, PendingChange{now, now, sig});
    if (!fresh && p->second.signature != sig) {
      p->second.signature = sig;
      p->second.grew_ms = now;
    }
    if (busy_.contains(change.target)) continue;
    if (const auto t = state_.targets.find(change.target);
        t != state_.targets.end() && !t->second.in_flight.empty())
      continue;
    const auto ready_at = std::min(p->second.grew_ms + options_.batch_quiet.count(),
                                   p->second.since_ms + options_.batch_max_wait.count());
    if (now < ready_at) {
      earliest(wake, ready_at);
      continue;
    }
    pending_.erase(p);
    if (const auto repairs = recreated_in(change); repairs > 0)
      logger_.warn("Recreated identity detached to be attached again.",
                   {{"target", change.target.to_string().c_str()}, {"identities", repairs}});
    busy_.insert(change.target);
    ++counters_.changes_started;
    spawn(run_change(change));
  }
  std::erase_if(pending_, [&](const auto& entry) { return !planned.contains(entry.first); });
  return wake;
}

void Controller::check_drift(std::int64_t now) {
  if (now < next_drift_ms_) return;
  next_drift_ms_ = now + options_.drift_interval.count();
  for (const auto& [target, keys] : state_.index.assignments_by_target) {
    bool holds_assigned = false;
    for (const auto& key : keys) {
      const auto& a = state_.assignments.at(key);
      holds_assigned = holds_assigned ||
                       (a.phase == core::Phase::assigned && a.type == core::IdentityType::user_assigned_msi);
    }
    if (!holds_assigned || busy_.contains(target)) continue;
    if (const auto t = state_.targets.find(target); t != state_.targets.end() && !t->second.in_flight.empty())
      continue;
    busy_.insert(target);
    ++counters_.observes_started;
    spawn(run_observe(target));
  }
}

// One round's writes and reports, shared by the workers that perform them concurrently (all on the
// controller's executor: the shared fields need no lock).
struct Controller::Round {
  const core::Plan& plan;
  std::int64_t now;
  std::size_t next_write{0};
  std::size_t write_end{0};  // this round's share of plan.aai_writes
  std::size_t next_report{0};
  std::optional<std::int64_t> retry_at;
  std::set<std::string> held_back;  // pods whose write failed or waits: their reports wait too
  bool cancelled{false};
};

asio::awaitable<void> Controller::write_one(Round& round, const core::AaiWrite& w) {
  const auto& key = w.assigned.key;
  if (const auto b = write_backoff_.find(key);
      b != write_backoff_.end() && b->second.not_before_ms > round.now) {
    earliest(round.retry_at, b->second.not_before_ms);
    round.held_back.insert(pod_subject(w.assigned.pod));
    co_return;
  }
  boost::json::object object;
  if (w.kind == core::AaiWriteKind::create || w.kind == core::AaiWriteKind::update)
    object = watch::aai_object(w.assigned, state_);
  const auto written = co_await writer_->write(w, std::move(object));
  ++counters_.aai_writes;
  measure_aai_write(w.kind, written);
  if (written) {
    write_backoff_.erase(key);
    co_return;
  }
  if (written.error().code == core::ErrorCode::cancelled) {
    round.cancelled = true;
    co_return;
  }
  ++counters_.aai_write_failures;
  auto& b = write_backoff_[key];
  b.delay = b.delay.count() == 0 ? options_.retry_initial : std::min(b.delay * 2, options_.retry_max);
  b.not_before_ms = clock_.now_ms() + b.delay.count();
  earliest(round.retry_at, b.not_before_ms);
  round.held_back.insert(pod_subject(w.assigned.pod));
}

asio::awaitable<void> Controller::report_one(Round& round, const core::Report& r) {
  if (round.held_back.contains(r.subject) || !r.subject.starts_with("pod/")) co_return;
  const auto pod = core::parse_key<core::PodKey>(std::string_view(r.subject).substr(4));
  if (!pod) co_return;
  std::string uid;  // (no conditional expression in a co_await: g++ 12 destroys its temporary twice)
  if (const auto it = state_.pods.find(*pod); it != state_.pods.end()) uid = it->second.uid;
  const auto recorded = co_await recorder_->record(r, *pod, std::move(uid));
  ++counters_.reports;
  if (!recorded) {
    if (recorded.error().code == core::ErrorCode::cancelled) round.cancelled = true;
    ++counters_.report_failures;
    logger_.debug("Event not recorded.",
                  {{"pod", r.subject.c_str()}, {"error", recorded.error().describe().c_str()}});
  }
}

// A worker takes the round's next write (then, in the second stage, its next report) until none is left.
asio::awaitable<void> Controller::round_worker(Round& round, Stage stage) {
  if (stage == Stage::writes) {
    while (!round.cancelled && round.next_write < round.write_end)
      co_await write_one(round, round.plan.aai_writes[round.next_write++]);
  } else {
    while (!round.cancelled && round.next_report < round.plan.reports.size())
      co_await report_one(round, round.plan.reports[round.next_report++]);
  }
}

// `workers` workers at once, so that a burst's thousands of AzureAssignedIdentity writes and Events are not
// paid one API-server round trip after another.
asio::awaitable<void> Controller::round_workers(Round& round, Stage stage, std::size_t workers) {
  using namespace asio::experimental::awaitable_operators;
  if (workers <= 1) {
    co_await round_worker(round, stage);
    co_return;
  }
  co_await (round_worker(round, stage) && round_workers(round, stage, workers - 1));
}

asio::awaitable<Controller::RoundOutcome> Controller::perform(const core::Plan& plan, std::int64_t now) {
  Round round{.plan = plan, .now = now, .retry_at = {}, .held_back = {}};
  // Writes past the round's share wait for the next round (their reports with them), so that identity
  // changes made possible meanwhile start after one share of writes, not after a whole burst's.
  const auto share = std::min(plan.aai_writes.size(), std::max<std::size_t>(1, options_.writes_per_round));
  for (std::size_t i = share; i < plan.aai_writes.size(); ++i)
    round.held_back.insert(pod_subject(plan.aai_writes[i].assigned.pod));
  const auto width = [&](std::size_t n) {
    return std::max<std::size_t>(1, std::min(n, options_.kube_write_concurrency));
  };
  round.write_end = share;
  co_await round_workers(round, Stage::writes, width(share));
  const RoundOutcome outcome{round.retry_at, share < plan.aai_writes.size()};
  if (round.cancelled) co_return outcome;
  std::set<core::AssignedKey> planned;
  for (const auto& w : plan.aai_writes) planned.insert(w.assigned.key);
  std::erase_if(write_backoff_, [&](const auto& entry) { return !planned.contains(entry.first); });
  co_await round_workers(round, Stage::reports, width(plan.reports.size()));
  if (round.cancelled) co_return outcome;
  co_await sync_conditions();
  co_return outcome;
}

asio::awaitable<void> Controller::sync_conditions() {
  std::map<core::IdentityKey, watch::IdentityCondition> want;
  for (const auto& [key, a] : state_.assignments) {
    if (a.phase == core::Phase::quarantined) {
      auto& c = want[a.identity];
      if (c.ready || c.message.empty()) c = watch::IdentityCondition{false, "Quarantined", a.reason};
    } else if (a.phase == core::Phase::assigned && !want.contains(a.identity)) {
      want[a.identity] = watch::IdentityCondition{true, "Assigned", {}};
    }
  }
  for (auto& [identity, condition] : want) {
    if (!state_.identities.contains(identity)) continue;
    const auto set = co_await recorder_->set_condition(identity, condition);
    if (!set)
      logger_.debug("Identity condition not written.",
                    {{"identity", identity.to_string().c_str()}, {"error", set.error().describe().c_str()}});
  }
}

}  // namespace podid::cli
