#pragma once
// Long-running operations: where to poll after an accepted PATCH, and what a poll answer means.
// Azure-AsyncOperation is preferred (its body has status InProgress/Succeeded/Failed/Canceled); Location is
// the fallback (202 while running, 200/201/204 when done). Retry-After says when to poll next. Pure.

#include <cstdint>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/http/message.hpp"

namespace podid::arm {

struct PollTarget {
  std::string url;
  bool async_operation{true};  // Azure-AsyncOperation (status body) or Location (status code)
};

// Where to follow the operation an answer to a PATCH started; empty when the answer is final (a 200
// without either header).
[[nodiscard]] std::optional<PollTarget> poll_target(const http::Response& response);

enum class PollState { in_progress, succeeded, failed };

struct PollOutcome {
  PollState state{PollState::in_progress};
  std::optional<std::int64_t> retry_after_ms;  // when to poll next, if the answer said
  core::Error error;                           // for failed
};

// Interprets one poll answer. Non-2xx answers are `failed` with the classified error of the answer.
[[nodiscard]] PollOutcome interpret_poll(const PollTarget& target, const http::Response& response,
                                         std::int64_t now_ms, std::string_view what);

// The next poll delay: Retry-After clamped to [min_ms, max_ms], or default_ms without one.
[[nodiscard]] std::int64_t poll_delay_ms(std::optional<std::int64_t> retry_after_ms, std::int64_t min_ms,
                                         std::int64_t default_ms, std::int64_t max_ms);

}  // namespace podid::arm
