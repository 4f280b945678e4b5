#include "nodeproxy/imds_token_source.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/http/url.hpp"
#include "nodeproxy/token_json.hpp"

namespace podid::nodeproxy {
namespace asio = boost::asio;

asio::awaitable<core::Result<Token>> ImdsTokenSource::attempt(const TokenRequest& request,
                                                              Deadline deadline) {
  const auto& id = request.identity;
  const std::string selector = id.client_id.empty() ? "&object_id=" + http::url_encode(id.principal_id)
                                                    : "&client_id=" + http::url_encode(id.client_id);
  http::Request req;
  req.method = "GET";
  req.url = imds_url_ + "/metadata/identity/oauth2/token?api-version=2018-02-01" + selector +
            "&resource=" + http::url_encode(request.resource);
  req.headers.emplace_back("Metadata", "true");
  const auto admitted = co_await slots_.acquire(deadline);
  if (!admitted)
    co_return core::make_error(admitted.error().code, "No IMDS call slot became free before the deadline");
  arm::SemaphoreGuard slot(slots_);
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  req.timeout = std::max(left, std::chrono::milliseconds(1));
  auto res = co_await client_.request(std::move(req));
  if (!res) co_return res.error();
  if (!res->success())
    co_return upstream_error("IMDS", res->status, res->body, res->header("Retry-After").value_or(""));
  co_return parse_token_json(res->body, request.identity.client_id, request.resource, clock_.now_ms() / 1000);
}

asio::awaitable<core::Result<Token>> ImdsTokenSource::fetch(TokenRequest request) {
  const auto& id = request.identity;
  if (id.client_id.empty() && id.principal_id.empty())
    co_return core::make_error(core::ErrorCode::invalid,
                               "Identity " + id.key.to_string() + " has no client ID");
  const Deadline deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    auto result = co_await attempt(request, deadline);
    if (result || result.error().code != core::ErrorCode::throttled) co_return result;
    const auto pause = result.error().retry_after.value_or(std::chrono::seconds(1));
    if (std::chrono::steady_clock::now() + pause >= deadline) co_return result;
    asio::steady_timer timer(co_await asio::this_coro::executor, pause);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return result;  // cancelled: the node proxy is stopping
  }
}

}  // namespace podid::nodeproxy
