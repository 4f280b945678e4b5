#pragma once
// LegacyEndpointsLock: the original MIC's leader lock, for upgrades where both run side by side
// (kubernetes-api.md §4.4 item 6). MIC 1.8 (client-go 0.23) locked an Endpoints object (default
// `default/aad-pod-identity-mic`) whose annotation `control-plane.alpha.kubernetes.io/leader` holds a JSON
// LeaderElectionRecord: holderIdentity, leaseDurationSeconds, acquireTime, renewTime (metav1.Time, whole
// seconds), leaderTransitions. A Lease-only controller would not see it, so both would lead.
//
// Freshness is judged as for our Lease: on OUR monotonic clock from the moment we last saw the annotation
// change, with the record's own leaseDurationSeconds; an empty holder means free. Modes:
//   honour: only read it; a fresh foreign holder keeps us from leading (LeaderElector steps down).
//   hold:   also write our own record into it while we lead (renewed every round, released with the
//           Lease), so an old MIC started during the transition stands by instead of leading beside us.
// An annotation that is not a record is an error (never overwritten): an operator deletes the Endpoints.
//
// Thread-safety: one executor, like its KubeClient. Lifetime: client and clocks outlive the lock.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "watch/event_recorder.hpp"  // rfc3339_seconds: metav1.Time, as client-go 0.23 wrote it
#include "watch/kube_client.hpp"

namespace podid::watch {

inline constexpr std::string_view kLeaderAnnotation = "control-plane.alpha.kubernetes.io/leader";

enum class LegacyLockMode { off, honour, hold };

// "off", "honour", "hold".
[[nodiscard]] std::string_view to_string(LegacyLockMode mode) noexcept;
// Accepts off, honour (or honor), hold; ErrorCode::invalid otherwise.
[[nodiscard]] core::Result<LegacyLockMode> parse_legacy_lock_mode(std::string_view text);

struct LegacyLockOptions {
  LegacyLockMode mode{LegacyLockMode::off};
  std::string ns{"default"};  // the original's --leader-election-namespace default
  std::string name{"aad-pod-identity-mic"};
};

struct LegacyLockRecord {
  std::string holder;
  std::int64_t duration_seconds{0};
  std::string acquire_time;
  std::string renew_time;
  std::int64_t transitions{0};
};

// The record in the annotation's JSON; ErrorCode::invalid when it is not a JSON object.
[[nodiscard]] core::Result<LegacyLockRecord> parse_legacy_record(std::string_view annotation);
[[nodiscard]] std::string serialize_legacy_record(const LegacyLockRecord& record);

class LegacyEndpointsLock {
 public:
  LegacyEndpointsLock(KubeClient& client, const core::Clock& wall, const core::Clock& monotonic,
                      LegacyLockOptions options, std::string identity);
  LegacyEndpointsLock(const LegacyEndpointsLock&) = delete;
  LegacyEndpointsLock& operator=(const LegacyEndpointsLock&) = delete;

  // GETs the Endpoints: the holder when someone else holds a fresh record, nullopt when it is missing,
  // free, expired or ours.
  [[nodiscard]] boost::asio::awaitable<core::Result<std::optional<std::string>>> foreign_holder();
  // hold mode (no-op otherwise): writes our record at the resourceVersion foreign_holder() read (create when
  // missing). ErrorCode::conflict when someone wrote in between.
  [[nodiscard]] boost::asio::awaitable<core::Status> hold(std::int64_t duration_seconds);
  // hold mode: if the record is ours, writes it free (holder "", duration 1 s), as client-go's release.
  [[nodiscard]] boost::asio::awaitable<core::Status> release();

  [[nodiscard]] const LegacyLockOptions& options() const noexcept { return options_; }

 private:
  KubeClient& client_;
  const core::Clock& wall_;
  const core::Clock& monotonic_;
  LegacyLockOptions options_;
  std::string identity_;
  std::optional<boost::json::object> cached_;  // the Endpoints as last read or written; empty: missing
  std::string observed_raw_;                   // the annotation as last seen
  LegacyLockRecord observed_;
  std::int64_t observed_at_{0};  // monotonic ms when observed_raw_ last changed
  bool have_observed_{false};
};

}  // namespace podid::watch
