#pragma once
// Classifies a non-2xx answer of the API server (a metav1.Status body) into a core::Error, once:
// 404 not_found, 409 conflict, 410 gone, 429 throttled (Retry-After), 401/403 permission,
// 400/415/422 invalid, 5xx transient (504 with Retry-After, e.g. ResourceVersionTooLarge).

#include <boost/json/object.hpp>
#include <optional>
#include <string_view>

#include "core/error.hpp"

namespace podid::watch {

[[nodiscard]] core::Error status_error(int http_status, std::string_view body,
                                       std::optional<std::string_view> retry_after_header);

// The same for a Status object received in-band (a watch ERROR event).
[[nodiscard]] core::Error status_error(const boost::json::object& status);

}  // namespace podid::watch
