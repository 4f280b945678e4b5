// auxiliaryTenantIDs as upstream's NMI used them: a type-1 identity gets one token per auxiliary tenant
// (same client and secret, each tenant's endpoint) and the answer is a JSON array, primary first; type 2
// ignores the list. The cache keys on the list and refreshes when any token of the answer nears expiry;
// type 2 is cached like type 1 (one Secret read and one AAD call per token lifetime).
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "core/k8s_objects.hpp"
#include "nodeproxy/aad_token_source.hpp"
#include "nodeproxy/imds_response.hpp"
#include "nodeproxy/node_snapshot.hpp"
#include "nodeproxy/token_cache.hpp"
#include "unit/nodeproxy/pkcs12_fixture.hpp"
#include "unit/nodeproxy/sources_fixture.hpp"

using namespace podid;
using namespace podid::testing;
using nodeproxy::TokenRequest;

namespace {

const core::SecretRef kRef{"sp-secret", "default"};

// AAD per tenant: the token names the tenant of the endpoint; aux-2's tokens live 1000 s, others 3599 s.
http::Response per_tenant(const http::Request& r) {
  const std::string tenant = r.url.substr(1, r.url.find('/', 1) - 1);
  http::Response res;
  res.status = tenant == "refusing" ? 401 : 200;
  res.body = res.status != 200 ? R"({"error":"invalid_client","error_description":"AADSTS7000215"})"
                               : R"({"access_token":"tok-)" + tenant + R"(","expires_in":")" +
                                     (tenant == "aux-2" ? "1000" : "3599") + R"(","token_type":"Bearer"})";
  return res;
}

nodeproxy::SnapshotIdentity multi_tenant(std::vector<std::string> aux = {"aux-1", "aux-2"}) {
  auto id = service_principal();
  id.auxiliary_tenant_ids = std::move(aux);
  return id;
}

struct AuxFixture : SourcesFixture {
  AuxFixture() {
    upstream.respond = per_tenant;
    secrets.put(kRef, "clientSecret", "s");
  }
  nodeproxy::AadTokenSource source{*client, secrets, upstream.url(), clock, std::chrono::seconds(5)};
  std::vector<std::string> urls() const {
    std::vector<std::string> out;
    for (const auto& c : upstream.calls) out.push_back(c.url);
    return out;
  }
};

}  // namespace

