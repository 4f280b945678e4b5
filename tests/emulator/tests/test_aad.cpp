// AAD: client credentials with a secret, a certificate assertion and a federated assertion; tokens verified
// against the tenant's published JWKS; AADSTS errors in Azure's JSON shape.
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include "tests/emulator/jwt.hpp"
#include "tests/emulator/tests/test_client.hpp"

using namespace podid::emulator;
using namespace podid::emulator::testing;

namespace {

struct Started {
  Started() : emu(small_cloud()) { REQUIRE(emu.start()); }
  Emulator emu;
  [[nodiscard]] Reply token(bool v2, const std::string& form) {
    return http(Call{"POST",
                     emu.authority_host() + "/" + kTenant + (v2 ? "/oauth2/v2.0/token" : "/oauth2/token"),
                     {},
                     form},
                emu.ca_pem());
  }
};

// Verifies `token` with the key the tenant publishes at its jwks_uri (found through discovery).
Jwt verified_by_jwks(Emulator& emu, const std::string& token) {
  const Reply config =
      http(Call{"GET", emu.authority_host() + "/" + kTenant + "/v2.0/.well-known/openid-configuration"},
           emu.ca_pem());
  REQUIRE(config.status == 200);
  const std::string jwks_uri(config.json().at("jwks_uri").as_string());
  const Reply jwks = http(Call{"GET", jwks_uri}, emu.ca_pem());
  REQUIRE(jwks.status == 200);
  const auto jwt = jwt_parse(token);
  REQUIRE(jwt.has_value());
  const boost::json::value keys = jwks.json();
  for (const auto& k : keys.at("keys").as_array()) {
    if (k.at("kid").as_string() != jwt->header_string("kid")) continue;
    const auto key = Key::from_rsa_jwk(k.at("n").as_string(), k.at("e").as_string());
    REQUIRE(key.has_value());
    REQUIRE(jwt_verify(*jwt, *key));
    return *jwt;
  }
  FAIL("no JWKS key matches the token's kid");
  return {};
}

std::string assertion(const KeyedCertificate& cert, SignatureAlg alg, bool sha256_thumbprint,
                      const std::string& aud, const std::string& jti, long long exp_offset = 600) {
  boost::json::object header;
  if (sha256_thumbprint) {
    header["x5t#S256"] = cert.cert.x5t_s256();
  } else {
    header["x5t"] = cert.cert.x5t();
  }
  const long long now = unix_now();
  const boost::json::object claims{{"aud", aud}, {"iss", kClient},  {"sub", kClient},
                                   {"jti", jti}, {"nbf", now - 10}, {"exp", now + exp_offset}};
  auto signed_jwt = jwt_sign(cert.key, alg, header, claims);
  REQUIRE(signed_jwt.has_value());
  return *signed_jwt;
}

std::string assertion_form(const std::string& jwt, const std::string& scope_part) {
  return "grant_type=client_credentials&client_id=" + std::string(kClient) +
         "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_"
         "assertion=" +
         jwt + "&" + scope_part;
}

}  // namespace

TEST_CASE("A client secret gets a v1 token whose claims name the app and the resource", "[integration]") {
  Started s;
  const Reply r = s.token(false, "grant_type=client_credentials&client_id=" + std::string(kClient) +
                                     "&client_secret=" + kSecret + "&resource=https%3A%2F%2Fvault.azure.net");
  REQUIRE(r.status == 200);
  const auto body = r.json().as_object();
  CHECK(body.at("token_type") == "Bearer");
  CHECK(body.at("resource") == "https://vault.azure.net");
  CHECK(body.at("expires_in").is_string());
  CHECK(body.at("expires_on").is_string());
  const Jwt jwt = verified_by_jwks(s.emu, std::string(body.at("access_token").as_string()));
  CHECK(jwt.claim_string("aud") == "https://vault.azure.net");
  CHECK(jwt.claim_string("tid") == kTenant);
  CHECK(jwt.claim_string("appid") == kClient);
  CHECK(jwt.claim_string("oid") == kAppOid);
  CHECK(jwt.claim_time("exp") > jwt.claim_time("nbf"));
  CHECK(std::to_string(jwt.claim_time("exp")) == std::string(body.at("expires_on").as_string()));
}

