#include "nodeproxy/aad_token_source.hpp"

#include <algorithm>

#include "core/http/url.hpp"
#include "core/model.hpp"
#include "nodeproxy/token_json.hpp"

namespace podid::nodeproxy {

namespace {

std::string without_trailing_slashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

AadTokenSource::AadTokenSource(http::HttpClient& client, SecretReader& secrets, std::string authority,
                               const core::Clock& clock, std::chrono::milliseconds timeout,
                               std::vector<std::string> trusted)
    : client_(client),
      secrets_(secrets),
      authority_(without_trailing_slashes(std::move(authority))),
      clock_(clock),
      timeout_(timeout) {
  trusted_.push_back(core::to_lower(authority_));
  for (auto& t : trusted) trusted_.push_back(core::to_lower(without_trailing_slashes(std::move(t))));
}

boost::asio::awaitable<core::Result<Token>> AadTokenSource::fetch(TokenRequest request) {
  const auto& id = request.identity;
  const std::string name = id.key.to_string();
  if (id.client_id.empty() || id.tenant_id.empty())
    co_return core::make_error(core::ErrorCode::invalid,
                               "Identity " + name + " needs a client ID and a tenant ID");
  // Upstream used auxiliary tenants for type 1 only; a type-2 identity's list is ignored, as there.
  const bool multi_tenant = id.type == core::IdentityType::service_principal;
  if (multi_tenant && id.auxiliary_tenant_ids.size() > kMaxAuxiliaryTenants)
    co_return core::make_error(
        core::ErrorCode::invalid,
        "Identity " + name + " lists " + std::to_string(id.auxiliary_tenant_ids.size()) +
            " auxiliary tenants; at most " + std::to_string(kMaxAuxiliaryTenants) + " are supported");
  if (multi_tenant)
    for (const auto& tenant : id.auxiliary_tenant_ids)
      if (tenant.empty())
        co_return core::make_error(core::ErrorCode::invalid,
                                   "Identity " + name + " lists an empty auxiliary tenant ID");
  std::string authority = authority_;
  if (!id.ad_endpoint.empty()) {
    authority = without_trailing_slashes(id.ad_endpoint);
    if (std::find(trusted_.begin(), trusted_.end(), core::to_lower(authority)) == trusted_.end())
      co_return core::make_error(core::ErrorCode::permission,
                                 "Identity " + name + " names adEndpoint " + id.ad_endpoint +
                                     ", which this node proxy does not trust (--aad-authority-host, "
                                     "--trusted-ad-endpoints): its credential is never sent there");
  }
  auto credential = co_await read_credential(secrets_, id);
  if (!credential) co_return credential.error();
  auto token = co_await fetch_tenant(*credential, id, authority, id.tenant_id, request.resource);
  if (!token || !multi_tenant) co_return token;
  for (const auto& tenant : id.auxiliary_tenant_ids) {
    auto aux = co_await fetch_tenant(*credential, id, authority, tenant, request.resource);
    if (!aux) {
      auto e = aux.error();
      e.message = "Auxiliary tenant " + tenant + ": " + e.message;
      co_return e;
    }
    token->auxiliary.push_back(std::move(*aux));
  }
  co_return token;
}

boost::asio::awaitable<core::Result<Token>> AadTokenSource::fetch_tenant(
    const ServicePrincipalCredential& credential, const SnapshotIdentity& id, const std::string& authority,
    const std::string& tenant, const std::string& resource) {
  http::Request req;
  req.method = "POST";
  req.url = authority + "/" + http::url_encode(tenant) + "/oauth2/token";
  auto auth = credential.form_auth(id.client_id, req.url, clock_.now_ms());
  if (!auth) co_return auth.error();
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  req.body = "grant_type=client_credentials&client_id=" + http::url_encode(id.client_id) + *auth +
             "&resource=" + http::url_encode(resource);
  req.timeout = timeout_;
  auto res = co_await client_.request(std::move(req));
  if (!res) co_return res.error();
  if (!res->success())
    co_return upstream_error("AAD", res->status, res->body, res->header("Retry-After").value_or(""));
  co_return parse_token_json(res->body, id.client_id, resource, clock_.now_ms() / 1000);
}

}  // namespace podid::nodeproxy
