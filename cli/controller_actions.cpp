// Controller, the acting half: identity changes and drift reads spawned per target, AAI writes with
// per-object back-off, reports, and AzureIdentity Ready conditions.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
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

void Controller::start_changes(const core::Plan& plan) {
  for (const auto& change : plan.identity_changes) {
    // Later parts of a split change are planned again once the first one has been applied.
    if (change.part != 0 || busy_.contains(change.target)) continue;
    if (const auto t = state_.targets.find(change.target);
        t != state_.targets.end() && !t->second.in_flight.empty())
      continue;
    if (const auto repairs = recreated_in(change); repairs > 0)
      logger_.warn("Recreated identity detached to be attached again.",
                   {{"target", change.target.to_string().c_str()}, {"identities", repairs}});
    busy_.insert(change.target);
    ++counters_.changes_started;
    spawn(run_change(change));
  }
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

asio::awaitable<std::optional<std::int64_t>> Controller::perform(const core::Plan& plan, std::int64_t now) {
  std::optional<std::int64_t> retry_at;
  std::set<std::string> held_back;  // pods whose write failed or waits: their reports wait too
  std::set<core::AssignedKey> planned;
  for (const auto& w : plan.aai_writes) {
    const auto& key = w.assigned.key;
    planned.insert(key);
    if (const auto b = write_backoff_.find(key); b != write_backoff_.end() && b->second.not_before_ms > now) {
      earliest(retry_at, b->second.not_before_ms);
      held_back.insert(pod_subject(w.assigned.pod));
      continue;
    }
    boost::json::object object;
    if (w.kind == core::AaiWriteKind::create || w.kind == core::AaiWriteKind::update)
      object = watch::aai_object(w.assigned, state_);
    const auto written = co_await writer_->write(w, std::move(object));
    ++counters_.aai_writes;
    measure_aai_write(w.kind, written);
    if (written) {
      write_backoff_.erase(key);
      continue;
    }
    if (written.error().code == core::ErrorCode::cancelled) co_return retry_at;
    ++counters_.aai_write_failures;
    auto& b = write_backoff_[key];
    b.delay = b.delay.count() == 0 ? options_.retry_initial : std::min(b.delay * 2, options_.retry_max);
    b.not_before_ms = clock_.now_ms() + b.delay.count();
    earliest(retry_at, b.not_before_ms);
    held_back.insert(pod_subject(w.assigned.pod));
  }
  std::erase_if(write_backoff_, [&](const auto& entry) { return !planned.contains(entry.first); });
  for (const auto& r : plan.reports) {
    if (held_back.contains(r.subject) || !r.subject.starts_with("pod/")) continue;
    const auto pod = core::parse_key<core::PodKey>(std::string_view(r.subject).substr(4));
    if (!pod) continue;
    std::string uid;  // (no conditional expression in a co_await: g++ 12 destroys its temporary twice)
    if (const auto it = state_.pods.find(*pod); it != state_.pods.end()) uid = it->second.uid;
    const auto recorded = co_await recorder_->record(r, *pod, std::move(uid));
    ++counters_.reports;
    if (!recorded) {
      ++counters_.report_failures;
      logger_.debug("Event not recorded.",
                    {{"pod", r.subject.c_str()}, {"error", recorded.error().describe().c_str()}});
    }
  }
  co_await sync_conditions();
  co_return retry_at;
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
