#include "tests/emulator/directory.hpp"

#include <boost/json/array.hpp>

#include "tests/emulator/http_message.hpp"
#include "tests/emulator/jwt.hpp"

namespace podid::emulator {

using core::ErrorCode;
using core::make_error;

Status Directory::add_tenant(const TenantConfig& tenant) {
  Tenant t;
  t.id = tenant.tenant_id;
  t.key = PODID_TRY(Key::generate_rsa(2048));
  t.kid = base64url_encode(sha256(t.key.rsa_modulus())).substr(0, 27);
  {
    const std::lock_guard lock(mutex_);
    if (tenants_.contains(to_lower(t.id))) return make_error(ErrorCode::conflict, "tenant exists: " + t.id);
    tenants_.emplace(to_lower(t.id), std::move(t));
  }
  for (const AppConfig& app : tenant.apps) PODID_TRY(add_app(tenant.tenant_id, app));
  return core::ok();
}

Status Directory::add_app(const std::string& tenant_id, const AppConfig& app) {
  RegisteredApp reg;
  reg.client_id = app.client_id;
  reg.object_id = app.object_id.empty() ? new_guid() : app.object_id;
  reg.secrets = app.secrets;
  reg.federated = app.federated;
  for (const std::string& pem : app.certificate_pems)
    reg.certificates.push_back(PODID_TRY(Certificate::from_pem(pem)));
  const std::lock_guard lock(mutex_);
  const auto it = tenants_.find(to_lower(tenant_id));
  if (it == tenants_.end()) return make_error(ErrorCode::not_found, "no tenant " + tenant_id);
  it->second.apps[to_lower(app.client_id)] = std::move(reg);
  return core::ok();
}

Status Directory::add_certificate(const std::string& tenant_id, const std::string& client_id,
                                  const std::string& pem) {
  Certificate cert = PODID_TRY(Certificate::from_pem(pem));
  const std::lock_guard lock(mutex_);
  const auto it = tenants_.find(to_lower(tenant_id));
  if (it == tenants_.end()) return make_error(ErrorCode::not_found, "no tenant " + tenant_id);
  const auto app = it->second.apps.find(to_lower(client_id));
  if (app == it->second.apps.end()) return make_error(ErrorCode::not_found, "no app " + client_id);
  app->second.certificates.push_back(std::move(cert));
  return core::ok();
}

Status Directory::add_federated(const std::string& tenant_id, const std::string& client_id,
                                const FederatedCredential& credential) {
  const std::lock_guard lock(mutex_);
  const auto it = tenants_.find(to_lower(tenant_id));
  if (it == tenants_.end()) return make_error(ErrorCode::not_found, "no tenant " + tenant_id);
  const auto app = it->second.apps.find(to_lower(client_id));
  if (app == it->second.apps.end()) return make_error(ErrorCode::not_found, "no app " + client_id);
  app->second.federated.push_back(credential);
  return core::ok();
}

bool Directory::has_tenant(const std::string& tenant_id) const {
  const std::lock_guard lock(mutex_);
  return tenants_.contains(to_lower(tenant_id));
}

std::optional<RegisteredApp> Directory::find_app(const std::string& tenant_id,
                                                 const std::string& client_id) const {
  const std::lock_guard lock(mutex_);
  const auto it = tenants_.find(to_lower(tenant_id));
  if (it == tenants_.end()) return std::nullopt;
  const auto app = it->second.apps.find(to_lower(client_id));
  if (app == it->second.apps.end()) return std::nullopt;
  return app->second;
}

bool Directory::use_assertion_id(const std::string& tenant_id, const std::string& jti) {
  const std::lock_guard lock(mutex_);
  const auto it = tenants_.find(to_lower(tenant_id));
  return it != tenants_.end() && it->second.used_jti.insert(jti).second;
}

Result<IssuedToken> Directory::issue(const TokenRequest& request) const {
  Key key;
  std::string kid;
  std::string tenant_id;
  {
    const std::lock_guard lock(mutex_);
    const auto it = tenants_.find(to_lower(request.subject.tenant_id));
    if (it == tenants_.end())
      return make_error(ErrorCode::not_found, "no tenant " + request.subject.tenant_id);
    key = it->second.key;
    kid = it->second.kid;
    tenant_id = it->second.id;
  }
  const long long now = unix_now();
  IssuedToken out;
  out.issued_at = now;
  out.expires_on = now + request.lifetime.count();
  boost::json::object claims{{"aud", request.audience},
                             {"iat", now},
                             {"nbf", now},
                             {"exp", out.expires_on},
                             {"tid", tenant_id},
                             {"oid", request.subject.object_id},
                             {"sub", request.subject.object_id},
                             {"idtyp", "app"},
                             {"uti", base64url_encode(random_bytes(16))}};
  if (request.v2) {
    claims["iss"] = request.authority + "/" + tenant_id + "/v2.0";
    claims["azp"] = request.subject.app_id;
    claims["azpacr"] = "1";
    claims["ver"] = "2.0";
  } else {
    claims["iss"] = "https://sts.windows.net/" + tenant_id + "/";
    claims["appid"] = request.subject.app_id;
    claims["appidacr"] = "1";
    claims["ver"] = "1.0";
  }
  if (!request.subject.mi_resource.empty()) {
    claims["xms_mirid"] = request.subject.mi_resource;
    claims["appid"] = request.subject.app_id;
    claims["appidacr"] = "2";
  }
  boost::json::object header{{"kid", kid}, {"x5t", kid}};
  out.access_token = PODID_TRY(jwt_sign(key, SignatureAlg::rs256, std::move(header), claims));
  return out;
}

boost::json::object Directory::jwks(const std::string& tenant_id) const {
  boost::json::array keys;
  const std::lock_guard lock(mutex_);
  const auto it = tenants_.find(to_lower(tenant_id));
  if (it != tenants_.end()) {
    keys.push_back(boost::json::object{{"kty", "RSA"},
                                       {"use", "sig"},
                                       {"alg", "RS256"},
                                       {"kid", it->second.kid},
                                       {"x5t", it->second.kid},
                                       {"n", base64url_encode(it->second.key.rsa_modulus())},
                                       {"e", base64url_encode(it->second.key.rsa_exponent())},
                                       {"issuer", "https://sts.windows.net/" + it->second.id + "/"}});
  }
  return boost::json::object{{"keys", std::move(keys)}};
}

Result<AccessClaims> Directory::verify_access_token(const std::string& token) const {
  const Jwt jwt = PODID_TRY(jwt_parse(token));
  const std::string kid = jwt.header_string("kid");
  const std::string tid = jwt.claim_string("tid");
  Key key;
  {
    const std::lock_guard lock(mutex_);
    const auto it = tenants_.find(to_lower(tid));
    if (it == tenants_.end() || it->second.kid != kid) {
      return make_error(ErrorCode::permission, "the token was not issued by a known tenant key");
    }
    key = it->second.key;
  }
  if (jwt.header_string("alg") != "RS256" || !jwt_verify(jwt, key)) {
    return make_error(ErrorCode::permission, "the token signature is invalid");
  }
  const long long now = unix_now();
  const long long exp = jwt.claim_time("exp");
  const long long nbf = jwt.claim_time("nbf");
  if (exp < now) return make_error(ErrorCode::permission, "the token is expired");
  if (nbf > now + 300) return make_error(ErrorCode::permission, "the token is not yet valid");
  AccessClaims out;
  out.tenant_id = tid;
  out.object_id = jwt.claim_string("oid");
  out.app_id = jwt.claim_string("appid").empty() ? jwt.claim_string("azp") : jwt.claim_string("appid");
  out.audience = jwt.claim_string("aud");
  return out;
}

}  // namespace podid::emulator
