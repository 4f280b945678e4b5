#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "arm/client_certificate.hpp"
#include "arm/token_response.hpp"
#include "arm/token_source.hpp"
#include "tests/emulator/crypto.hpp"
#include "tests/emulator/jwt.hpp"

using namespace podid::arm;
using podid::core::ErrorCode;

namespace {

podid::http::Response answer(int status, std::string body, podid::http::Headers headers = {}) {
  return podid::http::Response{status, std::move(headers), std::move(body)};
}

AccessToken token_valid(std::int64_t issued, std::int64_t expires) {
  AccessToken t;
  t.value = podid::core::Secret<std::string>("tok");
  t.issued_ms = issued;
  t.expires_on_ms = expires;
  return t;
}

}  // namespace

TEST_CASE("A cached token is refreshed 5 minutes or 10% of its lifetime before it expires", "[unit]") {
  TokenCache cache;
  CHECK_FALSE(cache.fresh(0));
  const std::int64_t hour = 3600 * 1000;
  cache.store(token_valid(0, hour));
  CHECK(cache.refresh_at_ms() == hour - hour / 10);  // 6 min > 5 min
  CHECK(cache.fresh(hour - hour / 10 - 1));
  CHECK_FALSE(cache.fresh(hour - hour / 10));
  CHECK(cache.usable(hour - 1));  // still good as a fallback while refreshing fails
  CHECK_FALSE(cache.usable(hour));

  const std::int64_t day = 24 * hour;
  cache.store(token_valid(0, day));
  CHECK(cache.refresh_at_ms() == day - day / 10);
  cache.store(token_valid(0, 20 * 60 * 1000));  // 20 min: the 5-minute margin wins
  CHECK(cache.refresh_at_ms() == 15 * 60 * 1000);
  cache.store(token_valid(0, 4 * 60 * 1000));  // shorter than the margin: used for half its life
  CHECK(cache.refresh_at_ms() == 2 * 60 * 1000);
  cache.clear();
  CHECK_FALSE(cache.usable(0));
}

TEST_CASE("Token answers of AAD v1, v2 and IMDS give the token and its expiry", "[unit]") {
  const std::int64_t now = 1'700'000'000'000;
  auto v1 = parse_token_response(
      answer(200,
             R"({"token_type":"Bearer","expires_in":"3599","expires_on":"1700003599","access_token":"a1"})"),
      now, "aad");
  REQUIRE(v1.has_value());
  CHECK(v1->value.value() == "a1");
  CHECK(v1->expires_on_ms == 1'700'003'599'000);
  CHECK(v1->issued_ms == now);
  auto v2 = parse_token_response(
      answer(200, R"({"expires_in":3599,"ext_expires_in":3599,"access_token":"a2"})"), now, "aad");
  REQUIRE(v2.has_value());
  CHECK(v2->expires_on_ms == now + 3'599'000);
  auto bad = parse_token_response(answer(200, R"({"access_token":"a3"})"), now, "imds");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == ErrorCode::transient);
}

TEST_CASE("AAD and IMDS refusals are classified and never echo the request", "[unit]") {
  struct Case {
    int status;
    std::string body;
    ErrorCode code;
    std::string text;
  };
  const auto c = GENERATE(
      Case{
          401,
          R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Trace ID: x Correlation ID: y"})",
          ErrorCode::permission, "AADSTS7000215: Invalid client secret provided."},
      Case{400,
           R"({"error":"unauthorized_client","error_description":"AADSTS700016: Application not found."})",
           ErrorCode::permission, "AADSTS700016"},
      Case{400, R"({"error":"invalid_request","error_description":"AADSTS90002: Tenant 'x' not found."})",
           ErrorCode::invalid, "AADSTS90002"},
      Case{400, R"({"error":"invalid_request","error_description":"Identity not found"})", ErrorCode::invalid,
           "Identity not found"},
      Case{503, R"({"error":"temporarily_unavailable","error_description":"AADSTS90033: try again"})",
           ErrorCode::transient, "AADSTS90033"},
      Case{500, "oops", ErrorCode::transient, "refused"}, Case{429, "{}", ErrorCode::throttled, "refused"});
  auto r = parse_token_response(answer(c.status, c.body, {{"Retry-After", "7"}}), 0, "aad");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == c.code);
  CHECK(r.error().http_status == c.status);
  CHECK_THAT(r.error().message, Catch::Contains(c.text));
  CHECK_THAT(r.error().message, !Catch::Contains("Trace ID"));
  REQUIRE(r.error().retry_after);
  CHECK(r.error().retry_after->count() == 7000);
}

