#pragma once
// Reads a token endpoint's JSON answer (IMDS, or AAD v1 client credentials): numbers may be strings
// (as IMDS and AAD v1 send them) or numbers. expires_on is computed from expires_in when absent.

#include <cstdint>
#include <string_view>

#include "core/result.hpp"
#include "nodeproxy/token_source.hpp"

namespace podid::nodeproxy {

// Errors: transient when the body is not a token (a broken upstream).
[[nodiscard]] core::Result<Token> parse_token_json(std::string_view body, std::string_view client_id,
                                                   std::string_view resource, std::int64_t now_s);

// Classifies an upstream's non-2xx answer: 429 -> throttled (Retry-After), 5xx/404/410 -> transient,
// other 4xx -> permission. The message names the upstream and quotes its error_description.
[[nodiscard]] core::Error upstream_error(std::string_view upstream, int status, std::string_view body,
                                         std::string_view retry_after_header);

}  // namespace podid::nodeproxy
