#pragma once
// The AAD side of the emulated cloud: tenants with their signing keys, applications with their credentials,
// assertion IDs already used, and the issuing and checking of access tokens. Thread-safe.

#include <boost/json/object.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/emulator/config.hpp"
#include "tests/emulator/crypto.hpp"

namespace podid::emulator {

struct RegisteredApp {
  std::string client_id;
  std::string object_id;
  std::vector<std::string> secrets;
  std::vector<Certificate> certificates;
  std::vector<FederatedCredential> federated;
};

struct TokenSubject {
  std::string tenant_id;
  std::string object_id;    // oid / sub
  std::string app_id;       // appid / azp (client ID)
  std::string mi_resource;  // xms_mirid, managed identities only
};

struct TokenRequest {
  TokenSubject subject;
  std::string audience;
  bool v2{false};
  std::chrono::seconds lifetime{3599};
  std::string authority;  // https://host:port, for the v2 issuer
};

struct IssuedToken {
  std::string access_token;
  long long issued_at{0};
  long long expires_on{0};
};

// What ARM learns from a valid bearer token.
struct AccessClaims {
  std::string tenant_id;
  std::string object_id;
  std::string app_id;
  std::string audience;
};

class Directory {
 public:
  [[nodiscard]] Status add_tenant(const TenantConfig& tenant);
  [[nodiscard]] Status add_app(const std::string& tenant_id, const AppConfig& app);
  [[nodiscard]] Status add_certificate(const std::string& tenant_id, const std::string& client_id,
                                       const std::string& pem);
  [[nodiscard]] Status add_federated(const std::string& tenant_id, const std::string& client_id,
                                     const FederatedCredential& credential);
  [[nodiscard]] bool has_tenant(const std::string& tenant_id) const;
  [[nodiscard]] std::optional<RegisteredApp> find_app(const std::string& tenant_id,
                                                      const std::string& client_id) const;
  // Records an assertion ID; false when it was used before.
  [[nodiscard]] bool use_assertion_id(const std::string& tenant_id, const std::string& jti);

  [[nodiscard]] Result<IssuedToken> issue(const TokenRequest& request) const;
  [[nodiscard]] boost::json::object jwks(const std::string& tenant_id) const;
  // Signature (by a tenant key named in `kid`), time window; the audience is the caller's to check.
  [[nodiscard]] Result<AccessClaims> verify_access_token(const std::string& token) const;

 private:
  struct Tenant {
    std::string id;
    Key key;
    std::string kid;
    std::map<std::string, RegisteredApp, std::less<>> apps;  // by lower-case client ID
    std::set<std::string, std::less<>> used_jti;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Tenant, std::less<>> tenants_;  // by lower-case tenant ID
};

}  // namespace podid::emulator