TEST_CASE("Retry-After is read as seconds or as an HTTP date", "[unit]") {
  const std::int64_t now = 784'111'777'000;  // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(parse_retry_after("17", now) == 17000);
  CHECK(parse_retry_after(" 0 ", now) == 0);
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now) == 60000);
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:40:37 GMT", now) == 0);  // in the past: now
  CHECK_FALSE(parse_retry_after("", now));
  CHECK_FALSE(parse_retry_after("soon", now));
}

TEST_CASE("Operation IDs are fresh version-4 UUIDs", "[unit]") {
  const std::string a = new_uuid();
  const std::string b = new_uuid();
  CHECK(a != b);
  REQUIRE(a.size() == 36);
  CHECK(a[14] == '4');
  CHECK(a[8] == '-');
}

TEST_CASE("A certificate's client assertion is an RS256 JWT with x5t that its public key verifies",
          "[unit]") {
  auto kc = podid::emulator::self_signed_rsa("podid-test-sp", 2048);
  REQUIRE(kc.has_value());
  const std::string pem = kc->cert.pem + kc->key.private_pem();
  auto cert = ClientCertificate::load(pem, "");
  REQUIRE(cert.has_value());
  CHECK(cert->x5t() == kc->cert.x5t());
  const std::int64_t now_ms = 1'700'000'000'123;
  auto assertion = cert->assertion("client-1", "https://login/t/oauth2/token", now_ms, "jti-1");
  REQUIRE(assertion.has_value());
  auto jwt = podid::emulator::jwt_parse(*assertion);
  REQUIRE(jwt.has_value());
  CHECK(podid::emulator::jwt_verify(*jwt, kc->cert.public_key));
  CHECK(jwt->header_string("alg") == "RS256");
  CHECK(jwt->header_string("x5t") == kc->cert.x5t());
  CHECK(jwt->claim_string("iss") == "client-1");
  CHECK(jwt->claim_string("sub") == "client-1");
  CHECK(jwt->claim_string("aud") == "https://login/t/oauth2/token");
  CHECK(jwt->claim_string("jti") == "jti-1");
  CHECK(jwt->claim_time("nbf") == 1'700'000'000);
  CHECK(jwt->claim_time("exp") == 1'700'000'600);
}

TEST_CASE("Certificate material that is unusable is refused without revealing the password", "[unit]") {
  auto kc = podid::emulator::self_signed_rsa("podid-test-sp", 2048);
  auto other = podid::emulator::self_signed_rsa("other", 2048);
  REQUIRE(kc.has_value());
  REQUIRE(other.has_value());
  auto no_key = ClientCertificate::load(kc->cert.pem, "hunter2");
  REQUIRE_FALSE(no_key.has_value());
  CHECK(no_key.error().code == ErrorCode::invalid);
  CHECK_THAT(no_key.error().message, !Catch::Contains("hunter2"));
  auto mismatch = ClientCertificate::load(kc->cert.pem + other->key.private_pem(), "");
  REQUIRE_FALSE(mismatch.has_value());
  CHECK_THAT(mismatch.error().message, Catch::Contains("does not match"));
  auto garbage = ClientCertificate::load("not a certificate", "");
  REQUIRE_FALSE(garbage.has_value());
  CHECK_THAT(garbage.error().message, Catch::Contains("neither PEM nor PKCS#12"));
}

TEST_CASE("base64url has no padding and uses the URL alphabet", "[unit]") {
  CHECK(base64url("") == "");
  CHECK(base64url("f") == "Zg");
  CHECK(base64url("fo") == "Zm8");
  CHECK(base64url("foo") == "Zm9v");
  CHECK(base64url("\xfb\xff") == "-_8");
}
