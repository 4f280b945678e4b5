#include "arm/token_source_factory.hpp"

namespace podid::arm {

core::Result<std::unique_ptr<TokenSource>> make_token_source(http::HttpClient& http, const core::Clock& clock,
                                                             const CloudConfig& config,
                                                             std::string_view certificate_data,
                                                             TokenSourceOptions options) {
  if (config.credential == CredentialKind::managed_identity) {
    ImdsOptions imds;
    imds.endpoint = config.cloud.imds;
    imds.audience = config.cloud.token_audience;
    imds.client_id = config.user_assigned_identity_id;
    imds.refresh = options.refresh;
    return std::make_unique<ImdsTokenSource>(http, clock, std::move(imds));
  }
  AadOptions aad;
  aad.authority_host = config.cloud.authority_host;
  aad.tenant_id = config.tenant_id;
  aad.client_id = config.client_id;
  aad.audience = config.cloud.token_audience;
  aad.v2 = options.aad_v2;
  aad.refresh = options.refresh;
  if (config.credential == CredentialKind::client_secret)
    return std::make_unique<AadTokenSource>(http, clock, std::move(aad), config.client_secret);
  auto cert = ClientCertificate::load(certificate_data, config.client_cert_password.value());
  if (!cert) {
    return core::make_error(cert.error().code, config.client_cert_path + ": " + cert.error().message);
  }
  return std::make_unique<AadTokenSource>(http, clock, std::move(aad), std::move(*cert));
}

}  // namespace podid::arm
