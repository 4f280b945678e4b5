// The node proxy's instrumentation (requests through the pipeline move the right series) and managed mode's
// object_id lookups (the token IMDS issues by object ID is handed out only to a pod that may use it).
#include <catch2/catch.hpp>

#include "nodeproxy/interception_loop.hpp"
#include "nodeproxy/object_id_claims.hpp"
#include "nodeproxy/replica.hpp"
#include "unit/nodeproxy/pipeline_fixture.hpp"

using namespace podid;
using namespace podid::testing;

namespace {

double token_requests(PipelineFixture& f, const std::string& result, const std::string& type) {
  return f.registry.counter("aadpodidentity_nmi_token_requests_total", "", {"result", "identity_type"})
      .with({result, type})
      .value();
}

// A managed-mode node: pod a may use id-a; id-b (on the VM too) belongs to pod b. No principal IDs.
void publish_managed(PipelineFixture& f) {
  nodeproxy::NodeSnapshot s;
  s.node = "node-0";
  s.mode = core::Mode::managed;
  auto a = identity("id-a", kClientA);
  auto b = identity("id-b", kClientB);
  a.principal_id.clear();
  b.principal_id.clear();
  s.pods.push_back(pod("a", kPodA, {a}));
  s.pods.push_back(pod("b", "10.1.0.6", {b}));
  f.source.publish(s);
  f.object_ids.add("0b1ec700-a", R"({"oid":"0b1ec700-a","appid":")" + std::string(kClientA) +
                                     R"(","xms_mirid":")" + a.resource_id + R"("})");
  f.object_ids.add("0b1ec700-b", R"({"oid":"0b1ec700-b","appid":")" + std::string(kClientB) +
                                     R"(","xms_mirid":")" + b.resource_id + R"("})");
}

}  // namespace

TEST_CASE("An issued token counts as issued for its identity type, a refusal as denied", "[unit]") {
  PipelineFixture f;
  f.publish_default();
  REQUIRE(f.get(PipelineFixture::token_url()).status == 200);
  CHECK(token_requests(f, "issued", "user_assigned_msi") == 1);
  CHECK(token_requests(f, "denied", "none") == 0);

  REQUIRE(f.get(PipelineFixture::token_url(), "10.9.9.9").status == 403);  // no such pod
  CHECK(token_requests(f, "denied", "none") == 1);
  REQUIRE(f.get(PipelineFixture::token_url(), kPodA, false).status == 400);  // no Metadata header
  CHECK(token_requests(f, "bad_request", "none") == 1);
  f.tokens.fail(kClientA, core::make_error(core::ErrorCode::transient, "IMDS down"));
  REQUIRE(f.get(PipelineFixture::token_url("&client_id=" + std::string(kClientA))).status == 503);
  CHECK(token_requests(f, "upstream_error", "user_assigned_msi") == 1);
  CHECK(token_requests(f, "issued", "user_assigned_msi") == 1);

  const auto text = f.registry.expose();
  CHECK(text.find("aadpodidentity_nmi_token_request_duration_seconds_count{result=\"issued\"} 1") !=
        std::string::npos);
  // The original's per-request histogram: canonical path, status, pod namespace, resource of issued tokens.
  CHECK(text.find(
            "aadpodidentity_nmi_operations_duration_seconds_count{operation_type=\"/metadata/identity/"
            "oauth2/token\",status_code=\"200\",namespace=\"default\",resource=\"https://vault.azure.net\"} "
            "1") != std::string::npos);
  CHECK(text.find("status_code=\"403\",namespace=\"\",resource=\"\"} 1") != std::string::npos);
}

TEST_CASE("An identity still being assigned counts as not_ready", "[unit]") {
  nodeproxy::PipelineOptions o;
  o.assignment_wait = std::chrono::milliseconds(0);
  PipelineFixture f(o);
  nodeproxy::NodeSnapshot s;
  s.pods.push_back(pod("a", kPodA, {identity("id-a", kClientA, core::Phase::created)}));
  f.source.publish(s);
  REQUIRE(f.get(PipelineFixture::token_url()).status == 503);
  CHECK(token_requests(f, "not_ready", "user_assigned_msi") == 1);
}

