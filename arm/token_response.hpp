#pragma once
// Token endpoint answers (AAD v1/v2 and IMDS) into AccessToken or a classified error, and unique IDs.
// AAD errors carry "AADSTSnnn: ..." descriptions: invalid_client/unauthorized_client and 401/403 are
// `permission`; other 4xx are `invalid`; 429 is `throttled` (Retry-After); 5xx and temporarily_unavailable
// are `transient`. Messages never contain the request (which holds secrets), only AAD's description.

#include <cstdint>
#include <string>
#include <string_view>

#include "arm/token_source.hpp"
#include "core/http/client_certificate.hpp"
#include "core/http/message.hpp"

namespace podid::arm {

// `who` names the endpoint in messages ("aad", "imds"). expires_on (Unix seconds) wins over expires_in;
// both may be JSON numbers or strings (v1 and IMDS use strings).
[[nodiscard]] core::Result<AccessToken> parse_token_response(const http::Response& response,
                                                             std::int64_t now_ms, std::string_view who);

// Retry-After as seconds or an HTTP date (RFC 1123), in milliseconds from `now_ms`; empty when absent or
// unreadable. Never negative.
[[nodiscard]] std::optional<std::int64_t> parse_retry_after(std::string_view value, std::int64_t now_ms);

// A random version-4 UUID in lower case (operation IDs, assertion jti, client request IDs).
using http::new_uuid;

}  // namespace podid::arm
