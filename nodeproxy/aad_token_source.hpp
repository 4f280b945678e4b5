#pragma once
// AadTokenSource: types 1 and 2 (service principal with a client secret or a certificate). Reads the
// identity's credential from its Secret (sp_credential.hpp: clear errors for a missing Secret or key, a bad
// PKCS#12 or a wrong password), then POSTs AAD v1 client credentials to <authority>/<tenant>/oauth2/token
// with the identity's client ID and the requested resource, authenticated by client_secret (type 1) or a
// certificate assertion (type 2: RS256, x5t, aud = that endpoint). Type 1 with auxiliaryTenantIDs (at most
// 3, as upstream's ADAL) also asks each auxiliary tenant's endpoint with the same credential; the token
// carries their tokens in Token::auxiliary, in order, and any failure fails the whole request. Type 2
// ignores auxiliaryTenantIDs, as upstream did. The authority is configurable (sovereign clouds, the
// emulator). Lifetime: client, reader and clock outlive it. Thread-safety: the client's executor only.

#include <chrono>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/http/http_client.hpp"
#include "nodeproxy/secret_reader.hpp"
#include "nodeproxy/sp_credential.hpp"
#include "nodeproxy/token_source.hpp"

namespace podid::nodeproxy {

// ADAL's limit for multi-tenant tokens (NewMultiTenantOAuthConfig: "one to three auxiliary tenants").
inline constexpr std::size_t kMaxAuxiliaryTenants = 3;

class AadTokenSource final : public TokenSource {
 public:
  // authority: "https://login.microsoftonline.com" (no trailing slash needed). An identity's adEndpoint is
  // used only when it is that authority or one of `trusted` (compared without trailing slashes and case):
  // the node proxy sends the identity's secret or a signed assertion there, so an AzureIdentity naming any
  // other endpoint would hand the service principal's credential to whoever runs it.
  AadTokenSource(http::HttpClient& client, SecretReader& secrets, std::string authority,
                 const core::Clock& clock, std::chrono::milliseconds timeout,
                 std::vector<std::string> trusted = {});

  [[nodiscard]] boost::asio::awaitable<core::Result<Token>> fetch(TokenRequest request) override;

 private:
  [[nodiscard]] boost::asio::awaitable<core::Result<Token>> fetch_tenant(
      const ServicePrincipalCredential& credential, const SnapshotIdentity& identity,
      const std::string& authority, const std::string& tenant, const std::string& resource);

  http::HttpClient& client_;
  SecretReader& secrets_;
  std::string authority_;
  std::vector<std::string> trusted_;  // normalised: no trailing slash, lower case
  const core::Clock& clock_;
  std::chrono::milliseconds timeout_;
};

}  // namespace podid::nodeproxy
