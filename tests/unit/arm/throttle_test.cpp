#include "arm/throttle.hpp"

#include <catch2/catch.hpp>

using podid::arm::CallKind;
using podid::arm::ThrottleOptions;
using podid::arm::ThrottleState;

TEST_CASE("A 429's Retry-After blocks only its own kind of call until the time it names", "[unit]") {
  ThrottleState t(ThrottleOptions{}, 0);
  t.observe(CallKind::write, 429, 17000, 0, 1000);
  CHECK(t.blocked_for_ms(CallKind::write, 1000) == 17000);
  CHECK(t.blocked_for_ms(CallKind::write, 17999) == 1);
  CHECK_FALSE(t.blocked_for_ms(CallKind::write, 18000));
  CHECK_FALSE(t.blocked_for_ms(CallKind::read, 1000));
  CHECK(t.remaining(CallKind::write) == 0);
  // Without Retry-After the default applies; a shorter later block never shortens the current one.
  t.observe(CallKind::read, 429, std::nullopt, std::nullopt, 0);
  CHECK(t.blocked_until_ms(CallKind::read) == ThrottleOptions{}.default_retry_after_ms);
  t.observe(CallKind::read, 429, 1, std::nullopt, 0);
  CHECK(t.blocked_until_ms(CallKind::read) == ThrottleOptions{}.default_retry_after_ms);
}

TEST_CASE("Our own rate limit lets a burst through and then paces calls", "[unit]") {
  ThrottleOptions o;
  o.writes_per_second = 2;
  o.write_burst = 3;
  ThrottleState t(o, 0);
  CHECK(t.reserve(CallKind::write, 0) == 0);
  CHECK(t.reserve(CallKind::write, 0) == 0);
  CHECK(t.reserve(CallKind::write, 0) == 0);
  CHECK(t.reserve(CallKind::write, 0) == 500);   // the 4th waits for one token
  CHECK(t.reserve(CallKind::write, 0) == 1000);  // the 5th for the next
  CHECK(t.reserve(CallKind::read, 0) == 0);      // reads have their own bucket
  CHECK(t.reserve(CallKind::write, 3000) == 0);  // refilled (the debt of 2 is paid after 1 s)
}

TEST_CASE("Calls are spaced out when ARM says few remain", "[unit]") {
  ThrottleOptions o;
  o.low_remaining = 10;
  o.low_remaining_spacing_ms = 1000;
  ThrottleState t(o, 0);
  t.observe(CallKind::read, 200, std::nullopt, 50, 0);
  CHECK(t.reserve(CallKind::read, 0) == 0);
  CHECK(t.reserve(CallKind::read, 0) == 0);
  t.observe(CallKind::read, 200, std::nullopt, 9, 0);
  CHECK(t.remaining(CallKind::read) == 9);
  CHECK(t.reserve(CallKind::read, 100) == 900);   // one second after the previous slot (at 0)
  CHECK(t.reserve(CallKind::read, 100) == 1900);  // and the next a second later
  t.observe(CallKind::read, 200, std::nullopt, 200, 100);
  CHECK(t.reserve(CallKind::read, 100) == 0);
}
