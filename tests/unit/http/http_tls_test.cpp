// HttpClient against HttpServer over TLS with a CA generated in the test: trust, host-name verification,
// SNI names, and mutual TLS.
#include <catch2/catch.hpp>

#include "unit/http/http_server_fixture.hpp"
#include "unit/http/test_pki.hpp"

using podid::core::ErrorCode;
using podid::testing::run_async;
using podid::testing::send;
using podid::testing::ServerFixture;
using podid::testing::TestPki;
namespace http = podid::http;

namespace {

http::ServerOptions tls_server(const podid::testing::CertKey& leaf) {
  http::ServerOptions options;
  options.tls = http::TlsServerConfig{};
  options.tls->cert.data = leaf.cert_pem;
  options.tls->key.data = leaf.key_pem;
  return options;
}

http::ClientOptions trusting(const TestPki& pki) {
  http::ClientOptions options;
  options.tls.ca.data = pki.ca().cert_pem;
  return options;
}

}  // namespace

TEST_CASE("A TLS client trusts a server whose certificate carries the connected IP", "[unit]") {
  TestPki pki;
  ServerFixture fx{tls_server(pki.issue("apiserver", {"localhost"}, {"127.0.0.1"}))};
  auto client = fx.client(trusting(pki));
  auto res = run_async(fx.io, send(*client, "GET", fx.base("https") + "/secure"));
  REQUIRE(res.has_value());
  CHECK(res->status == 200);
  CHECK(res->body == "GET /secure probe-value ");
}

TEST_CASE("A TLS client verifies a DNS name given as server_name", "[unit]") {
  TestPki pki;
  ServerFixture fx{tls_server(pki.issue("apiserver", {"kubernetes.default.svc"}, {}))};
  auto options = trusting(pki);
  options.tls.server_name = "kubernetes.default.svc";
  auto client = fx.client(options);
  auto res = run_async(fx.io, send(*client, "GET", fx.base("https") + "/named"));
  REQUIRE(res.has_value());
  CHECK(res->status == 200);
}

TEST_CASE("A TLS client refuses a certificate issued for another host name", "[unit]") {
  TestPki pki;
  ServerFixture fx{tls_server(pki.issue("impostor", {"other.example"}, {"10.9.8.7"}))};
  auto client = fx.client(trusting(pki));
  SECTION("connecting by IP") {
    auto res = run_async(fx.io, send(*client, "GET", fx.base("https") + "/"));
    REQUIRE_FALSE(res.has_value());
    CHECK(res.error().code == ErrorCode::permission);
  }
  SECTION("connecting by a DNS name") {
    auto res = run_async(fx.io, send(*client, "GET", fx.base("https", "localhost") + "/"));
    REQUIRE_FALSE(res.has_value());
    CHECK(res.error().code == ErrorCode::permission);
  }
  CHECK(fx.server->counters().requests == 0);
}

TEST_CASE("A TLS client refuses a server signed by an untrusted CA", "[unit]") {
  TestPki pki;
  TestPki stranger{"stranger-ca"};
  ServerFixture fx{tls_server(stranger.issue("apiserver", {"localhost"}, {"127.0.0.1"}))};
  auto client = fx.client(trusting(pki));
  auto res = run_async(fx.io, send(*client, "GET", fx.base("https") + "/"));
  REQUIRE_FALSE(res.has_value());
  CHECK(res.error().code == ErrorCode::permission);
}

TEST_CASE("insecure_skip_verify connects to an unverifiable server", "[unit]") {
  TestPki stranger{"stranger-ca"};
  ServerFixture fx{tls_server(stranger.issue("apiserver", {"other.example"}, {}))};
  http::ClientOptions options;
  options.tls.insecure_skip_verify = true;
  auto client = fx.client(options);
  auto res = run_async(fx.io, send(*client, "GET", fx.base("https") + "/"));
  REQUIRE(res.has_value());
  CHECK(res->status == 200);
}

TEST_CASE("A server requiring client certificates admits only clients with one from its CA", "[unit]") {
  TestPki pki;
  auto options = tls_server(pki.issue("apiserver", {}, {"127.0.0.1"}));
  options.tls->client_ca.data = pki.ca().cert_pem;
  ServerFixture fx{options};
  SECTION("without a client certificate") {
    auto client = fx.client(trusting(pki));
    auto res = run_async(fx.io, send(*client, "GET", fx.base("https") + "/"));
    REQUIRE_FALSE(res.has_value());
    CHECK(fx.server->counters().requests == 0);
  }
  SECTION("with a client certificate") {
    const auto admin = pki.issue("admin", {}, {});
    auto client_options = trusting(pki);
    client_options.tls.client_cert.data = admin.cert_pem;
    client_options.tls.client_key.data = admin.key_pem;
    auto client = fx.client(client_options);
    auto res = run_async(fx.io, send(*client, "GET", fx.base("https") + "/mtls"));
    REQUIRE(res.has_value());
    CHECK(res->status == 200);
    CHECK(fx.server->counters().requests == 1);
  }
}

TEST_CASE("Unreadable TLS material is refused when the client is created", "[unit]") {
  boost::asio::io_context io;
  http::ClientOptions options;
  options.tls.ca.file = "/nonexistent/ca.crt";
  auto created = http::HttpClient::create(io.get_executor(), options);
  REQUIRE_FALSE(created.has_value());
  CHECK(created.error().code == ErrorCode::io);
  options.tls.ca = {};
  options.tls.client_cert.data = "not a certificate";
  options.tls.client_key.data = "not a key";
  created = http::HttpClient::create(io.get_executor(), options);
  REQUIRE_FALSE(created.has_value());
  CHECK(created.error().code == ErrorCode::invalid);
}
