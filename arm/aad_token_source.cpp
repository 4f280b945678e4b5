#include "arm/aad_token_source.hpp"

#include "arm/token_response.hpp"
#include "core/http/url.hpp"

namespace podid::arm {

namespace {

std::string scope_of(std::string audience) {
  while (!audience.empty() && audience.back() == '/') audience.pop_back();
  return audience + "/.default";
}

// One token request through the shared client; `who` names the endpoint in error messages.
struct Fetch {
  http::HttpClient* http;
  http::Request request;
  std::string_view who;
  boost::asio::awaitable<core::Result<http::Response>> operator()() const { return http->request(request); }
};

// Acquires through `fetch` unless the cache holds a fresh token; falls back to an unexpired token.
// One acquisition at a time: callers that queue behind it find the new token in the cache.
boost::asio::awaitable<core::Result<AccessToken>> cached(TokenCache& cache, AsyncSemaphore& single_flight,
                                                         const core::Clock& clock,
                                                         std::uint64_t& acquisitions, Fetch fetch) {
  if (auto t = cache.fresh(clock.now_ms())) co_return *t;
  const auto admitted = co_await single_flight.acquire();
  if (!admitted) co_return admitted.error();
  SemaphoreGuard guard(single_flight);
  if (auto t = cache.fresh(clock.now_ms())) co_return *t;
  auto response = co_await fetch();
  core::Result<AccessToken> token = response ? parse_token_response(*response, clock.now_ms(), fetch.who)
                                             : core::Result<AccessToken>(response.error());
  if (!token) {
    if (auto still = cache.usable(clock.now_ms())) co_return *still;
    co_return token.error();
  }
  ++acquisitions;
  cache.store(*token);
  co_return *token;
}

}  // namespace

AadTokenSource::AadTokenSource(http::HttpClient& http, const core::Clock& clock, AadOptions options,
                               ClientCredential credential)
    : http_(http),
      clock_(clock),
      options_(std::move(options)),
      credential_(std::move(credential)),
      cache_(options_.refresh) {}

std::string AadTokenSource::token_endpoint() const {
  return options_.authority_host + "/" + options_.tenant_id +
         (options_.v2 ? "/oauth2/v2.0/token" : "/oauth2/token");
}

core::Result<std::string> AadTokenSource::form() const {
  std::string body = "grant_type=client_credentials&client_id=" + http::url_encode(options_.client_id);
  body += options_.v2 ? "&scope=" + http::url_encode(scope_of(options_.audience))
                      : "&resource=" + http::url_encode(options_.audience);
  if (const auto* secret = std::get_if<core::Secret<std::string>>(&credential_)) {
    body += "&client_secret=" + http::url_encode(secret->value());
    return body;
  }
  const auto& cert = std::get<ClientCertificate>(credential_);
  const std::string assertion =
      PODID_TRY(cert.assertion(options_.client_id, token_endpoint(), clock_.now_ms(), new_uuid()));
  body +=
      "&client_assertion_type=" + http::url_encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
  body += "&client_assertion=" + assertion;
  return body;
}

namespace {}  // namespace

boost::asio::awaitable<core::Result<AccessToken>> AadTokenSource::token() {
  if (auto t = cache_.fresh(clock_.now_ms())) co_return *t;
  auto body = form();
  if (!body) co_return body.error();
  http::Request request;
  request.method = "POST";
  request.url = token_endpoint();
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                     {"Accept", "application/json"},
                     {"client-request-id", new_uuid()}};
  request.body = std::move(*body);
  request.timeout = options_.timeout;
  Fetch fetch{&http_, std::move(request), "aad"};  // named: g++ 12 mishandles temporaries in co_await
  co_return co_await cached(cache_, single_flight_, clock_, acquisitions_, std::move(fetch));
}

ImdsTokenSource::ImdsTokenSource(http::HttpClient& http, const core::Clock& clock, ImdsOptions options)
    : http_(http), clock_(clock), options_(std::move(options)), cache_(options_.refresh) {}

boost::asio::awaitable<core::Result<AccessToken>> ImdsTokenSource::token() {
  http::Request request;
  request.url = options_.endpoint +
                "/metadata/identity/oauth2/token?api-version=" + http::url_encode(options_.api_version) +
                "&resource=" + http::url_encode(options_.audience);
  if (!options_.client_id.empty()) request.url += "&client_id=" + http::url_encode(options_.client_id);
  request.headers = {{"Metadata", "true"}, {"Accept", "application/json"}};
  request.timeout = options_.timeout;
  Fetch fetch{&http_, std::move(request), "imds"};
  co_return co_await cached(cache_, single_flight_, clock_, acquisitions_, std::move(fetch));
}

}  // namespace podid::arm
