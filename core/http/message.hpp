#pragma once
// Plain HTTP request and response values: what callers of HttpClient and handlers of HttpServer see.
// No Beast types here, so that every folder can include this header cheaply.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace podid::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive lookup of the first header with this name.
[[nodiscard]] std::optional<std::string_view> find_header(const Headers& headers, std::string_view name);

struct Request {
  std::string method{"GET"};
  // Client side: an absolute URL ("https://host:port/path?query"). Server side: the request target
  // ("/path?q").
  std::string url;
  Headers headers;
  std::string body;
  // Client side: the deadline for the whole exchange (connect, TLS, write, read). For streams: the hard
  // deadline.
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  // Server side: the peer's IP address as text. Ignored by the client.
  std::string remote_address;

  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

struct Response {
  int status{0};
  Headers headers;
  std::string body;

  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
  [[nodiscard]] bool success() const noexcept { return status >= 200 && status < 300; }
};

}  // namespace podid::http
