#include "nodeproxy/imds_proxy.hpp"

#include <array>

#include "core/model.hpp"
#include "nodeproxy/imds_response.hpp"

namespace podid::nodeproxy {

namespace {

bool hop_by_hop(std::string_view name) {
  static constexpr std::array<std::string_view, 9> kNames{
      "connection",     "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
      "content-length", "host"};
  for (auto n : kNames)
    if (core::iequals(n, name)) return true;
  return false;
}

}  // namespace

boost::asio::awaitable<http::Response> ImdsProxy::forward(const http::Request& request) {
  http::Request out;
  out.method = request.method;
  out.url = imds_url_ + request.url;
  for (const auto& [k, v] : request.headers)
    if (!hop_by_hop(k)) out.headers.emplace_back(k, v);
  out.body = request.body;
  out.timeout = timeout_;
  auto res = co_await client_.request(std::move(out));
  if (!res)
    co_return imds_error(502, "bad_gateway", "The node's IMDS could not be reached: " + res.error().message);
  http::Response relayed;
  relayed.status = res->status;
  for (const auto& [k, v] : res->headers)
    if (!hop_by_hop(k)) relayed.headers.emplace_back(k, v);
  relayed.body = std::move(res->body);
  co_return relayed;
}

}  // namespace podid::nodeproxy
