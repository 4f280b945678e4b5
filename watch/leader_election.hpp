#pragma once
// LeaderElector: leader election on a coordination.k8s.io/v1 Lease, compatible with client-go
// (tools/leaderelection): the same record fields (holderIdentity, leaseDurationSeconds, acquireTime,
// renewTime as MicroTime with exactly six fractional digits in UTC, leaseTransitions), create with POST and
// write with PUT at the resourceVersion read (optimistic concurrency; a 409 means someone else wrote first),
// an empty holder means free, and expiry judged on OUR monotonic clock from the moment we last saw the
// record change, with the record's own leaseDurationSeconds. Loops: acquire every retry period (jitter up to
// x1.2), renew every retry period, give up leadership when no renewal succeeded within the renew deadline,
// release (empty holder, duration 1 s) on cancellation.
// With a legacy Endpoints lock (legacy_endpoints.mode != off, watch/legacy_endpoints_lock.hpp) every step
// first reads the original MIC's Endpoints record: while another holder's record is fresh we do not take the
// Lease (it is only observed, so its expiry clock keeps running), and a leader that finds one steps down at
// once (and releases the Lease). In hold mode a leader also writes its record into the Endpoints each step.
//
// Thread-safety: one executor, like its KubeClient. Lifetime: client and clocks outlive the elector.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "core/clock.hpp"
#include "core/logger.hpp"
#include "core/result.hpp"
#include "watch/kube_client.hpp"
#include "watch/legacy_endpoints_lock.hpp"

namespace podid::watch {

// A monotonic core::Clock (std::chrono::steady_clock), for judging lease expiry.
class SteadyClock final : public core::Clock {
 public:
  [[nodiscard]] std::int64_t now_ms() const override;
};

// Kubernetes MicroTime: "2006-01-02T15:04:05.000000Z" (always six digits, UTC).
[[nodiscard]] std::string micro_time(std::int64_t unix_ms);

struct LeaseRecord {
  std::string holder;
  std::int64_t duration_seconds{0};
  std::string acquire_time;
  std::string renew_time;
  std::int64_t transitions{0};
  bool operator==(const LeaseRecord&) const = default;
};

[[nodiscard]] LeaseRecord lease_record(const boost::json::object& lease);
// Writes the record into lease.spec (every field, every time).
void set_lease_record(boost::json::object& lease, const LeaseRecord& record);

struct LeaderElectionOptions {
  std::string ns{"default"};
  std::string name{"aad-pod-identity-mic"};
  std::string identity;  // unique per process, e.g. <hostname>_<random>
  std::chrono::milliseconds lease_duration{std::chrono::seconds(15)};
  std::chrono::milliseconds renew_deadline{std::chrono::seconds(10)};
  std::chrono::milliseconds retry_period{std::chrono::seconds(2)};
  bool release_on_cancel{true};
  LegacyLockOptions legacy_endpoints;  // mode off: the Lease alone
  // lease_duration > renew_deadline > 1.2 * retry_period > 0, as client-go checks.
  [[nodiscard]] core::Status validate() const;
};

struct LeaderElectionCounters {
  std::uint64_t attempts{0};
  std::uint64_t acquired{0};
  std::uint64_t renewed{0};
  std::uint64_t lost{0};
  std::uint64_t conflicts{0};
  std::uint64_t legacy_blocked{0};  // steps refused because the original MIC's Endpoints lock was held
};

class LeaderElector {
 public:
  // `wall` stamps acquireTime/renewTime; `monotonic` judges expiry.
  LeaderElector(KubeClient& client, const core::Clock& wall, const core::Clock& monotonic,
                core::Logger logger, LeaderElectionOptions options);
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // One step of client-go's tryAcquireOrRenew: true when we hold the lease afterwards.
  [[nodiscard]] boost::asio::awaitable<core::Result<bool>> try_acquire_or_renew();
  // Gives the lease up if we hold it (holder "", duration 1 s), retrying on conflict within the deadline.
  [[nodiscard]] boost::asio::awaitable<core::Status> release();

  // Acquires, then renews until leadership is lost (returns a transient error: the caller must stop all
  // writes; upstream exits the process) or the awaiting coroutine is cancelled (releases, returns
  // cancelled). on_change(true) when leading starts, on_change(false) when it ends.
  [[nodiscard]] boost::asio::awaitable<core::Status> run(std::function<void(bool)> on_change);

  [[nodiscard]] bool leading() const noexcept { return leading_; }
  [[nodiscard]] const LeaseRecord& observed() const noexcept { return observed_; }
  [[nodiscard]] const LeaderElectionCounters& counters() const noexcept { return counters_; }
  // The foreign holder of the legacy Endpoints lock at the last step, empty when none held it.
  [[nodiscard]] const std::string& legacy_holder() const noexcept { return legacy_holder_; }

 private:
  [[nodiscard]] boost::asio::awaitable<core::Result<bool>> try_lease();
  // GETs the Lease and updates what we observed of it, without writing (while the legacy lock is held).
  [[nodiscard]] boost::asio::awaitable<core::Status> observe_lease();
  [[nodiscard]] boost::asio::awaitable<void> release_all();
  [[nodiscard]] boost::asio::awaitable<bool> pause(std::chrono::milliseconds d);
  [[nodiscard]] std::chrono::milliseconds jittered();
  [[nodiscard]] LeaseRecord desired(std::int64_t now_wall) const;
  [[nodiscard]] bool held_by_me() const { return observed_.holder == options_.identity; }

  KubeClient& client_;
  const core::Clock& wall_;
  const core::Clock& monotonic_;
  core::Logger logger_;
  LeaderElectionOptions options_;
  LeaseRecord observed_;
  std::int64_t observed_at_{0};  // monotonic ms when observed_ last changed
  bool have_observed_{false};
  std::optional<boost::json::object> cached_;  // the Lease as last read or written (its resourceVersion)
  bool leading_{false};
  std::mt19937_64 rng_;
  LeaderElectionCounters counters_;
  std::unique_ptr<LegacyEndpointsLock> legacy_;
  std::string legacy_holder_;
};

}  // namespace podid::watch
