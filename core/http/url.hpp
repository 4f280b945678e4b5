#pragma once
// Absolute URL parsing for the client ("http[s]://host[:port]/target") and percent-encoding for query values.

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace podid::http {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6 literals
  std::string port;    // defaulted from the scheme when absent
  std::string target;  // path and query, at least "/"

  [[nodiscard]] bool tls() const noexcept { return scheme == "https"; }
  // "host:port" with IPv6 literals bracketed: the HTTP Host header and the connection-pool key.
  [[nodiscard]] std::string authority() const;
};

[[nodiscard]] core::Result<Url> parse_url(std::string_view url);

// Percent-encodes everything except RFC 3986 unreserved characters.
[[nodiscard]] std::string url_encode(std::string_view value);

// True when host is an IPv4 or IPv6 literal (no SNI is sent for those).
[[nodiscard]] bool is_ip_literal(std::string_view host);

}  // namespace podid::http
