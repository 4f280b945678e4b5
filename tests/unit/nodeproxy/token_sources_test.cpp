// Token sources against a small loopback server: what they send, how answers and refusals are read, and
// the clear errors for service principals whose Secret is missing or lacks the key.
#include <catch2/catch.hpp>

#include "nodeproxy/aad_token_source.hpp"
#include "nodeproxy/imds_token_source.hpp"
#include "nodeproxy/token_json.hpp"
#include "unit/nodeproxy/sources_fixture.hpp"

using namespace podid;
using namespace podid::testing;
using nodeproxy::TokenRequest;

TEST_CASE("The IMDS source asks with the identity's client ID and the Metadata header", "[unit]") {
  SourcesFixture fx;
  nodeproxy::ImdsTokenSource source(*fx.client, fx.upstream.url(), fx.clock, std::chrono::seconds(5));
  fx.upstream.body =
      R"({"access_token":"abc","expires_in":"86399","expires_on":"1700086399","not_before":"1699999999",
                         "resource":"https://vault.azure.net","token_type":"Bearer","client_id":"c-a"})";
  auto t = run_async(fx.io, source.fetch(TokenRequest{identity("id-a", "c-a"), "https://vault.azure.net"}));
  REQUIRE(t.has_value());
  CHECK(t->access_token.value() == "abc");
  CHECK(t->expires_on == 1700086399);
  CHECK(t->not_before == 1699999999);
  CHECK(t->client_id == "c-a");
  REQUIRE(fx.upstream.calls.size() == 1);
  CHECK(fx.upstream.calls[0].url ==
        "/metadata/identity/oauth2/"
        "token?api-version=2018-02-01&client_id=c-a&resource=https%3A%2F%2Fvault.azure.net");
  CHECK(fx.upstream.calls[0].header("Metadata") == "true");

  fx.upstream.status = 400;
  fx.upstream.body = R"({"error":"invalid_request","error_description":"Identity not found"})";
  auto refused = run_async(fx.io, source.fetch(TokenRequest{identity("id-a", "c-a"), "r"}));
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == core::ErrorCode::permission);
  CHECK(refused.error().message == "IMDS answered 400: Identity not found");

  fx.upstream.status = 429;
  fx.upstream.retry_after = "9";
  auto throttled = run_async(fx.io, source.fetch(TokenRequest{identity("id-a", "c-a"), "r"}));
  REQUIRE_FALSE(throttled.has_value());
  CHECK(throttled.error().code == core::ErrorCode::throttled);
  CHECK(throttled.error().retry_after == std::chrono::seconds(9));
}

TEST_CASE("The AAD source posts client credentials with the Secret's clientSecret", "[unit]") {
  SourcesFixture fx;
  nodeproxy::AadTokenSource source(*fx.client, fx.secrets, fx.upstream.url() + "/", fx.clock,
                                   std::chrono::seconds(5));
  fx.upstream.body = R"({"access_token":"xyz","expires_in":"3599","resource":"r","token_type":"Bearer"})";

  auto missing = run_async(fx.io, source.fetch(TokenRequest{service_principal(), "r"}));
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == core::ErrorCode::not_found);
  CHECK(missing.error().message ==
        "Reading Secret default/sp-secret of identity default/sp failed: Secret default/sp-secret not found");

  fx.secrets.put({"sp-secret", "default"}, "password", "p");
  auto no_key = run_async(fx.io, source.fetch(TokenRequest{service_principal(), "r"}));
  REQUIRE_FALSE(no_key.has_value());
  CHECK(no_key.error().code == core::ErrorCode::invalid);
  CHECK(no_key.error().message ==
        "Secret default/sp-secret of identity default/sp has no key 'clientSecret'");
  CHECK(fx.upstream.calls.empty());

  fx.secrets.put({"sp-secret", "default"}, "clientSecret", "s&cret");
  auto t = run_async(fx.io, source.fetch(TokenRequest{service_principal(), "https://vault.azure.net"}));
  REQUIRE(t.has_value());
  CHECK(t->access_token.value() == "xyz");
  CHECK(t->expires_on == 1'700'000'000 + 3599);
  CHECK(t->client_id == "c1");
  REQUIRE(fx.upstream.calls.size() == 1);
  CHECK(fx.upstream.calls[0].method == "POST");
  CHECK(fx.upstream.calls[0].url == "/tenant-1/oauth2/token");
  CHECK(fx.upstream.calls[0].body ==
        "grant_type=client_credentials&client_id=c1&client_secret=s%26cret&resource=https%3A%2F%2Fvault."
        "azure.net");
  CHECK(fx.secrets.calls().size() == 3);
}

TEST_CASE("Upstream answers are classified once", "[unit]") {
  using nodeproxy::upstream_error;
  CHECK(upstream_error("AAD", 401, R"({"error":"invalid_client"})", "").code == core::ErrorCode::permission);
  CHECK(upstream_error("AAD", 401, R"({"error":"invalid_client"})", "").message ==
        "AAD answered 401: invalid_client");
  CHECK(upstream_error("IMDS", 500, "oops", "").code == core::ErrorCode::transient);
  CHECK(upstream_error("IMDS", 404, "", "").code == core::ErrorCode::transient);
  CHECK(upstream_error("IMDS", 410, "", "").code == core::ErrorCode::transient);
  CHECK(upstream_error("IMDS", 429, "", "x").retry_after == std::nullopt);
  CHECK_FALSE(nodeproxy::parse_token_json("{}", "c", "r", 0).has_value());
  CHECK_FALSE(nodeproxy::parse_token_json(R"({"access_token":"a"})", "c", "r", 0).has_value());
  const auto numeric = nodeproxy::parse_token_json(R"({"access_token":"a","expires_in":60})", "c", "r", 100);
  REQUIRE(numeric.has_value());
  CHECK(numeric->expires_on == 160);
  CHECK(numeric->resource == "r");
}
