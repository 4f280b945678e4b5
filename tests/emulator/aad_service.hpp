#pragma once
// The AAD (Entra ID) endpoint: per-tenant v1 and v2 token endpoints for client credentials (secret,
// certificate assertion, federated assertion), OpenID discovery, instance discovery and JWKS.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/emulator/cloud.hpp"
#include "tests/emulator/http_message.hpp"
#include "tests/emulator/jwt.hpp"

namespace podid::emulator {

// An AADSTS failure: HTTP status, OAuth error, AADSTS number and description.
struct AadFailure {
  unsigned status{400};
  std::string error;
  int code{0};
  std::string description;
};

[[nodiscard]] HttpResponse aad_error(const HttpRequest& request, const AadFailure& failure);

// Checks a client assertion for `app` (certificate or federated); `token_endpoints` are the accepted
// audiences of a certificate assertion. Records the assertion's jti on success.
[[nodiscard]] std::optional<AadFailure> check_client_assertion(
    Directory& directory, const std::string& tenant_id, const RegisteredApp& app,
    const std::string& assertion, const std::vector<std::string>& token_endpoints);

class AadService {
 public:
  explicit AadService(Cloud& cloud) : cloud_(cloud) {}
  [[nodiscard]] HttpResponse handle(const HttpRequest& request);

 private:
  [[nodiscard]] HttpResponse token(const HttpRequest& request, const std::string& tenant, bool v2);
  // Client secret or client assertion (certificate or federated) of `app`; a failure or nothing.
  [[nodiscard]] std::optional<AadFailure> authenticate_client(const HttpRequest& request,
                                                              const std::string& tenant,
                                                              const RegisteredApp& app,
                                                              const std::map<std::string, std::string>& form);
  [[nodiscard]] HttpResponse openid_configuration(const HttpRequest& request, const std::string& tenant,
                                                  bool v2);
  [[nodiscard]] HttpResponse instance_discovery(const HttpRequest& request);
  Cloud& cloud_;
};

}  // namespace podid::emulator
