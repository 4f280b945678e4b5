#include <algorithm>

#include "arm/token_source.hpp"

namespace podid::arm {

std::int64_t TokenCache::refresh_at_ms() const {
  if (!token_) return 0;
  const std::int64_t lifetime = std::max<std::int64_t>(token_->expires_on_ms - token_->issued_ms, 0);
  const auto fraction = static_cast<std::int64_t>(static_cast<double>(lifetime) * policy_.lifetime_fraction);
  // A short-lived token is still used for half its lifetime, even when the margin exceeds it.
  const std::int64_t early = std::min(std::max(policy_.margin_ms, fraction), lifetime / 2);
  return token_->expires_on_ms - early;
}

std::optional<AccessToken> TokenCache::fresh(std::int64_t now_ms) const {
  if (!token_ || now_ms >= refresh_at_ms()) return std::nullopt;
  return token_;
}

std::optional<AccessToken> TokenCache::usable(std::int64_t now_ms) const {
  if (!token_ || now_ms >= token_->expires_on_ms) return std::nullopt;
  return token_;
}

}  // namespace podid::arm
