#pragma once
// ThrottleState: what one subscription's ARM limits allow us, kept separately for reads and writes.
// - Server side: a 429 (or any answer with Retry-After on a refusal) blocks that kind until the time it
//   names; calls fail fast as throttled meanwhile (as the original's reader/writer "retry after" did).
// - x-ms-ratelimit-remaining-subscription-{reads,writes}: when the remaining count drops below a low-water
//   mark, calls of that kind are spaced out instead of spending the last tokens in a burst.
// - Client side: our own token bucket per kind, so that the controller stays well under ARM's limits.
// Pure: time comes in as Unix milliseconds. Not thread-safe.

#include <cstdint>
#include <optional>

namespace podid::arm {

enum class CallKind { read, write };

// Defaults: a share of ARM's per-principal buckets (reads 250 / 25 per s, writes 200 / 10 per s), so that
// the cloud provider, the autoscaler and others sharing the subscription keep the rest: reads 40 %, writes
// 25 % of the bucket and 20 % of its refill (a burst of 5,000 pods on 50 scale sets and VMs: about two
// PATCHes each, within the burst).
struct ThrottleOptions {
  double reads_per_second{10};
  double read_burst{100};
  double writes_per_second{2};
  double write_burst{50};
  std::int64_t low_remaining{25};  // below this many remaining ARM calls, space calls out
  std::int64_t low_remaining_spacing_ms{1000};
  std::int64_t default_retry_after_ms{10000};  // a 429 without Retry-After
};

class ThrottleState {
 public:
  ThrottleState(ThrottleOptions options, std::int64_t now_ms);

  // How long ARM told us to stay away from calls of this kind; empty when not blocked.
  [[nodiscard]] std::optional<std::int64_t> blocked_for_ms(CallKind kind, std::int64_t now_ms) const;
  // Reserves the next slot of our own limit and returns how long to wait before sending (0: at once).
  [[nodiscard]] std::int64_t reserve(CallKind kind, std::int64_t now_ms);
  // Learns from an ARM answer: its status, Retry-After (ms from now) and the remaining-count header.
  void observe(CallKind kind, int status, std::optional<std::int64_t> retry_after_ms,
               std::optional<std::int64_t> remaining, std::int64_t now_ms);

  [[nodiscard]] std::optional<std::int64_t> remaining(CallKind kind) const { return lane(kind).remaining; }
  [[nodiscard]] std::int64_t blocked_until_ms(CallKind kind) const { return lane(kind).blocked_until_ms; }

 private:
  struct Lane {
    double rate{1};
    double burst{1};
    double tokens{1};
    std::int64_t refilled_ms{0};
    std::int64_t blocked_until_ms{0};
    std::int64_t last_slot_ms{0};
    std::optional<std::int64_t> remaining;
  };
  [[nodiscard]] Lane& lane(CallKind kind) { return kind == CallKind::read ? reads_ : writes_; }
  [[nodiscard]] const Lane& lane(CallKind kind) const { return kind == CallKind::read ? reads_ : writes_; }

  ThrottleOptions options_;
  Lane reads_;
  Lane writes_;
};

}  // namespace podid::arm
