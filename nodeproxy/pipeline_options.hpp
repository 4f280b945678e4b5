#pragma once
// What the request pipeline may be told (filled from flags by cli/).

#include <chrono>
#include <optional>
#include <string>

#include "core/model.hpp"

namespace podid::nodeproxy {

struct PipelineOptions {
  bool metadata_header_required{true};  // `Metadata: true` on token and proxied requests (SSRF guard)
  bool allow_instance_metadata{false};  // /metadata/instance is blocked (403) unless set
  // How long a token request waits for an identity still Created (or RetryScheduled) to become Assigned.
  std::chrono::milliseconds assignment_wait{std::chrono::seconds(3)};
  std::chrono::seconds retry_after{5};  // Retry-After on 503 answers
};

// What one request did, for its log line and metrics.
struct RequestRecord {
  std::string route;
  std::string pod;       // "ns/name" when the caller was resolved
  std::string identity;  // "ns/name" when one was chosen
  std::string client_id;
  std::string resource;
  std::string outcome;  // token, pass_through, proxied, refused, waited_out, upstream_error
  // Token route only, for metrics: issued, denied, not_ready, bad_request, upstream_error, pass_through.
  std::string result;
  std::optional<core::IdentityType> identity_type;  // of the identity chosen, if any
};

}  // namespace podid::nodeproxy
