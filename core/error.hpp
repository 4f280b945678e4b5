#pragma once
// The project's error: a class that callers branch on, and a message for people. Classified once per layer.

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace podid::core {

enum class ErrorCode {
  not_found,   // the object or endpoint does not exist
  conflict,    // optimistic-concurrency or state conflict (HTTP 409)
  gone,        // a watch resource version expired (HTTP 410): relist
  throttled,   // rate limited; retry_after says when
  permission,  // authentication or authorisation refused
  invalid,     // malformed input or object; retrying does not help
  transient,   // network, 5xx, timeout: retry with backoff
  io,          // local storage failure
  corrupt,     // stored data that cannot be decoded
  cancelled,   // shut down on request
};

[[nodiscard]] std::string_view to_string(ErrorCode code) noexcept;

struct Error {
  ErrorCode code{ErrorCode::invalid};
  std::string message;
  std::optional<std::chrono::milliseconds> retry_after{};  // for throttled and transient
  int http_status{0};                                      // 0 when not from HTTP

  [[nodiscard]] bool retryable() const noexcept {
    return code == ErrorCode::throttled || code == ErrorCode::transient || code == ErrorCode::conflict;
  }
  [[nodiscard]] std::string describe() const;
};

[[nodiscard]] Error make_error(ErrorCode code, std::string message);

std::ostream& operator<<(std::ostream& os, const Error& e);

}  // namespace podid::core