TEST_CASE("A type-1 identity with auxiliary tenants gets a JSON array of tokens, primary first", "[unit]") {
  AuxFixture fx;
  auto t = run_async(fx.io, fx.source.fetch(TokenRequest{multi_tenant(), "https://vault.azure.net"}));
  REQUIRE(t.has_value());
  CHECK(fx.urls() ==
        std::vector<std::string>{"/tenant-1/oauth2/token", "/aux-1/oauth2/token", "/aux-2/oauth2/token"});
  for (const auto& call : fx.upstream.calls)
    CHECK(call.body.find("&client_id=c1&client_secret=s&") != std::string::npos);
  CHECK(fx.secrets.calls().size() == 1);  // one Secret read for all tenants
  CHECK(t->access_token.value() == "tok-tenant-1");
  REQUIRE(t->auxiliary.size() == 2);
  CHECK(t->auxiliary[0].access_token.value() == "tok-aux-1");
  CHECK(t->auxiliary[1].access_token.value() == "tok-aux-2");
  CHECK(nodeproxy::earliest_expiry(*t) == 1'700'000'000 + 1000);

  const auto response = nodeproxy::imds_token(*t, 1'700'000'000);
  CHECK(response.status == 200);
  const auto body = boost::json::parse(response.body);
  REQUIRE(body.is_array());
  REQUIRE(body.as_array().size() == 3);
  const std::vector<std::string> expected{"tok-tenant-1", "tok-aux-1", "tok-aux-2"};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& o = body.as_array()[i].as_object();
    CHECK(o.at("access_token").as_string() == expected[i]);
    CHECK(o.at("client_id").as_string() == "c1");
    CHECK(o.at("resource").as_string() == "https://vault.azure.net");
  }
  CHECK(body.as_array()[2].at("expires_in").as_string() == "1000");

  // Without auxiliary tenants the answer stays one object.
  auto single = run_async(fx.io, fx.source.fetch(TokenRequest{multi_tenant({}), "r"}));
  REQUIRE(single.has_value());
  CHECK(boost::json::parse(nodeproxy::imds_token(*single, 0).body).is_object());
}

TEST_CASE("A refused auxiliary tenant fails the whole request", "[unit]") {
  AuxFixture fx;
  auto t = run_async(fx.io, fx.source.fetch(TokenRequest{multi_tenant({"aux-1", "refusing"}), "r"}));
  REQUIRE_FALSE(t.has_value());
  CHECK(t.error().code == core::ErrorCode::permission);
  CHECK(t.error().message == "Auxiliary tenant refusing: AAD answered 401: AADSTS7000215");
}

TEST_CASE("More than three auxiliary tenants, or an empty one, are refused before the Secret is read",
          "[unit]") {
  AuxFixture fx;
  auto too_many = run_async(fx.io, fx.source.fetch(TokenRequest{multi_tenant({"a", "b", "c", "d"}), "r"}));
  REQUIRE_FALSE(too_many.has_value());
  CHECK(too_many.error().code == core::ErrorCode::invalid);
  CHECK(too_many.error().message == "Identity default/sp lists 4 auxiliary tenants; at most 3 are supported");
  auto empty = run_async(fx.io, fx.source.fetch(TokenRequest{multi_tenant({"a", ""}), "r"}));
  REQUIRE_FALSE(empty.has_value());
  CHECK(empty.error().code == core::ErrorCode::invalid);
  CHECK(fx.secrets.calls().empty());
  CHECK(fx.upstream.calls.empty());
}

TEST_CASE("A type-2 identity ignores auxiliary tenants, as upstream did", "[unit]") {
  AuxFixture fx;
  fx.secrets.put(kRef, "certificate", pkcs12_of(rsa_certificate(), "p"));
  fx.secrets.put(kRef, "password", "p");
  auto id = certificate_principal();
  id.auxiliary_tenant_ids = {"aux-1", "a", "b", "c"};  // not even the limit applies: the list is unused
  auto t = run_async(fx.io, fx.source.fetch(TokenRequest{id, "r"}));
  REQUIRE(t.has_value());
  CHECK(t->auxiliary.empty());
  CHECK(fx.urls() == std::vector<std::string>{"/tenant-1/oauth2/token"});
}

TEST_CASE("The cache keys on auxiliary tenants and refreshes when any token of the answer nears expiry",
          "[unit]") {
  AuxFixture fx;
  nodeproxy::TokenCache cache(fx.source, fx.clock);
  auto fetch = [&](const nodeproxy::SnapshotIdentity& id) {
    return run_async(fx.io, cache.fetch(TokenRequest{id, "r"}));
  };
  REQUIRE(fetch(multi_tenant())->auxiliary.size() == 2);
  REQUIRE(fetch(multi_tenant())->auxiliary.size() == 2);
  CHECK(fx.upstream.calls.size() == 3);
  CHECK(cache.counters().hits == 1);

  // Another list is another answer: never the cached array.
  const auto one_aux = fetch(multi_tenant({"aux-1"}));
  REQUIRE(one_aux.has_value());
  CHECK(one_aux->auxiliary.size() == 1);
  CHECK(fx.upstream.calls.size() == 5);

  fx.clock.advance(701'000);  // aux-2's token has 299 s left: the whole answer is refreshed
  REQUIRE(fetch(multi_tenant()).has_value());
  CHECK(fx.upstream.calls.size() == 8);
}

TEST_CASE("A type-2 token is cached like a type-1 token and dropped when the grant goes", "[unit]") {
  AuxFixture fx;
  fx.secrets.put(kRef, "certificate", pkcs12_of(rsa_certificate(), "p"));
  fx.secrets.put(kRef, "password", "p");
  nodeproxy::TokenCache cache(fx.source, fx.clock);
  const auto id = certificate_principal();
  REQUIRE(run_async(fx.io, cache.fetch(TokenRequest{id, "r"})).has_value());
  REQUIRE(run_async(fx.io, cache.fetch(TokenRequest{id, "r"})).has_value());
  CHECK(fx.upstream.calls.size() == 1);
  CHECK(fx.secrets.calls().size() == 1);
  CHECK(cache.size() == 1);

  nodeproxy::NodeSnapshot still;
  still.pods.push_back(pod("a", kPodA, {id}));
  cache.retain(still);
  CHECK(cache.size() == 1);
  cache.retain(nodeproxy::NodeSnapshot{});
  CHECK(cache.size() == 0);
  REQUIRE(run_async(fx.io, cache.fetch(TokenRequest{id, "r"})).has_value());
  CHECK(fx.upstream.calls.size() == 2);
}

// spec.adEndpoint (types 1 and 2): the AAD authority of one identity, as upstream's NMI used it, but only one
// the node proxy trusts: it sends the identity's secret (or a signed assertion) there.
TEST_CASE("An identity's adEndpoint is used when the node proxy trusts it, and refused otherwise", "[unit]") {
  AuxFixture fx;
  nodeproxy::AadTokenSource trusting{*fx.client,
                                     fx.secrets,
                                     fx.upstream.url(),
                                     fx.clock,
                                     std::chrono::seconds(5),
                                     {fx.upstream.url() + "/Sovereign/"}};
  auto id = service_principal();

  SECTION("a trusted one (any case, trailing slash) gets the request") {
    id.ad_endpoint = fx.upstream.url() + "/sovereign";
    auto t = run_async(fx.io, trusting.fetch(TokenRequest{id, "https://vault.azure.net"}));
    REQUIRE(t.has_value());
    CHECK(fx.urls() == std::vector<std::string>{"/sovereign/tenant-1/oauth2/token"});
  }
  SECTION("the node proxy's own authority, spelled with a trailing slash, is always trusted") {
    id.ad_endpoint = fx.upstream.url() + "/";
    auto t = run_async(fx.io, fx.source.fetch(TokenRequest{id, "https://vault.azure.net"}));
    REQUIRE(t.has_value());
    CHECK(fx.urls() == std::vector<std::string>{"/tenant-1/oauth2/token"});
  }
  SECTION("any other endpoint is refused before the Secret is read: no call, no token") {
    id.ad_endpoint = "https://login.attacker.example/";
    fx.secrets.put(kRef, "clientSecret", "hunter2");
    auto t = run_async(fx.io, trusting.fetch(TokenRequest{id, "https://vault.azure.net"}));
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error().code == core::ErrorCode::permission);
    CHECK(t.error().message.find("does not trust") != std::string::npos);
    CHECK(t.error().message.find("hunter2") == std::string::npos);
    CHECK(fx.upstream.calls.empty());
  }
}

TEST_CASE("adEndpoint is read from the AzureIdentity and carried by the node snapshot", "[unit]") {
  const auto decoded = core::decode_identity(boost::json::parse(R"({
    "apiVersion": "aadpodidentity.k8s.io/v1", "kind": "AzureIdentity",
    "metadata": {"name": "sp", "namespace": "default", "resourceVersion": "7"},
    "spec": {"type": 1, "clientID": "c1", "tenantID": "t1", "adEndpoint": "https://login.chinacloudapi.cn/",
             "clientPassword": {"name": "sp-secret", "namespace": "default"}}})"));
  REQUIRE(decoded.has_value());
  CHECK(decoded->ad_endpoint == "https://login.chinacloudapi.cn/");

  nodeproxy::NodeSnapshot snap;
  snap.node = "n1";
  nodeproxy::SnapshotPod pod;
  pod.key = {"default", "p"};
  auto id = service_principal();
  id.ad_endpoint = decoded->ad_endpoint;
  pod.identities.push_back(id);
  snap.pods.push_back(pod);
  const auto round = nodeproxy::decode_snapshot(nodeproxy::encode_snapshot(snap));
  REQUIRE(round.has_value());
  CHECK(*round == snap);
  CHECK(round->pods.at(0).identities.at(0).ad_endpoint == "https://login.chinacloudapi.cn/");
}
