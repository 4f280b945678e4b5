#include "nodeproxy/aad_token_source.hpp"

#include "core/http/url.hpp"
#include "nodeproxy/token_json.hpp"

namespace podid::nodeproxy {

AadTokenSource::AadTokenSource(http::HttpClient& client, SecretReader& secrets, std::string authority,
                               const core::Clock& clock, std::chrono::milliseconds timeout)
    : client_(client), secrets_(secrets), authority_(std::move(authority)), clock_(clock), timeout_(timeout) {
  while (!authority_.empty() && authority_.back() == '/') authority_.pop_back();
}

boost::asio::awaitable<core::Result<Token>> AadTokenSource::fetch(TokenRequest request) {
  const auto& id = request.identity;
  const std::string name = id.key.to_string();
  if (id.client_id.empty() || id.tenant_id.empty())
    co_return core::make_error(core::ErrorCode::invalid,
                               "Identity " + name + " needs a client ID and a tenant ID");
  if (id.secret_ref.name.empty())
    co_return core::make_error(core::ErrorCode::invalid, "Identity " + name + " references no Secret");
  core::SecretRef ref = id.secret_ref;
  if (ref.ns.empty()) ref.ns = id.key.ns;
  auto data = co_await secrets_.read(ref);
  if (!data) {
    auto e = data.error();
    e.message =
        "Reading Secret " + ref.ns + "/" + ref.name + " of identity " + name + " failed: " + e.message;
    co_return e;
  }
  const auto secret = data->find(std::string(kClientSecretKey));
  if (secret == data->end())
    co_return core::make_error(core::ErrorCode::invalid, "Secret " + ref.ns + "/" + ref.name +
                                                             " of identity " + name + " has no key '" +
                                                             std::string(kClientSecretKey) + "'");
  http::Request req;
  req.method = "POST";
  req.url = authority_ + "/" + http::url_encode(id.tenant_id) + "/oauth2/token";
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  req.body = "grant_type=client_credentials&client_id=" + http::url_encode(id.client_id) +
             "&client_secret=" + http::url_encode(secret->second.value()) +
             "&resource=" + http::url_encode(request.resource);
  req.timeout = timeout_;
  auto res = co_await client_.request(std::move(req));
  if (!res) co_return res.error();
  if (!res->success())
    co_return upstream_error("AAD", res->status, res->body, res->header("Retry-After").value_or(""));
  co_return parse_token_json(res->body, id.client_id, request.resource, clock_.now_ms() / 1000);
}

}  // namespace podid::nodeproxy
