#include "arm/actuator.hpp"

#include <algorithm>

#include "arm/arm_error.hpp"
#include "arm/token_response.hpp"

namespace podid::arm {

namespace asio = boost::asio;

namespace {

// Counts an operation in flight for as long as it lives.
class InFlight {
 public:
  explicit InFlight(ActuatorCounters& c) : c_(c) {
    c_.max_in_flight = std::max(c_.max_in_flight, ++c_.in_flight);
  }
  ~InFlight() { --c_.in_flight; }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  ActuatorCounters& c_;
};

bool contains_ci(const std::vector<std::string>& ids, const std::string& lower) {
  return std::any_of(ids.begin(), ids.end(), [&](const std::string& id) { return core::iequals(id, lower); });
}

}  // namespace

Actuator::Actuator(ArmClient& arm, EventSink sink, core::Clock& clock, ActuatorOptions options)
    : arm_(arm),
      sink_(std::move(sink)),
      clock_(clock),
      options_(options),
      slots_(std::max<std::size_t>(options.max_concurrent, 1)) {}

AsyncSemaphore& Actuator::lock_of(const core::ArmTarget& target) {
  auto& slot = locks_[target];
  if (!slot) slot = std::make_unique<AsyncSemaphore>(1);
  return *slot;
}

core::Status Actuator::emit(std::vector<core::Event> events) {
  return sink_(std::span<const core::Event>(events.data(), events.size()));
}

core::Event Actuator::observed_event(const core::ArmTarget& target, const VmIdentities& ids) const {
  core::VmIdentitiesObserved e;
  e.at_ms = clock_.now_ms();
  e.target = target;
  e.identities = ids.user;
  return e;
}

core::Status Actuator::report_failure(const core::IdentityChange& change, const std::string& operation_id,
                                      const core::Error& error) {
  if (error.code == core::ErrorCode::throttled) {
    ++counters_.throttled;
    core::ArmOperationThrottled e;
    e.at_ms = clock_.now_ms();
    e.operation_id = operation_id;
    e.target = change.target;
    e.retry_after_ms = error.retry_after ? error.retry_after->count() : 0;
    return emit({e});
  }
  ++counters_.failed;
  core::ArmOperationFailed e;
  e.at_ms = clock_.now_ms();
  e.operation_id = operation_id;
  e.target = change.target;
  e.error_class = error.code;
  e.message = error.message;
  // Only identities of this change count: ARM also quotes the scopes of VMs and scale sets.
  for (const auto& id : named_identities(error.message)) {
    if (contains_ci(change.add, id) || contains_ci(change.remove, id)) e.failed_identities.push_back(id);
  }
  return emit({e});
}

asio::awaitable<core::Status> Actuator::execute(core::IdentityChange change) {
  // The target first: changes queued behind one busy scale set must not hold slots others could use.
  AsyncSemaphore& lock = lock_of(change.target);
  const auto locked = co_await lock.acquire();
  if (!locked) co_return locked.error();
  SemaphoreGuard held(lock);
  const auto admitted = co_await slots_.acquire();
  if (!admitted) co_return admitted.error();
  SemaphoreGuard slot(slots_);
  InFlight in_flight(counters_);

  const std::string operation_id = new_uuid();
  core::ArmOperationStarted started;
  started.at_ms = clock_.now_ms();
  started.operation_id = operation_id;
  started.target = change.target;
  started.add = change.add;
  started.remove = change.remove;
  started.caused_by = change.caused_by;
  PODID_CO_TRY(emit({started}));
  ++counters_.started;

  auto before = co_await arm_.get(change.target);
  if (!before) co_return report_failure(change, operation_id, before.error());
  if (core::iequals(before->provisioning_state, "Deleting")) {
    co_return report_failure(
        change, operation_id,
        core::make_error(core::ErrorCode::conflict,
                         change.target.to_string() + " is being deleted; no PATCH sent"));
  }
  VmIdentities after = *before;
  if (auto patch = make_identity_patch(*before, change.add, change.remove)) {
    const auto patched = co_await arm_.patch(change.target, std::move(*patch));
    if (!patched) co_return report_failure(change, operation_id, patched.error());
    auto read = co_await arm_.get(change.target);
    if (!read) {
      // The operation succeeded; what Azure holds now is read again at the next drift check.
      ++counters_.succeeded;
      co_return emit({core::ArmOperationSucceeded{clock_.now_ms(), operation_id, change.target}});
    }
    after = std::move(*read);
  } else {
    ++counters_.skipped_patches;
  }
  ++counters_.succeeded;
  co_return emit({core::ArmOperationSucceeded{clock_.now_ms(), operation_id, change.target},
                  observed_event(change.target, after)});
}

asio::awaitable<core::Status> Actuator::observe(core::ArmTarget target) {
  AsyncSemaphore& lock = lock_of(target);
  const auto locked = co_await lock.acquire();
  if (!locked) co_return locked.error();
  SemaphoreGuard held(lock);
  const auto admitted = co_await slots_.acquire();
  if (!admitted) co_return admitted.error();
  SemaphoreGuard slot(slots_);
  auto ids = co_await arm_.get(target);
  if (!ids) co_return ids.error();
  ++counters_.observed;
  co_return emit({observed_event(target, *ids)});
}

}  // namespace podid::arm
