#include "nodeproxy/imds_token_source.hpp"

#include "core/http/url.hpp"
#include "nodeproxy/token_json.hpp"

namespace podid::nodeproxy {

boost::asio::awaitable<core::Result<Token>> ImdsTokenSource::fetch(TokenRequest request) {
  const auto& id = request.identity;
  if (id.client_id.empty() && id.principal_id.empty())
    co_return core::make_error(core::ErrorCode::invalid,
                               "Identity " + id.key.to_string() + " has no client ID");
  const std::string selector = id.client_id.empty() ? "&object_id=" + http::url_encode(id.principal_id)
                                                    : "&client_id=" + http::url_encode(id.client_id);
  http::Request req;
  req.method = "GET";
  req.url = imds_url_ + "/metadata/identity/oauth2/token?api-version=2018-02-01" + selector +
            "&resource=" + http::url_encode(request.resource);
  req.headers.emplace_back("Metadata", "true");
  req.timeout = timeout_;
  auto res = co_await client_.request(std::move(req));
  if (!res) co_return res.error();
  if (!res->success())
    co_return upstream_error("IMDS", res->status, res->body, res->header("Retry-After").value_or(""));
  co_return parse_token_json(res->body, request.identity.client_id, request.resource, clock_.now_ms() / 1000);
}

}  // namespace podid::nodeproxy
