#pragma once
// ImdsProxy: relays a request to the node's IMDS unchanged (method, path, query, body, headers except
// hop-by-hop ones and Host), within a deadline, and relays the answer's status, headers and body.
// Used for exception pods' token requests and, under the Metadata-header rule, for other /metadata paths.
// A transport failure gives 502 in IMDS's error shape. Never used for a non-canonical path (the router
// refuses those first). Thread-safety: the client's executor only.

#include <chrono>
#include <string>

#include "core/http/http_client.hpp"
#include "core/http/message.hpp"

namespace podid::nodeproxy {

class ImdsProxy {
 public:
  ImdsProxy(http::HttpClient& client, std::string imds_url, std::chrono::milliseconds timeout)
      : client_(client), imds_url_(std::move(imds_url)), timeout_(timeout) {}
  ImdsProxy(const ImdsProxy&) = delete;
  ImdsProxy& operator=(const ImdsProxy&) = delete;

  [[nodiscard]] boost::asio::awaitable<http::Response> forward(const http::Request& request);

 private:
  http::HttpClient& client_;
  std::string imds_url_;
  std::chrono::milliseconds timeout_;
};

}  // namespace podid::nodeproxy
