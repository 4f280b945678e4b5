#pragma once
// The emulator's own request and response values: what a service handler sees, free of Beast types.

#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace podid::emulator {

struct CaseLess {
  using is_transparent = void;
  [[nodiscard]] bool operator()(std::string_view a, std::string_view b) const noexcept;
};

[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;
[[nodiscard]] std::string to_lower(std::string_view s);
[[nodiscard]] std::string url_decode(std::string_view s);
[[nodiscard]] std::string url_encode(std::string_view s);
// Parses "a=1&b=2" (form bodies and query strings); later duplicates win.
[[nodiscard]] std::map<std::string, std::string> parse_form(std::string_view s);

struct HttpRequest {
  std::string method;
  std::string target;  // as received: path and query
  std::string path;    // decoded path, no query
  std::map<std::string, std::string> query;
  std::map<std::string, std::string, CaseLess> headers;
  std::string body;
  std::string base_url;  // scheme://host:port of the listener that received it

  [[nodiscard]] std::optional<std::string> query_param(std::string_view name) const;
  [[nodiscard]] std::string header(std::string_view name) const;
};

struct HttpResponse {
  unsigned status{200};
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds delay{0};  // wait before answering (latency injection)
  bool hang{false};                    // never answer; the connection is held until the client gives up
  std::shared_ptr<void> lease;         // released once answered or the connection ended (concurrency limits)

  HttpResponse& set_header(std::string name, std::string value);
  [[nodiscard]] std::string header(std::string_view name) const;
};

[[nodiscard]] HttpResponse json_response(unsigned status, const boost::json::value& body);

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Time helpers shared by the services.
[[nodiscard]] long long unix_now();
[[nodiscard]] std::string iso8601_utc(long long unix_seconds, bool with_fraction = true);

}  // namespace podid::emulator
