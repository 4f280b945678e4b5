#pragma once
// Responses in the shape Azure's IMDS uses: errors as {"error": ..., "error_description": ...} with
// `application/json; charset=utf-8`, and tokens as a JSON object whose values are all strings
// (access_token, client_id, expires_in, expires_on, ext_expires_in, not_before, refresh_token, resource,
// token_type). A token with auxiliary tokens is answered as a JSON array of such objects, primary first
// (upstream NMI's multi-tenant answer).

#include <chrono>
#include <cstdint>
#include <string_view>

#include "core/http/message.hpp"
#include "nodeproxy/token_source.hpp"

namespace podid::nodeproxy {

[[nodiscard]] http::Response imds_error(int status, std::string_view error, std::string_view description);

// 503 (or 429) with Retry-After in whole seconds (at least 1).
[[nodiscard]] http::Response imds_retry_later(int status, std::string_view description,
                                              std::chrono::seconds retry_after);

// now_s: the current Unix time, for expires_in.
[[nodiscard]] http::Response imds_token(const Token& token, std::int64_t now_s);

}  // namespace podid::nodeproxy
