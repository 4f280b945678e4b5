#pragma once
// TokenSource: the seam that gives the controller a bearer token for ARM. Implementations: AadTokenSource
// (service principal with a client secret or a certificate) and ImdsTokenSource (managed identity), both
// caching the token in a TokenCache and refreshing it before it expires.
//
// Thread-safety: not thread-safe; use from one single-threaded executor (or strand), like the HttpClient
// it shares. Lifetime: must outlive every token() it started.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "core/logger.hpp"
#include "core/result.hpp"

namespace podid::arm {

struct AccessToken {
  core::Secret<std::string> value{std::string()};
  std::int64_t expires_on_ms{0};  // Unix epoch milliseconds
  std::int64_t issued_ms{0};      // when we received it
};

class TokenSource {
 public:
  TokenSource() = default;
  TokenSource(const TokenSource&) = delete;
  TokenSource& operator=(const TokenSource&) = delete;
  virtual ~TokenSource() = default;

  // A token valid for at least the refresh margin, from the cache or freshly acquired. Errors: permission
  // (credentials refused, AADSTS...), invalid (bad request or configuration), throttled, transient.
  [[nodiscard]] virtual boost::asio::awaitable<core::Result<AccessToken>> token() = 0;
  // Drops the cached token (ARM answered 401); the next token() acquires a new one.
  virtual void invalidate() = 0;
};

// When to refresh: `margin_ms` before expiry, or earlier when 10% of the lifetime is larger.
struct RefreshPolicy {
  std::int64_t margin_ms{std::int64_t{5} * 60 * 1000};
  double lifetime_fraction{0.1};
};

// The cached token and the refresh decision. Pure: time comes in as an argument.
class TokenCache {
 public:
  explicit TokenCache(RefreshPolicy policy = {}) : policy_(policy) {}
  // The cached token if it needs no refresh yet.
  [[nodiscard]] std::optional<AccessToken> fresh(std::int64_t now_ms) const;
  // The cached token if it has not expired (a fallback while refreshing fails).
  [[nodiscard]] std::optional<AccessToken> usable(std::int64_t now_ms) const;
  void store(AccessToken token) { token_ = std::move(token); }
  void clear() { token_.reset(); }
  // When the cached token should be refreshed; 0 when there is none.
  [[nodiscard]] std::int64_t refresh_at_ms() const;

 private:
  RefreshPolicy policy_;
  std::optional<AccessToken> token_;
};

}  // namespace podid::arm
