// Routing of request targets: the table of path spellings that must and must not reach the token
// handler, and what the other routes do (instance metadata, proxied metadata, /host/token, unknown).
#include <catch2/catch.hpp>

#include "nodeproxy/request_target.hpp"
#include "unit/nodeproxy/pipeline_fixture.hpp"

using namespace podid;
using namespace podid::testing;
using nodeproxy::Route;

TEST_CASE("Only the canonical spelling of the token path reaches the token handler", "[unit]") {
  using Row = std::pair<std::string, Route>;
  const auto [target, route] = GENERATE(
      Row{"/metadata/identity/oauth2/token", Route::token},
      Row{"/metadata/identity/oauth2/token?api-version=1&resource=x", Route::token},
      Row{"/metadata/identity\\oauth2\\token", Route::token_spelling},  // CVE-2022-23551
      Row{"/metadata/identity\\oauth2\\token/", Route::token_spelling},
      Row{"/metadata\\identity\\oauth2\\token", Route::token_spelling},
      Row{"//metadata/identity/oauth2/token", Route::token_spelling},
      Row{"/metadata//identity/oauth2/token", Route::token_spelling},
      Row{"/metadata/identity/oauth2//token", Route::token_spelling},
      Row{"/metadata/identity/oauth2/token/", Route::token_spelling},
      Row{"/metadata/identity/oauth2/token/extra", Route::token_spelling},
      Row{"/Metadata/identity/oauth2/token", Route::token_spelling},
      Row{"/METADATA/IDENTITY/OAUTH2/TOKEN", Route::token_spelling},
      Row{"/metadata/Identity/oauth2/token", Route::token_spelling},  // upstream proxied this one
      Row{"/metadata/identity/oauth2/toke%6e", Route::token_spelling},
      Row{"/metadata/identity%2Foauth2%2Ftoken", Route::token_spelling},
      Row{"/metadata/identity%252Foauth2%252Ftoken", Route::token_spelling},  // double encoding
      Row{"/%6Detadata/identity/oauth2/token", Route::token_spelling},
      Row{"/metadata/identity%5Coauth2%5Ctoken", Route::token_spelling},
      Row{"/metadata/./identity/oauth2/token", Route::token_spelling},
      Row{"/metadata/x/../identity/oauth2/token", Route::token_spelling},
      Row{"/metadata/identity/oauth2/token;x", Route::token_spelling},
      Row{"/x/../metadata/identity/oauth2/token", Route::token_spelling},
      Row{"/metadata/identityoauth2token", Route::token_spelling},
      Row{"/metadata/identity/oauth2/token\t", Route::token_spelling},
      Row{"/metadata/instance", Route::instance},
      Row{"/metadata/instance/compute/azEnvironment", Route::instance},
      Row{"/Metadata/Instance/compute", Route::instance}, Row{"/metadata/instance//compute", Route::unclean},
      Row{"/metadata/inst%61nce", Route::unclean}, Row{"/metadata/versions", Route::metadata},
      Row{"/metadata/identity/info", Route::metadata},
      Row{"/metadata/scheduledevents?api-version=2020-07-01", Route::metadata},
      Row{"/metadata/a\\b", Route::unclean}, Row{"/host/token", Route::host_token},
      Row{"/host/token/", Route::host_token}, Row{"/", Route::not_found}, Row{"/healthz", Route::not_found},
      Row{"/metadata", Route::not_found},
      Row{"http://169.254.169.254/metadata/identity/oauth2/token", Route::token_spelling},
      Row{"", Route::unclean});
  INFO(target);
  CHECK(nodeproxy::route_target(target).route == route);
}

TEST_CASE("Disguised token paths get 400 and reach neither the token source nor the IMDS", "[unit]") {
  PipelineFixture fx;
  fx.publish_default();
  const std::string q = "?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net";
  const auto path = GENERATE(as<std::string>{}, "/metadata/identity\\oauth2\\token",
                             "/metadata/identity/oauth2/token/", "/Metadata/identity/oauth2/token",
                             "//metadata/identity/oauth2/token", "/metadata/identity%2Foauth2%2Ftoken");
  INFO(path);
  const auto r = fx.get(path + q);
  CHECK(r.status == 400);
  CHECK(json_field(r, "error_description") == "Non-canonical token path");
  CHECK(fx.imds.calls().empty());
  CHECK(fx.tokens.calls().empty());
}

TEST_CASE("Instance metadata is blocked by default and proxied when allowed", "[unit]") {
  SECTION("blocked") {
    PipelineFixture fx;
    const auto r = fx.get("/metadata/instance?api-version=2021-02-01");
    CHECK(r.status == 403);
    CHECK(json_field(r, "error_description") == "Instance metadata is blocked by the node proxy");
    CHECK(fx.imds.calls().empty());
  }
  SECTION("allowed, under the header rule") {
    nodeproxy::PipelineOptions o;
    o.allow_instance_metadata = true;
    PipelineFixture fx(o);
    CHECK(fx.get("/metadata/instance?api-version=2021-02-01", kPodA, false).status == 400);
    CHECK(fx.imds.calls().empty());
    const auto r = fx.get("/metadata/instance?api-version=2021-02-01");
    CHECK(r.status == 200);
    REQUIRE(fx.imds.calls().size() == 1);
    CHECK(fx.imds.calls()[0].url == "/metadata/instance?api-version=2021-02-01");
  }
}

TEST_CASE("Other metadata paths are relayed under the header rule; the rest is refused", "[unit]") {
  PipelineFixture fx;
  const auto missing = fx.get("/metadata/versions", kPodA, false);
  CHECK(missing.status == 400);
  CHECK(json_field(missing, "error_description") == "Required metadata header not specified");
  const auto relayed = fx.get("/metadata/versions");
  CHECK(relayed.status == 200);
  CHECK(relayed.header("X-Fake-Imds") == "yes");
  CHECK(json_field(relayed, "target") == "/metadata/versions");
  REQUIRE(fx.imds.calls().size() == 1);

  const auto host = fx.get("/host/token/?resource=x");
  CHECK(host.status == 403);
  CHECK(json_field(host, "error_description") == "The host token endpoint is disabled on this node proxy");
  const auto other = fx.get("/latest/meta-data/");
  CHECK(other.status == 404);
  CHECK(json_field(other, "error") == "not_found");
  CHECK(fx.get("/metadata/a\\b").status == 400);
  CHECK(fx.imds.calls().size() == 1);
}

TEST_CASE("Query strings are decoded once, in order", "[unit]") {
  auto q = nodeproxy::parse_query("a=1&b=x%20y&c=p+q&&d&e=%2526");
  REQUIRE(q.has_value());
  REQUIRE(q->size() == 5);
  CHECK(nodeproxy::query_value(*q, "b") == "x y");
  CHECK(nodeproxy::query_value(*q, "c") == "p q");
  CHECK(nodeproxy::query_value(*q, "d") == "");
  CHECK(nodeproxy::query_value(*q, "e") == "%26");
  CHECK_FALSE(nodeproxy::query_value(*q, "A").has_value());
  CHECK_FALSE(nodeproxy::parse_query("a=%2").has_value());
  CHECK_FALSE(nodeproxy::parse_query("a=%g1").has_value());
}