TEST_CASE("A v2 token request uses scope/.default and answers numeric lifetimes", "[integration]") {
  Started s;
  const Reply r =
      s.token(true, "grant_type=client_credentials&client_id=" + std::string(kClient) +
                        "&client_secret=" + kSecret + "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default");
  REQUIRE(r.status == 200);
  CHECK(r.json().at("expires_in").is_number());
  CHECK_FALSE(r.json().as_object().contains("resource"));
  const Jwt jwt = verified_by_jwks(s.emu, std::string(r.json().at("access_token").as_string()));
  CHECK(jwt.claim_string("aud") == "https://management.azure.com");
  CHECK(jwt.claim_string("azp") == kClient);
  CHECK(jwt.claim_string("ver") == "2.0");
  CHECK(s.emu.counter("aad.token.v2") == 1);
}

TEST_CASE("AAD refuses bad requests with AADSTS codes in Azure's JSON shape", "[integration]") {
  Started s;
  const std::string base = "grant_type=client_credentials&client_id=" + std::string(kClient);
  struct Case {
    bool v2;
    std::string form;
    long status;
    int code;
    std::string error;
  };
  const auto c = GENERATE_COPY(
      Case{false, base + "&client_secret=wrong&resource=r", 401, 7000215, "invalid_client"},
      Case{false, base + "&client_secret=" + kSecret, 400, 900144, "invalid_request"},
      Case{true, base + "&client_secret=" + kSecret + "&scope=https://x/read", 400, 1002012, "invalid_scope"},
      Case{false, "grant_type=client_credentials&client_id=nope&client_secret=x&resource=r", 400, 700016,
           "unauthorized_client"},
      Case{false, "grant_type=password&client_id=x", 400, 70003, "unsupported_grant_type"},
      Case{false, base + "&resource=r", 401, 7000218, "invalid_client"});
  const Reply r = s.token(c.v2, c.form);
  CHECK(r.status == c.status);
  const auto body = r.json().as_object();
  CHECK(body.at("error") == c.error.c_str());
  CHECK(body.at("error_codes").as_array().at(0).as_int64() == c.code);
  CHECK(std::string(body.at("error_description").as_string())
            .rfind("AADSTS" + std::to_string(c.code) + ":", 0) == 0);
  for (const char* field : {"timestamp", "trace_id", "correlation_id"}) CHECK(body.contains(field));
}

TEST_CASE("An unknown tenant is AADSTS90002", "[integration]") {
  Started s;
  const Reply r =
      http(Call{"POST", s.emu.authority_host() + "/nobody/oauth2/token", {}, "grant_type=client_credentials"},
           s.emu.ca_pem());
  CHECK(r.status == 400);
  CHECK(r.json().at("error_codes").as_array().at(0).as_int64() == 90002);
}

TEST_CASE("A certificate assertion (RS256 or PS256, x5t or x5t#S256) gets a token once per jti",
          "[integration]") {
  Started s;
  const auto cert = self_signed_rsa("app-cert", 2048);
  REQUIRE(cert.has_value());
  REQUIRE(s.emu.add_certificate(kTenant, kClient, cert->cert.pem));
  const auto alg = GENERATE(SignatureAlg::rs256, SignatureAlg::ps256);
  const bool s256 = GENERATE(false, true);
  const std::string aud = s.emu.authority_host() + "/" + kTenant + "/oauth2/v2.0/token";
  const std::string jti = new_guid();
  const std::string jwt = assertion(*cert, alg, s256, aud, jti);
  const Reply first = s.token(true, assertion_form(jwt, "scope=api%3A%2F%2Fdemo%2F.default"));
  REQUIRE(first.status == 200);
  const Jwt token = verified_by_jwks(s.emu, std::string(first.json().at("access_token").as_string()));
  CHECK(token.claim_string("aud") == "api://demo");
  const Reply replay = s.token(true, assertion_form(jwt, "scope=api%3A%2F%2Fdemo%2F.default"));
  CHECK(replay.status == 401);
  CHECK(replay.json().at("error_codes").as_array().at(0).as_int64() == 700023);
}

