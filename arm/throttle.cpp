#include "arm/throttle.hpp"

#include <algorithm>
#include <cmath>

namespace podid::arm {

ThrottleState::ThrottleState(ThrottleOptions options, std::int64_t now_ms) : options_(options) {
  reads_.rate = std::max(options_.reads_per_second, 0.001);
  reads_.burst = std::max(options_.read_burst, 1.0);
  writes_.rate = std::max(options_.writes_per_second, 0.001);
  writes_.burst = std::max(options_.write_burst, 1.0);
  for (Lane* l : {&reads_, &writes_}) {
    l->tokens = l->burst;
    l->refilled_ms = now_ms;
  }
}

std::optional<std::int64_t> ThrottleState::blocked_for_ms(CallKind kind, std::int64_t now_ms) const {
  const Lane& l = lane(kind);
  if (now_ms >= l.blocked_until_ms) return std::nullopt;
  return l.blocked_until_ms - now_ms;
}

std::int64_t ThrottleState::reserve(CallKind kind, std::int64_t now_ms) {
  Lane& l = lane(kind);
  if (now_ms > l.refilled_ms) {
    l.tokens = std::min(l.burst, l.tokens + static_cast<double>(now_ms - l.refilled_ms) * l.rate / 1000.0);
    l.refilled_ms = now_ms;
  }
  // Tokens may go negative: a debt that later callers wait out in order.
  l.tokens -= 1.0;
  std::int64_t wait = 0;
  if (l.tokens < 0) wait = static_cast<std::int64_t>(std::ceil(-l.tokens * 1000.0 / l.rate));
  if (l.remaining && *l.remaining < options_.low_remaining) {
    wait = std::max(wait, l.last_slot_ms + options_.low_remaining_spacing_ms - now_ms);
  }
  l.last_slot_ms = now_ms + wait;
  return wait;
}

void ThrottleState::observe(CallKind kind, int status, std::optional<std::int64_t> retry_after_ms,
                            std::optional<std::int64_t> remaining, std::int64_t now_ms) {
  Lane& l = lane(kind);
  if (remaining) l.remaining = *remaining;
  if (status == 429) {
    l.remaining = 0;
    const std::int64_t after = retry_after_ms.value_or(options_.default_retry_after_ms);
    l.blocked_until_ms = std::max(l.blocked_until_ms, now_ms + after);
  }
}

}  // namespace podid::arm
