// Type 2 (service principal with a certificate) through the AAD source against a loopback AAD: the signed
// client assertion it sends, and the clear errors (never a token, never an upstream call, never a secret in
// the message) for a missing Secret or key, a file that is not PKCS#12, a wrong password and a non-RSA key.
#include <catch2/catch.hpp>

#include "nodeproxy/aad_token_source.hpp"
#include "nodeproxy/typed_token_source.hpp"
#include "tests/emulator/jwt.hpp"
#include "unit/nodeproxy/pkcs12_fixture.hpp"
#include "unit/nodeproxy/sources_fixture.hpp"

using namespace podid;
using namespace podid::testing;
using nodeproxy::TokenRequest;

namespace {

const core::SecretRef kRef{"sp-secret", "default"};

std::string form_value(const std::string& body, const std::string& key) {
  const auto at = body.find("&" + key + "=");
  if (at == std::string::npos) return {};
  const auto from = at + key.size() + 2;
  return body.substr(from, body.find('&', from) - from);
}

struct CertFixture : SourcesFixture {
  CertFixture() { upstream.body = R"({"access_token":"t2","expires_in":"3599","token_type":"Bearer"})"; }
  core::Result<nodeproxy::Token> fetch() {
    return run_async(io, source.fetch(TokenRequest{certificate_principal(), "https://vault.azure.net"}));
  }
  nodeproxy::AadTokenSource source{*client, secrets, upstream.url(), clock, std::chrono::seconds(5)};
};

}  // namespace

