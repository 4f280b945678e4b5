#pragma once
// TokenSource: the bearer token for API requests. A static token, or a file re-read when older than the
// refresh period (client-go: 60 s) and after invalidate() (an HTTP 401), so projected service-account tokens
// rotate without a restart. The clock is injected so that tests control time.
//
// Thread-safety: not thread-safe; used by one client. Secret handling: the token is never logged.

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/result.hpp"

namespace podid::watch {

class TokenSource {
 public:
  using Clock = std::chrono::steady_clock;
  using Now = std::function<Clock::time_point()>;

  TokenSource(std::string static_token, std::string token_file,
              std::chrono::seconds refresh = std::chrono::seconds(60), Now now = &Clock::now);

  // The current token ("" when none is configured). Re-reads the file when due; io error if unreadable.
  [[nodiscard]] core::Result<std::string> token();
  // Forces a re-read on the next token() call. Returns true when a file backs the token (a retry may help).
  bool invalidate();
  [[nodiscard]] int reads() const noexcept { return reads_; }

 private:
  std::string static_token_;
  std::string file_;
  std::chrono::seconds refresh_;
  Now now_;
  std::string cached_;
  std::optional<Clock::time_point> read_at_;
  int reads_{0};
};

}  // namespace podid::watch