TEST_CASE("A certificate assertion with a wrong audience, expired or unregistered is refused",
          "[integration]") {
  Started s;
  const auto cert = self_signed_rsa("app-cert", 2048);
  const auto other = self_signed_rsa("other-cert", 2048);
  REQUIRE((cert.has_value() && other.has_value()));
  REQUIRE(s.emu.add_certificate(kTenant, kClient, cert->cert.pem));
  const std::string aud = s.emu.authority_host() + "/" + kTenant + "/oauth2/token";
  const std::string scope = "resource=api%3A%2F%2Fdemo";
  const Reply wrong_aud = s.token(
      false,
      assertion_form(assertion(*cert, SignatureAlg::rs256, false, "https://elsewhere", new_guid()), scope));
  CHECK(wrong_aud.status == 401);
  const Reply expired = s.token(
      false, assertion_form(assertion(*cert, SignatureAlg::rs256, false, aud, new_guid(), -1000), scope));
  CHECK(expired.json().at("error_codes").as_array().at(0).as_int64() == 700024);
  const Reply unregistered =
      s.token(false, assertion_form(assertion(*other, SignatureAlg::rs256, false, aud, new_guid()), scope));
  CHECK(unregistered.json().at("error_codes").as_array().at(0).as_int64() == 700027);
}

TEST_CASE("A federated service-account token is exchanged only for its registered subject", "[integration]") {
  Started s;
  const auto issuer_key = Key::generate_rsa(2048);
  REQUIRE(issuer_key.has_value());
  const std::string issuer = "https://oidc.cluster.local/abc";
  const boost::json::object jwks{
      {"keys", boost::json::array{boost::json::object{{"kty", "RSA"},
                                                      {"kid", "sa-key"},
                                                      {"n", base64url_encode(issuer_key->rsa_modulus())},
                                                      {"e", base64url_encode(issuer_key->rsa_exponent())}}}}};
  REQUIRE(
      s.emu.add_federated(kTenant, kClient,
                          FederatedCredential{issuer, "system:serviceaccount:default:workload",
                                              "api://AzureADTokenExchange", boost::json::serialize(jwks)}));
  const auto sa_token = [&](const std::string& subject) {
    const long long now = unix_now();
    auto t = jwt_sign(*issuer_key, SignatureAlg::rs256, boost::json::object{{"kid", "sa-key"}},
                      boost::json::object{{"iss", issuer},
                                          {"sub", subject},
                                          {"aud", boost::json::array{"api://AzureADTokenExchange"}},
                                          {"iat", now},
                                          {"nbf", now},
                                          {"exp", now + 3600}});
    REQUIRE(t.has_value());
    return *t;
  };
  const std::string scope = "scope=https%3A%2F%2Fvault.azure.net%2F.default";
  const std::string good = sa_token("system:serviceaccount:default:workload");
  CHECK(s.token(true, assertion_form(good, scope)).status == 200);
  CHECK(s.token(true, assertion_form(good, scope)).status ==
        200);  // a projected token is reused until it expires
  const Reply wrong = s.token(true, assertion_form(sa_token("system:serviceaccount:default:other"), scope));
  CHECK(wrong.status == 400);
  CHECK(wrong.json().at("error_codes").as_array().at(0).as_int64() == 70021);
}

TEST_CASE("Instance discovery points MSAL at the emulator's tenant metadata", "[integration]") {
  Started s;
  const std::string authorize = s.emu.authority_host() + "/" + kTenant + "/oauth2/v2.0/authorize";
  const Reply r = http(Call{"GET", s.emu.authority_host() +
                                       "/common/discovery/instance?api-version=1.1&"
                                       "authorization_endpoint=" +
                                       url_encode(authorize)},
                       s.emu.ca_pem());
  REQUIRE(r.status == 200);
  CHECK(r.json().at("tenant_discovery_endpoint") ==
        (s.emu.authority_host() + "/" + kTenant + "/v2.0/.well-known/openid-configuration").c_str());
}
