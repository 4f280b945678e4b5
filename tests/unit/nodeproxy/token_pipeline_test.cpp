// The token endpoint through the request pipeline, with a fake snapshot and token source: every status
// code and error body, the caller and identity rules, waiting for an assignment, pass-through.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "unit/nodeproxy/pipeline_fixture.hpp"

using namespace podid;
using namespace podid::testing;
using nodeproxy::NodeSnapshot;

namespace {

void check_error(const http::Response& r, int status, const std::string& error,
                 const std::string& description) {
  INFO(r.body);
  CHECK(r.status == status);
  CHECK(r.header("Content-Type") == "application/json; charset=utf-8");
  CHECK(json_field(r, "error") == error);
  CHECK(json_field(r, "error_description") == description);
}

NodeSnapshot one_pod(std::vector<nodeproxy::SnapshotIdentity> ids, core::Labels labels = {}) {
  NodeSnapshot s;
  s.node = "node-0";
  s.pods.push_back(pod("a", kPodA, std::move(ids), std::move(labels)));
  return s;
}

}  // namespace

TEST_CASE("A pod gets a token for its identity in IMDS's JSON shape", "[unit]") {
  PipelineFixture fx;
  fx.publish_default();
  const auto r = fx.get(PipelineFixture::token_url());
  INFO(r.body);
  REQUIRE(r.status == 200);
  const auto body = boost::json::parse(r.body).as_object();
  for (const char* f : {"access_token", "client_id", "expires_in", "expires_on", "ext_expires_in",
                        "not_before", "refresh_token", "resource", "token_type"}) {
    INFO(f);
    REQUIRE(body.contains(f));
    CHECK(body.at(f).is_string());
  }
  CHECK(body.at("client_id") == kClientA);
  CHECK(body.at("resource") == "https://vault.azure.net");
  CHECK(body.at("token_type") == "Bearer");
  CHECK(body.at("expires_in") == "3600");
  CHECK(body.at("expires_on") == std::to_string(1'700'000'000 + 3600).c_str());
  REQUIRE(fx.tokens.calls().size() == 1);
  CHECK(fx.tokens.calls()[0].identity == "default/id-a");
  CHECK(fx.tokens.calls()[0].client_id == kClientA);
  CHECK(fx.tokens.calls()[0].resource == "https://vault.azure.net");
  CHECK(fx.pipeline->counters().by_status.at(200) == 1);
}

TEST_CASE("The Metadata header is required unless relaxed", "[unit]") {
  SECTION("required") {
    PipelineFixture fx;
    fx.publish_default();
    check_error(fx.get(PipelineFixture::token_url(), kPodA, false), 400, "invalid_request",
                "Required metadata header not specified");
    CHECK(fx.tokens.calls().empty());
  }
  SECTION("relaxed") {
    nodeproxy::PipelineOptions o;
    o.metadata_header_required = false;
    PipelineFixture fx(o);
    fx.publish_default();
    CHECK(fx.get(PipelineFixture::token_url(), kPodA, false).status == 200);
  }
}

TEST_CASE("Malformed token queries get IMDS-style 400s and no token", "[unit]") {
  PipelineFixture fx;
  fx.publish_default();
  const std::string base = "/metadata/identity/oauth2/token?";
  using Row = std::pair<std::string, std::string>;
  const auto [query, description] = GENERATE(
      Row{"resource=https%3A%2F%2Fvault.azure.net", "Required query variable 'api-version' is missing"},
      Row{"api-version=2018-02-01", "Required query variable 'resource' is missing"},
      Row{"api-version=2018-02-01&resource=", "Required query variable 'resource' is missing"},
      Row{"api-version=2018-02-01&resource=r&client_id=a&msi_res_id=b",
          "Only one of client_id, object_id, msi_res_id and mi_res_id may be specified"},
      Row{"api-version=2018-02-01&resource=r&object_id=a&mi_res_id=b",
          "Only one of client_id, object_id, msi_res_id and mi_res_id may be specified"},
      Row{"api-version=2018-02-01&resource=r&client_id=", "Query parameter 'client_id' is empty"},
      Row{"api-version=2018-02-01&resource=r&client_id=a&client_id=b",
          "Query parameter 'client_id' is given more than once"},
      Row{"api-version=2018-02-01&resource=a&resource=b",
          "Query parameter 'resource' is given more than once"},
      Row{"api-version=2018-02-01&resource=%zz", "Malformed percent-encoding in the query"});
  INFO(query);
  check_error(fx.get(base + query), 400, "invalid_request", description);
  CHECK(fx.tokens.calls().empty());
}

TEST_CASE("Only GET is allowed on the token endpoint", "[unit]") {
  PipelineFixture fx;
  fx.publish_default();
  const auto r = fx.get(PipelineFixture::token_url(), kPodA, true, "POST");
  check_error(r, 405, "invalid_request", "Only GET is supported");
  CHECK(r.header("Allow") == "GET");
}

TEST_CASE("Unknown callers and shared pod IPs are refused at once", "[unit]") {
  PipelineFixture fx;
  NodeSnapshot s = one_pod({identity("id-a", kClientA)});
  fx.source.publish(s);
  check_error(fx.get(PipelineFixture::token_url(), "10.1.0.99"), 403, "access_denied",
              "No pod on node node-0 has the caller's address 10.1.0.99");
  s.pods.push_back(pod("twin", kPodA, {identity("id-b", kClientB)}));
  fx.source.publish(s);
  check_error(fx.get(PipelineFixture::token_url()), 403, "access_denied",
              "Pods default/a, default/twin share the caller's address 10.1.0.5; refusing to choose");
  CHECK(fx.tokens.calls().empty());

  s.pods.back().phase = "Succeeded";  // a finished pod's IP is free again
  fx.source.publish(s);
  CHECK(fx.get(PipelineFixture::token_url()).status == 200);
  REQUIRE(fx.tokens.calls().size() == 1);
  CHECK(fx.tokens.calls()[0].identity == "default/id-a");
}

TEST_CASE("A named identity must be one the pod may use", "[unit]") {
  PipelineFixture fx;
  fx.publish_default();
  const auto a = identity("id-a", kClientA);
  const auto b = identity("id-b", kClientB);
  SECTION("another identity is never served") {
    for (const auto& sel :
         std::vector<std::string>{"&client_id=" + b.client_id, "&object_id=" + b.principal_id,
                                  "&msi_res_id=" + b.resource_id, "&mi_res_id=" + b.resource_id}) {
      INFO(sel);
      check_error(fx.get(PipelineFixture::token_url(sel)), 400, "invalid_request", "Identity not found");
    }
    CHECK(fx.tokens.calls().empty());
  }
  SECTION("its own identity is found by any selector, in any case") {
    for (const auto& sel : std::vector<std::string>{
             "&client_id=" + core::to_lower(a.client_id),
             std::string("&client_id=AAAAAAAA-0000-0000-0000-00000000000A"), "&object_id=" + a.principal_id,
             "&msi_res_id=" + core::to_lower(a.resource_id), "&mi_res_id=" + a.resource_id}) {
      INFO(sel);
      CHECK(fx.get(PipelineFixture::token_url(sel)).status == 200);
    }
    REQUIRE(fx.tokens.calls().size() == 5);
    for (const auto& c : fx.tokens.calls()) CHECK(c.client_id == kClientA);
  }
}

TEST_CASE("With no identity named, the pod's first identity by namespace and name is used", "[unit]") {
  PipelineFixture fx;
  auto second = identity("id-b", kClientB);
  auto first = identity("id-a", kClientA);
  fx.source.publish(one_pod({second, first}));
  for (int i = 0; i < 3; ++i) REQUIRE(fx.get(PipelineFixture::token_url()).status == 200);
  for (const auto& c : fx.tokens.calls()) CHECK(c.identity == "default/id-a");

  fx.source.publish(one_pod({}));
  check_error(fx.get(PipelineFixture::token_url()), 400, "invalid_request", "Identity not found");
}

TEST_CASE("An identity still being assigned is waited for, then answered 503 with Retry-After", "[unit]") {
  nodeproxy::PipelineOptions o;
  o.assignment_wait = std::chrono::milliseconds(50);
  o.retry_after = std::chrono::seconds(7);
  PipelineFixture fx(o);
  fx.source.publish(one_pod({identity("id-a", kClientA, core::Phase::created)}));
  const auto r = fx.get(PipelineFixture::token_url());
  check_error(r, 503, "temporarily_unavailable",
              "Identity default/id-a is still being assigned to this node");
  CHECK(r.header("Retry-After") == "7");
  CHECK(fx.tokens.calls().empty());

  auto retry = identity("id-a", kClientA, core::Phase::retry_scheduled);
  retry.reason = "ARM answered 429";
  fx.source.publish(one_pod({retry}));
  check_error(fx.get(PipelineFixture::token_url()), 503, "temporarily_unavailable",
              "Identity default/id-a could not be assigned yet and will be retried: ARM answered 429");
}

namespace {

// Publishes `next` as soon as a request waits for a change.
boost::asio::awaitable<void> publish_when_waiting(PipelineFixture& fx, NodeSnapshot next) {
  while (fx.changes->waiting() == 0) co_await boost::asio::post(fx.io, boost::asio::use_awaitable);
  fx.source.publish(std::move(next));
}

}  // namespace

TEST_CASE("A request waiting for an assignment gets its token when the snapshot says Assigned", "[unit]") {
  nodeproxy::PipelineOptions o;
  o.assignment_wait = std::chrono::seconds(10);
  PipelineFixture fx(o);
  fx.source.publish(one_pod({identity("id-a", kClientA, core::Phase::created)}));
  boost::asio::co_spawn(fx.io, publish_when_waiting(fx, one_pod({identity("id-a", kClientA)})),
                        boost::asio::detached);
  const auto started = std::chrono::steady_clock::now();
  const auto r = fx.get(PipelineFixture::token_url());
  CHECK(r.status == 200);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  CHECK(fx.tokens.calls().size() == 1);
  CHECK(fx.changes->waiting() == 0);
}

TEST_CASE("Quarantined, unknown-type and pre-1.5 identities", "[unit]") {
  PipelineFixture fx;
  auto q = identity("id-a", kClientA, core::Phase::quarantined);
  q.reason = "invalid resource ID";
  fx.source.publish(one_pod({q}));
  check_error(fx.get(PipelineFixture::token_url()), 403, "access_denied",
              "Identity default/id-a cannot be assigned: invalid resource ID");

  auto unknown = identity("id-a", kClientA);
  unknown.type = core::IdentityType::unknown;
  unknown.raw_type = 7;
  fx.source.publish(one_pod({unknown}));
  check_error(fx.get(PipelineFixture::token_url()), 403, "access_denied",
              "Identity default/id-a has unsupported type 7");
  CHECK(fx.tokens.calls().empty());

  fx.source.publish(one_pod({identity("id-a", kClientA, std::nullopt)}));  // empty status: served
  CHECK(fx.get(PipelineFixture::token_url()).status == 200);
}

TEST_CASE("Upstream failures map to 429, 503 and 403", "[unit]") {
  PipelineFixture fx;
  fx.publish_default();
  auto throttled = core::make_error(core::ErrorCode::throttled, "IMDS answered 429");
  throttled.retry_after = std::chrono::seconds(3);
  fx.tokens.fail(kClientA, throttled);
  auto r = fx.get(PipelineFixture::token_url());
  check_error(r, 429, "too_many_requests", "IMDS answered 429");
  CHECK(r.header("Retry-After") == "3");

  fx.tokens.fail(kClientA, core::make_error(core::ErrorCode::transient, "IMDS answered 500"));
  r = fx.get(PipelineFixture::token_url());
  check_error(r, 503, "temporarily_unavailable", "IMDS answered 500");
  CHECK(r.header("Retry-After") == "5");

  fx.tokens.fail(kClientA,
                 core::make_error(core::ErrorCode::permission, "IMDS answered 400: Identity not found"));
  check_error(fx.get(PipelineFixture::token_url()), 403, "access_denied",
              "IMDS answered 400: Identity not found");
}

TEST_CASE("An exception pod passes through to the node's IMDS unchanged", "[unit]") {
  PipelineFixture fx;
  NodeSnapshot s = one_pod({identity("id-a", kClientA)}, {{"app", "Kube-Proxy"}});
  s.exceptions.push_back({{"default", "ex"}, {{"app", "kube-proxy"}}, "1"});
  fx.source.publish(s);
  const std::string target = PipelineFixture::token_url("&client_id=whatever");
  const auto r = fx.get(target);
  CHECK(r.status == 200);
  CHECK(r.header("X-Fake-Imds") == "yes");
  REQUIRE(fx.imds.calls().size() == 1);
  CHECK(fx.imds.calls()[0].url == target);
  CHECK(fx.imds.calls()[0].header("Metadata") == "true");
  CHECK(fx.tokens.calls().empty());

  s.exceptions[0].key.ns = "other";  // an exception of another namespace does not apply
  fx.source.publish(s);
  CHECK(fx.get(target).status == 400);
  CHECK(fx.imds.calls().size() == 1);
}

TEST_CASE("Every request is logged once, and tokens never are", "[unit]") {
  PipelineFixture fx;
  fx.publish_default();
  const auto r = fx.get(PipelineFixture::token_url());
  REQUIRE(r.status == 200);
  (void)fx.get(PipelineFixture::token_url(), "10.9.9.9");
  const std::string token = json_field(r, "access_token");
  REQUIRE(token.rfind("tok-", 0) == 0);
  REQUIRE(fx.sink.lines().size() == 2);
  for (const auto& line : fx.sink.lines()) CHECK(line.find(token) == std::string::npos);
  const auto first = boost::json::parse(fx.sink.lines()[0]).as_object();
  CHECK(first.at("pod") == "default/a");
  CHECK(first.at("identity") == "default/id-a");
  CHECK(first.at("clientId") == kClientA);
  CHECK(first.at("status") == 200);
  CHECK(first.at("outcome") == "token");
  const auto second = boost::json::parse(fx.sink.lines()[1]).as_object();
  CHECK(second.at("status") == 403);
  CHECK(second.at("caller") == "10.9.9.9");
}