TEST_CASE("State counters are copied in before a scrape, counters by their growth", "[unit]") {
  core::MetricsRegistry registry;
  nodeproxy::NodeProxyMetrics metrics(registry);
  nodeproxy::TokenCacheCounters cache{.hits = 3, .misses = 2};
  nodeproxy::ReplicaCounters replica{.resyncs = 1, .gaps = 2, .seq = 42, .synced = true};
  nodeproxy::InterceptionCounters rules{.changes = 1, .failures = 4};
  metrics.update({&cache, &replica, &rules, true});
  cache.hits = 5;
  metrics.update({&cache, &replica, &rules, true});
  const auto text = registry.expose();
  CHECK(text.find("aadpodidentity_nmi_token_cache_requests_total{result=\"hit\"} 5\n") != std::string::npos);
  CHECK(text.find("aadpodidentity_nmi_token_cache_requests_total{result=\"miss\"} 2\n") != std::string::npos);
  CHECK(text.find("aadpodidentity_nmi_replica_synced 1\n") != std::string::npos);
  CHECK(text.find("aadpodidentity_nmi_replica_seq 42\n") != std::string::npos);
  CHECK(text.find("aadpodidentity_nmi_replica_gaps_total 2\n") != std::string::npos);
  CHECK(text.find("aadpodidentity_nmi_interception_failures_total 4\n") != std::string::npos);
  CHECK(text.find("aadpodidentity_nmi_ready 1\n") != std::string::npos);

  http::Request get;
  get.url = "/metrics";
  CHECK(nodeproxy::metrics_page(registry, get).body == text);
  get.url = "/metadata/identity/oauth2/token";
  CHECK(nodeproxy::metrics_page(registry, get).status == 404);
}

TEST_CASE("A token's claims are read from its payload, base64url without padding", "[unit]") {
  const auto jwt = FakeObjectIdImds::base64url("{}") + "." +
                   FakeObjectIdImds::base64url(R"({"oid":"o-1","appid":"c-1","xms_mirid":"/sub/x?"})") + ".s";
  auto claims = nodeproxy::decode_token_claims(jwt);
  REQUIRE(claims.has_value());
  CHECK(claims->oid == "o-1");
  CHECK(claims->appid == "c-1");
  CHECK(claims->xms_mirid == "/sub/x?");
  CHECK_FALSE(nodeproxy::decode_token_claims("not-a-jwt").has_value());
  CHECK_FALSE(nodeproxy::decode_token_claims("a.!!!.c").has_value());
}

TEST_CASE("Claims name a pod's identity only with the requested oid and no contradiction", "[unit]") {
  auto a = identity("id-a", kClientA);
  a.principal_id.clear();  // managed mode: unknown
  const auto p = pod("a", kPodA, {a});
  using C = nodeproxy::TokenClaims;
  CHECK(nodeproxy::identity_for_claims(p, C{"0b1ec700-id-a", kClientA, ""}, "0B1EC700-ID-A") ==
        &p.identities[0]);
  CHECK(nodeproxy::identity_for_claims(p, C{"o", "", a.resource_id}, "o") != nullptr);
  CHECK(nodeproxy::identity_for_claims(p, C{"other", kClientA, ""}, "o") == nullptr);  // oid differs
  CHECK(nodeproxy::identity_for_claims(p, C{"o", kClientB, ""}, "o") == nullptr);      // another's client
  CHECK(nodeproxy::identity_for_claims(p, C{"o", kClientA, "/other/id"}, "o") == nullptr);  // contradiction
  CHECK(nodeproxy::identity_for_claims(p, C{"o", "", ""}, "o") == nullptr);
}

TEST_CASE("Managed mode: an object_id is resolved through IMDS and served only to its pod", "[unit]") {
  PipelineFixture f;
  publish_managed(f);
  SECTION("the pod's own identity by object ID gets IMDS's token, as that identity, never cached") {
    auto r = f.get(PipelineFixture::token_url("&object_id=0b1ec700-a"));
    REQUIRE(r.status == 200);
    CHECK(json_field(r, "client_id") == kClientA);
    CHECK(json_field(r, "access_token").find(".sig") != std::string::npos);
    CHECK(f.object_ids.calls() == std::vector<std::string>{"0b1ec700-a"});
    CHECK(f.tokens.calls().empty());  // the cached path was not used
    CHECK(token_requests(f, "issued", "user_assigned_msi") == 1);
  }
  SECTION("another pod's identity on the same VM is refused and its token discarded") {
    auto r = f.get(PipelineFixture::token_url("&object_id=0b1ec700-b"));
    CHECK(r.status == 400);
    CHECK(json_field(r, "error_description") == "Identity not found");
    CHECK(r.body.find(".sig") == std::string::npos);
    CHECK(f.object_ids.calls().size() == 1);
    CHECK(token_requests(f, "denied", "none") == 1);
  }
  SECTION("an object ID IMDS does not know is IMDS's own refusal") {
    CHECK(f.get(PipelineFixture::token_url("&object_id=unknown")).status == 400);
  }
  SECTION("a pod without identities never makes IMDS look") {
    auto s = *f.source.current();
    s.pods.push_back(pod("n", "10.1.0.7", {}));
    f.source.publish(s);
    CHECK(f.get(PipelineFixture::token_url("&object_id=0b1ec700-a"), "10.1.0.7").status == 400);
    CHECK(f.object_ids.calls().empty());
  }
}

TEST_CASE("Standard mode never asks IMDS about an object_id the snapshot cannot match", "[unit]") {
  PipelineFixture f;
  publish_managed(f);
  auto s = *f.source.current();
  s.mode = core::Mode::standard;
  f.source.publish(s);
  CHECK(f.get(PipelineFixture::token_url("&object_id=0b1ec700-a")).status == 400);
  CHECK(f.object_ids.calls().empty());
}