TEST_CASE("A type-2 identity authenticates with an RS256 assertion signed by its PKCS#12 key", "[unit]") {
  CertFixture fx;
  const auto kc = rsa_certificate();
  fx.secrets.put(kRef, "certificate", pkcs12_of(kc, "pfx-pass"));
  fx.secrets.put(kRef, "password", "pfx-pass");

  auto t = fx.fetch();
  REQUIRE(t.has_value());
  CHECK(t->access_token.value() == "t2");
  CHECK(t->client_id == "c1");
  CHECK(t->auxiliary.empty());
  REQUIRE(fx.upstream.calls.size() == 1);
  const auto& call = fx.upstream.calls[0];
  CHECK(call.url == "/tenant-1/oauth2/token");
  CHECK(call.body.rfind("grant_type=client_credentials&client_id=c1&client_assertion_type=", 0) == 0);
  CHECK(form_value(call.body, "client_assertion_type") ==
        "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer");
  CHECK(form_value(call.body, "resource") == "https%3A%2F%2Fvault.azure.net");
  CHECK(call.body.find("client_secret") == std::string::npos);
  CHECK(call.body.find("pfx-pass") == std::string::npos);

  auto jwt = emulator::jwt_parse(form_value(call.body, "client_assertion"));
  REQUIRE(jwt.has_value());
  CHECK(jwt->header_string("alg") == "RS256");
  CHECK(jwt->header_string("x5t") == kc.cert.x5t());
  CHECK(emulator::jwt_verify(*jwt, kc.cert.public_key));
  CHECK(jwt->claim_string("aud") == fx.upstream.url() + "/tenant-1/oauth2/token");
  CHECK(jwt->claim_string("iss") == "c1");
  CHECK(jwt->claim_string("sub") == "c1");
  CHECK(jwt->claim_time("nbf") == 1'700'000'000);
  CHECK(jwt->claim_time("exp") == 1'700'000'600);

  // Every assertion is fresh: AAD refuses a replayed jti.
  REQUIRE(fx.fetch().has_value());
  auto again = emulator::jwt_parse(form_value(fx.upstream.calls.at(1).body, "client_assertion"));
  REQUIRE(again.has_value());
  CHECK_FALSE(jwt->claim_string("jti").empty());
  CHECK(again->claim_string("jti") != jwt->claim_string("jti"));
}

TEST_CASE("A type-2 PKCS#12 in the 3DES format of older tools and one without a password are read",
          "[unit]") {
  CertFixture fx;
  const auto kc = rsa_certificate();
  SECTION("3DES, as Windows and Go's pkcs12 write them") {
    fx.secrets.put(kRef, "certificate", pkcs12_of(kc, "p", NID_pbe_WithSHA1And3_Key_TripleDES_CBC));
    fx.secrets.put(kRef, "password", "p");
  }
  SECTION("no password key and an empty password (upstream read a missing key as empty)") {
    fx.secrets.put(kRef, "certificate", pkcs12_of(kc, ""));
  }
  REQUIRE(fx.fetch().has_value());
  auto jwt = emulator::jwt_parse(form_value(fx.upstream.calls.at(0).body, "client_assertion"));
  REQUIRE(jwt.has_value());
  CHECK(emulator::jwt_verify(*jwt, kc.cert.public_key));
}

TEST_CASE("A type-2 PKCS#12 with the RC2-40 certificate bag of OpenSSL 1.x is read (legacy provider)",
          "[unit]") {
  CertFixture fx;
  const auto kc = rsa_certificate();
  fx.secrets.put(kRef, "certificate", legacy_rc2_pkcs12_of(kc, "old-pass"));
  fx.secrets.put(kRef, "password", "old-pass");
  REQUIRE(fx.fetch().has_value());
  auto jwt = emulator::jwt_parse(form_value(fx.upstream.calls.at(0).body, "client_assertion"));
  REQUIRE(jwt.has_value());
  CHECK(jwt->header_string("x5t") == kc.cert.x5t());
  CHECK(emulator::jwt_verify(*jwt, kc.cert.public_key));

  SECTION("with a wrong password it is still refused, without a token") {
    fx.secrets.put(kRef, "password", "not-it");
    const auto t = fx.fetch();
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error().message.find("wrong password") != std::string::npos);
    CHECK(fx.upstream.calls.size() == 1);
  }
}

TEST_CASE("A type-2 identity with an unusable Secret gets a clear error and AAD is never asked", "[unit]") {
  CertFixture fx;
  const auto kc = rsa_certificate();
  const std::string prefix = "Secret default/sp-secret of identity default/sp";
  auto error_of = [&] {
    auto t = fx.fetch();
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error().message.find("hunter2") == std::string::npos);  // the password is never repeated
    return t.error();
  };

  SECTION("no Secret") {
    const auto e = error_of();
    CHECK(e.code == core::ErrorCode::not_found);
    CHECK(
        e.message ==
        "Reading Secret default/sp-secret of identity default/sp failed: Secret default/sp-secret not found");
  }
  SECTION("no certificate key (a type-1 Secret, say)") {
    fx.secrets.put(kRef, "clientSecret", "hunter2");
    const auto e = error_of();
    CHECK(e.code == core::ErrorCode::invalid);
    CHECK(e.message == prefix + " has no key 'certificate'");
  }
  SECTION("not a PKCS#12 (a PEM, or base64 text of the file)") {
    fx.secrets.put(kRef, "certificate", kc.cert.pem + kc.key.private_pem());
    fx.secrets.put(kRef, "password", "hunter2");
    const auto e = error_of();
    CHECK(e.code == core::ErrorCode::invalid);
    CHECK(e.message == prefix + ", key 'certificate': client certificate: not a PKCS#12 (DER) file");
  }
  SECTION("the wrong password") {
    fx.secrets.put(kRef, "certificate", pkcs12_of(kc, "right"));
    fx.secrets.put(kRef, "password", "hunter2");
    const auto e = error_of();
    CHECK(e.code == core::ErrorCode::invalid);
    CHECK(e.message == prefix +
                           ", key 'certificate': client certificate: cannot open PKCS#12: wrong password "
                           "(integrity check failed)");
  }
  SECTION("a password-protected file and no password key") {
    fx.secrets.put(kRef, "certificate", pkcs12_of(kc, "hunter2"));
    const auto e = error_of();
    CHECK(e.code == core::ErrorCode::invalid);
    CHECK(e.message.find("wrong password") != std::string::npos);
    CHECK(e.message.find("the Secret has no key 'password', so the empty password was tried") !=
          std::string::npos);
  }
  SECTION("a truncated file") {
    const auto der = pkcs12_of(kc, "hunter2");
    fx.secrets.put(kRef, "certificate", der.substr(0, der.size() / 2));
    fx.secrets.put(kRef, "password", "hunter2");
    CHECK(error_of().code == core::ErrorCode::invalid);
  }
  SECTION("an EC key (AAD assertions here are RS256)") {
    auto ca = emulator::CertificateAuthority::generate("ec");
    REQUIRE(ca.has_value());
    fx.secrets.put(kRef, "certificate", pkcs12_of(ca->root(), "hunter2"));
    fx.secrets.put(kRef, "password", "hunter2");
    const auto e = error_of();
    CHECK(e.code == core::ErrorCode::invalid);
    CHECK(e.message == prefix + ", key 'certificate': client certificate: the key must be RSA");
  }
  CHECK(fx.upstream.calls.empty());
}

TEST_CASE("The typed source sends types 1 and 2 to AAD and refuses unknown types", "[unit]") {
  CertFixture fx;
  fx.secrets.put(kRef, "certificate", pkcs12_of(rsa_certificate(), "p"));
  fx.secrets.put(kRef, "password", "p");
  nodeproxy::TypedTokenSource typed(fx.source, fx.source);
  REQUIRE(run_async(fx.io, typed.fetch(TokenRequest{certificate_principal(), "r"})).has_value());
  auto unknown = certificate_principal();
  unknown.type = core::IdentityType::unknown;
  unknown.raw_type = 7;
  auto refused = run_async(fx.io, typed.fetch(TokenRequest{unknown, "r"}));
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == core::ErrorCode::invalid);
  CHECK(fx.upstream.calls.size() == 1);
}
