#pragma once
// ARM error answers into core::Error, classified once: 404 not_found; 409 conflict; 429 throttled (with
// Retry-After); 401/403 permission (LinkedAuthorizationFailed: no right to assign an identity); 400
// FailedIdentityOperation (an identity that does not exist) and other 4xx invalid; 5xx transient. The
// message keeps ARM's code and message verbatim ("<what>: <code>: <message>"), so the identities ARM names
// can be read back from it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/http/message.hpp"

namespace podid::arm {

// The class of an ARM error code from a failed long-running operation (no HTTP status of its own).
[[nodiscard]] core::ErrorCode classify_arm_code(std::string_view code);

// `what` says which call failed ("GET vmss/sub/rg/name").
[[nodiscard]] core::Error arm_error(const http::Response& response, std::int64_t now_ms,
                                    std::string_view what);

// The error of an {"error":{"code","message"}} object (a failed operation's body), with class from its code.
[[nodiscard]] core::Error arm_error_from_body(std::string_view body, std::string_view what);

// The identity resource IDs (lower case, sorted, unique) that an ARM message names in its single-quoted,
// comma-separated lists ("... on the linked scope(s) '<id1>,<id2>' ..."). Anything that is not a
// user-assigned identity resource ID (scopes of VMs, numbers) is ignored.
[[nodiscard]] std::vector<std::string> named_identities(std::string_view message);

}  // namespace podid::arm
