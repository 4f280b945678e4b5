// check_client_assertion: certificate (x5t / x5t#S256) and federated (issuer JWKS) client assertions.
#include <boost/json/parse.hpp>

#include "tests/emulator/aad_service.hpp"

namespace podid::emulator {

namespace {

constexpr long long kClockSkew = 300;

AadFailure invalid_client(int code, std::string description) {
  return AadFailure{401, "invalid_client", code, std::move(description)};
}

std::optional<AadFailure> check_time(const Jwt& jwt) {
  const long long now = unix_now();
  const long long exp = jwt.claim_time("exp");
  const long long nbf = jwt.claim_time("nbf");
  if (exp < 0 || exp + kClockSkew < now || nbf > now + kClockSkew) {
    return invalid_client(
        700024, "Client assertion is not within its valid time range. Current time: " + iso8601_utc(now) +
                    ", assertion valid from " + (nbf < 0 ? std::string("(none)") : iso8601_utc(nbf)) +
                    ", expiry time of assertion " + (exp < 0 ? std::string("(none)") : iso8601_utc(exp)) +
                    ".");
  }
  return std::nullopt;
}

// MSAL sends padded base64url thumbprints; AAD accepts both forms.
std::string unpadded(std::string text) {
  while (!text.empty() && text.back() == '=') text.pop_back();
  return text;
}

const Certificate* find_certificate(const RegisteredApp& app, const Jwt& jwt) {
  const std::string x5t = unpadded(jwt.header_string("x5t"));
  const std::string x5t_s256 = unpadded(jwt.header_string("x5t#S256"));
  for (const Certificate& cert : app.certificates) {
    if ((!x5t.empty() && x5t == cert.x5t()) || (!x5t_s256.empty() && x5t_s256 == cert.x5t_s256()))
      return &cert;
  }
  return nullptr;
}

std::optional<Key> find_jwks_key(const std::string& jwks_json, const std::string& kid) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(jwks_json, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* keys = v.as_object().if_contains("keys");
  if (keys == nullptr || !keys->is_array()) return std::nullopt;
  for (const auto& k : keys->as_array()) {
    if (!k.is_object()) continue;
    const auto& o = k.as_object();
    const auto* id = o.if_contains("kid");
    const auto* n = o.if_contains("n");
    const auto* e = o.if_contains("e");
    if (n == nullptr || e == nullptr || !n->is_string() || !e->is_string()) continue;
    if (!kid.empty() && (id == nullptr || !id->is_string() || id->as_string() != kid)) continue;
    auto key = Key::from_rsa_jwk(n->as_string(), e->as_string());
    if (key) return *key;
  }
  return std::nullopt;
}

std::optional<AadFailure> check_federated(const RegisteredApp& app, const Jwt& jwt) {
  const std::string iss = jwt.claim_string("iss");
  const std::string sub = jwt.claim_string("sub");
  for (const FederatedCredential& fic : app.federated) {
    if (fic.issuer != iss || fic.subject != sub || !jwt.audience_contains(fic.audience)) continue;
    const auto key = find_jwks_key(fic.jwks_json, jwt.header_string("kid"));
    if (!key || !jwt_verify(jwt, *key)) {
      return invalid_client(700027, "Client assertion failed signature validation.");
    }
    return check_time(jwt);
  }
  std::string aud = jwt.claim_string("aud");
  return AadFailure{
      400, "invalid_request", 70021,
      "No matching federated identity record found for presented assertion. Assertion Issuer: '" + iss +
          "'. Assertion Subject: '" + sub + "'. Assertion Audience: '" + aud + "'."};
}

std::optional<AadFailure> check_certificate(const RegisteredApp& app, const Jwt& jwt, const Certificate& cert,
                                            const std::vector<std::string>& token_endpoints) {
  if (!jwt_verify(jwt, cert.public_key))
    return invalid_client(700027, "Client assertion failed signature validation.");
  if (jwt.claim_string("iss") != app.client_id || jwt.claim_string("sub") != app.client_id) {
    return invalid_client(700021,
                          "Client assertion application identifier doesn't match 'client_id' parameter.");
  }
  bool aud_ok = false;
  for (const std::string& endpoint : token_endpoints) aud_ok = aud_ok || jwt.audience_contains(endpoint);
  if (!aud_ok) {
    return invalid_client(700016,
                          "Client assertion audience claim does not match Realm issuer. Review the "
                          "documentation at https://aka.ms/certCreds .");
  }
  return check_time(jwt);
}

}  // namespace

std::optional<AadFailure> check_client_assertion(Directory& directory, const std::string& tenant_id,
                                                 const RegisteredApp& app, const std::string& assertion,
                                                 const std::vector<std::string>& token_endpoints) {
  const auto jwt = jwt_parse(assertion);
  if (!jwt) return AadFailure{400, "invalid_request", 50027, "JWT token is invalid or malformed."};
  const std::string alg = jwt->header_string("alg");
  if (alg != "RS256" && alg != "PS256") {
    return invalid_client(5002738,
                          "Invalid JWT token. '" + alg + "' is not a supported signature algorithm.");
  }
  std::optional<AadFailure> failure;
  const Certificate* cert = find_certificate(app, *jwt);
  if (cert != nullptr) {
    failure = check_certificate(app, *jwt, *cert, token_endpoints);
  } else if (!app.federated.empty() && jwt->claim_string("iss") != app.client_id) {
    failure = check_federated(app, *jwt);
  } else {
    failure = invalid_client(700027,
                             "The certificate with identifier used to sign the client assertion is not "
                             "registered on application. [Reason - The key was not found., Thumbprint of "
                             "key used by client: '" +
                                 jwt->header_string("x5t") + "']");
  }
  if (failure || cert == nullptr) return failure;  // a federated token is reused until it expires
  const std::string jti = jwt->claim_string("jti");
  if (jti.empty()) return invalid_client(700023, "Client assertion must contain a 'jti' claim.");
  if (!directory.use_assertion_id(tenant_id, app.client_id + "/" + jti)) {
    return invalid_client(700023,
                          "Client assertion contains a 'jti' that was already used (replayed assertion).");
  }
  return std::nullopt;
}

}  // namespace podid::emulator
