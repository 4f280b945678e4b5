#pragma once
// AadTokenSource: a service principal's ARM token through AAD's client-credentials grant, v1
// (POST {authority}/{tenant}/oauth2/token, resource=<audience>) or v2 (.../oauth2/v2.0/token,
// scope=<audience>/.default), authenticated by a client secret or by a certificate assertion
// (ClientCertificate). Cached and refreshed before expiry (TokenCache); while a refresh fails, a token
// that has not expired is still returned. Concurrent callers share one acquisition.
// ImdsTokenSource: a managed identity's token from IMDS (GET {imds}/metadata/identity/oauth2/token with
// Metadata: true, api-version, resource, and client_id for a user-assigned identity).
// Thread-safety and lifetime: as TokenSource; the HttpClient and Clock must outlive the source.

#include <chrono>
#include <variant>

#include "arm/async_semaphore.hpp"
#include "arm/client_certificate.hpp"
#include "arm/token_source.hpp"
#include "core/clock.hpp"
#include "core/http/http_client.hpp"

namespace podid::arm {

struct AadOptions {
  std::string authority_host;  // https://login.microsoftonline.com (no trailing slash)
  std::string tenant_id;
  std::string client_id;
  std::string audience;  // the resource, e.g. https://management.azure.com/
  bool v2{false};
  std::chrono::milliseconds timeout{std::chrono::seconds(15)};
  RefreshPolicy refresh;
};

using ClientCredential = std::variant<core::Secret<std::string>, ClientCertificate>;

class AadTokenSource final : public TokenSource {
 public:
  AadTokenSource(http::HttpClient& http, const core::Clock& clock, AadOptions options,
                 ClientCredential credential);
  [[nodiscard]] boost::asio::awaitable<core::Result<AccessToken>> token() override;
  void invalidate() override { cache_.clear(); }
  [[nodiscard]] std::string token_endpoint() const;
  [[nodiscard]] std::uint64_t acquisitions() const noexcept { return acquisitions_; }

 private:
  [[nodiscard]] core::Result<std::string> form() const;

  http::HttpClient& http_;
  const core::Clock& clock_;
  AadOptions options_;
  ClientCredential credential_;
  TokenCache cache_;
  AsyncSemaphore single_flight_{1};
  std::uint64_t acquisitions_{0};
};

struct ImdsOptions {
  std::string endpoint{"http://169.254.169.254"};
  std::string audience;
  std::string client_id;  // empty: the system-assigned (or only) identity
  std::string api_version{"2018-02-01"};
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  RefreshPolicy refresh;
};

class ImdsTokenSource final : public TokenSource {
 public:
  ImdsTokenSource(http::HttpClient& http, const core::Clock& clock, ImdsOptions options);
  [[nodiscard]] boost::asio::awaitable<core::Result<AccessToken>> token() override;
  void invalidate() override { cache_.clear(); }
  [[nodiscard]] std::uint64_t acquisitions() const noexcept { return acquisitions_; }

 private:
  http::HttpClient& http_;
  const core::Clock& clock_;
  ImdsOptions options_;
  TokenCache cache_;
  AsyncSemaphore single_flight_{1};
  std::uint64_t acquisitions_{0};
};

}  // namespace podid::arm
