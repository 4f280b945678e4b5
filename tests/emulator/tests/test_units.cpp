// Unit tests of the emulator's building blocks: encodings, signatures, certificates, token buckets, faults.
#include <catch2/catch.hpp>

#include "tests/emulator/crypto.hpp"
#include "tests/emulator/jwt.hpp"
#include "tests/emulator/traffic.hpp"

using namespace podid::emulator;
using namespace std::chrono_literals;

TEST_CASE("base64url round-trips every length without padding", "[unit]") {
  for (std::size_t n = 0; n < 40; ++n) {
    const std::string raw = random_bytes(n);
    const std::string text = base64url_encode(raw);
    CHECK(text.find_first_of("+/=") == std::string::npos);
    const auto back = base64url_decode(text);
    REQUIRE(back.has_value());
    CHECK(*back == raw);
  }
  CHECK_FALSE(base64url_decode("a"));
  CHECK_FALSE(base64url_decode("ab+c"));
}

TEST_CASE("A signed JWT verifies with the public JWK and not after tampering", "[unit]") {
  const auto key = Key::generate_rsa(2048);
  REQUIRE(key.has_value());
  const auto alg = GENERATE(SignatureAlg::rs256, SignatureAlg::ps256);
  const auto token =
      jwt_sign(*key, alg, boost::json::object{{"kid", "k"}}, boost::json::object{{"sub", "me"}});
  REQUIRE(token.has_value());
  const auto pub =
      Key::from_rsa_jwk(base64url_encode(key->rsa_modulus()), base64url_encode(key->rsa_exponent()));
  REQUIRE(pub.has_value());
  auto jwt = jwt_parse(*token);
  REQUIRE(jwt.has_value());
  CHECK(jwt->claim_string("sub") == "me");
  CHECK(jwt_verify(*jwt, *pub));
  jwt->signing_input += "x";
  CHECK_FALSE(jwt_verify(*jwt, *pub));
  CHECK_FALSE(jwt_parse("a.b").has_value());
}

TEST_CASE("A server certificate names its SANs and chains to the CA", "[unit]") {
  const auto ca = CertificateAuthority::generate("test CA");
  REQUIRE(ca.has_value());
  const auto server = ca->issue_server("server", {"127.0.0.1", "localhost", "10.0.0.1"});
  REQUIRE(server.has_value());
  const auto parsed = Certificate::from_pem(server->cert.pem);
  REQUIRE(parsed.has_value());
  CHECK(parsed->der == server->cert.der);
  CHECK(parsed->x5t() != parsed->x5t_s256());
  CHECK(base64url_decode(parsed->x5t())->size() == 20);
}

TEST_CASE("A token bucket spends its burst, refills at its rate and says when to retry", "[unit]") {
  const auto t0 = std::chrono::steady_clock::now();
  TokenBucket bucket(Budget{2, 1}, t0);
  CHECK(bucket.take(t0).allowed);
  CHECK(bucket.take(t0).remaining == 0);
  const auto refused = bucket.take(t0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after == 1s);
  CHECK(bucket.take(t0 + 1s).allowed);
  CHECK_FALSE(bucket.take(t0 + 1s).allowed);
  CHECK(bucket.remaining(t0 + 10s) == 2);
}

TEST_CASE("Faults apply to their operation for their count, in order", "[unit]") {
  FaultInjector faults;
  faults.add(Fault{"arm.vm.get", 500, 2, false, 1s});
  faults.add(Fault{"*", 429, 1, false, 1s});
  CHECK(faults.next("arm.vmss.get")->status == 429);
  CHECK_FALSE(faults.next("arm.vmss.get"));
  CHECK(faults.next("arm.vm.get")->status == 500);
  CHECK(faults.next("arm.vm.get")->status == 500);
  CHECK_FALSE(faults.next("arm.vm.get"));
}
