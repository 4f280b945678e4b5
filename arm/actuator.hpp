#pragma once
// Actuator: executes the planner's identity changes through an ArmClient and records every step as events.
// execute(change) appends ArmOperationStarted (a fresh operation ID, the change's caused_by), reads the VM or
// scale set, sends the sparse identity PATCH (only what change.add lacks and what change.remove names is
// present; nothing else is ever detached) and waits for its operation, then appends ArmOperationSucceeded
// and VmIdentitiesObserved (what Azure reports afterwards); or ArmOperationThrottled (retry_after_ms) or
// ArmOperationFailed (error class, message, and the identities ARM named as the cause, so the projection
// quarantines those and re-plans the rest). observe(target) reads a target and appends VmIdentitiesObserved.
// One operation in flight per VM or scale set (a per-target mutex), different targets in parallel, at most
// max_concurrent operations at once.
//
// Thread-safety: run on one single-threaded executor (or strand), with its ArmClient. Lifetime: the
// ArmClient, sink and clock must outlive it, and it must outlive every execute() and observe() it started.

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <span>

#include "arm/arm_client.hpp"
#include "arm/async_semaphore.hpp"
#include "core/clock.hpp"
#include "core/events.hpp"
#include "core/plan.hpp"

namespace podid::arm {

using EventSink = std::function<core::Status(std::span<const core::Event>)>;

struct ActuatorOptions {
  std::size_t max_concurrent{16};  // operations (VMs and scale sets) in flight at once
};

struct ActuatorCounters {
  std::uint64_t started{0};
  std::uint64_t succeeded{0};
  std::uint64_t failed{0};
  std::uint64_t throttled{0};
  std::uint64_t skipped_patches{0};  // changes Azure already satisfied: no PATCH sent
  std::uint64_t observed{0};
  std::size_t in_flight{0};
  std::size_t max_in_flight{0};
};

class Actuator {
 public:
  Actuator(ArmClient& arm, EventSink sink, core::Clock& clock, ActuatorOptions options);
  Actuator(const Actuator&) = delete;
  Actuator& operator=(const Actuator&) = delete;

  // Errors are only the sink's (or cancellation while waiting for a slot): ARM failures become events.
  [[nodiscard]] boost::asio::awaitable<core::Status> execute(core::IdentityChange change);
  // GET -> VmIdentitiesObserved. Returns the classified ARM error when the read fails (no event then).
  [[nodiscard]] boost::asio::awaitable<core::Status> observe(core::ArmTarget target);

  [[nodiscard]] const ActuatorCounters& counters() const noexcept { return counters_; }

 private:
  [[nodiscard]] AsyncSemaphore& lock_of(const core::ArmTarget& target);
  [[nodiscard]] core::Status emit(std::vector<core::Event> events);
  [[nodiscard]] core::Status report_failure(const core::IdentityChange& change,
                                            const std::string& operation_id, const core::Error& error);
  [[nodiscard]] core::Event observed_event(const core::ArmTarget& target, const VmIdentities& ids) const;

  ArmClient& arm_;
  EventSink sink_;
  core::Clock& clock_;
  ActuatorOptions options_;
  AsyncSemaphore slots_;
  std::map<core::ArmTarget, std::unique_ptr<AsyncSemaphore>> locks_;
  ActuatorCounters counters_;
};

}  // namespace podid::arm
