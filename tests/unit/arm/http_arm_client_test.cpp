#include "arm/http_arm_client.hpp"

#include <catch2/catch.hpp>

#include "core/http/http_client.hpp"
#include "unit/arm/fake_arm_server.hpp"
#include "unit/http/run_async.hpp"

using namespace podid::arm;
using podid::arm::testing::canned;
using podid::core::ErrorCode;
using podid::testing::run_async;

namespace {

const std::string kId =
    "/subscriptions/s/resourcegroups/ids/providers/microsoft.managedidentity/userassignedidentities/a";

struct Fixture {
  Fixture() {
    auto server_or = podid::http::HttpServer::create(io.get_executor(), {}, [this](podid::http::Request r) {
      return fake.handle("http://127.0.0.1:" + std::to_string(server->port()), std::move(r));
    });
    REQUIRE(server_or.has_value());
    server = std::move(*server_or);
    server->start();
    auto client_or = podid::http::HttpClient::create(io.get_executor(), {});
    REQUIRE(client_or.has_value());
    http = std::move(*client_or);
    options.endpoint = "http://127.0.0.1:" + std::to_string(server->port());
    options.poll_min = std::chrono::milliseconds(1);
    options.backoff_base = std::chrono::milliseconds(1);
    options.backoff_max = std::chrono::milliseconds(4);
  }
  ~Fixture() { run_async(io, server->stop()); }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  HttpArmClient& arm() {
    if (!client) client = std::make_unique<HttpArmClient>(*http, tokens, clock, options);
    return *client;
  }
  podid::core::Result<VmIdentities> get() { return run_async(io, arm().get(target)); }
  podid::core::Status patch(IdentityPatch p) { return run_async(io, arm().patch(target, std::move(p))); }

  boost::asio::io_context io;
  podid::arm::testing::FakeArm fake;
  std::unique_ptr<podid::http::HttpServer> server;
  std::unique_ptr<podid::http::HttpClient> http;
  podid::arm::testing::StaticTokenSource tokens;
  podid::core::SystemClock clock;
  ArmClientOptions options;
  std::unique_ptr<HttpArmClient> client;
  podid::core::ArmTarget target{podid::core::VmKind::vm, "s", "rg", "vm"};
};

}  // namespace

TEST_CASE("A PATCH answered with Location only is polled until the operation completes", "[unit]") {
  Fixture f;
  f.fake.polls_until_done = 3;
  REQUIRE(f.patch(IdentityPatch{"UserAssigned", {{kId, true}}}).has_value());
  CHECK(f.fake.polls == 3);
  CHECK(f.arm().counters().polls == 3);
  CHECK(f.arm().counters().writes == 1);
  REQUIRE_FALSE(f.fake.requests.empty());
  const auto& sent = f.fake.requests.front();
  CHECK(sent.method == "PATCH");
  CHECK(sent.url ==
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/"
        "vm?api-version=2019-12-01");
  CHECK(sent.header("Authorization") == "Bearer token-0");
  auto vm = f.get();
  REQUIRE(vm.has_value());
  REQUIRE(vm->user.size() == 1);
  CHECK(vm->user[0].resource_id == kId);
  CHECK(f.arm().throttle("S").remaining(CallKind::read) == 11999);
  CHECK(f.arm().throttle("s").remaining(CallKind::write) == 1199);
}

TEST_CASE("409 and 5xx answers are retried with backoff until one succeeds", "[unit]") {
  Fixture f;
  f.fake.script = {canned(409, "Conflict"), canned(503, "ServiceUnavailable")};
  REQUIRE(f.patch(IdentityPatch{"UserAssigned", {{kId, true}}}).has_value());
  CHECK(f.arm().counters().retries == 2);
  CHECK(f.fake.identities.contains(kId));
}

TEST_CASE("Retries stop after max_retries with the last classified error", "[unit]") {
  Fixture f;
  f.options.max_retries = 1;
  f.fake.script = {canned(409, "Conflict"), canned(409, "Conflict"), canned(409, "Conflict")};
  auto r = f.patch(IdentityPatch{"UserAssigned", {{kId, true}}});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::conflict);
  CHECK(f.fake.requests.size() == 2);
  CHECK(f.fake.script.size() == 1);
}

TEST_CASE("A 429 blocks further writes locally until its Retry-After, reads go on", "[unit]") {
  Fixture f;
  f.fake.script = {canned(429, "SubscriptionRequestsThrottled",
                          {{"Retry-After", "30"}, {"x-ms-ratelimit-remaining-subscription-writes", "0"}})};
  auto first = f.patch(IdentityPatch{"UserAssigned", {{kId, true}}});
  REQUIRE_FALSE(first.has_value());
  CHECK(first.error().code == ErrorCode::throttled);
  REQUIRE(first.error().retry_after);
  CHECK(first.error().retry_after->count() == 30000);
  const auto seen = f.fake.requests.size();
  auto second = f.patch(IdentityPatch{"UserAssigned", {{kId, true}}});
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().code == ErrorCode::throttled);
  CHECK(second.error().retry_after->count() > 28000);
  CHECK(f.fake.requests.size() == seen);  // refused without a call
  CHECK(f.arm().counters().blocked == 1);
  CHECK(f.arm().counters().throttled == 1);
  CHECK(f.get().has_value());  // the read lane is not blocked
}

TEST_CASE("A 401 drops the cached token and retries once", "[unit]") {
  Fixture f;
  f.fake.script = {canned(401, "InvalidAuthenticationToken")};
  REQUIRE(f.get().has_value());
  CHECK(f.tokens.invalidations() == 1);
  CHECK(f.fake.requests.back().header("Authorization") == "Bearer token-1");
  f.fake.script = {canned(401, "InvalidAuthenticationToken"), canned(401, "InvalidAuthenticationToken")};
  auto r = f.get();
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::permission);
}

TEST_CASE("A poll URL outside the ARM endpoint is refused and gets no token", "[unit]") {
  Fixture f;
  f.fake.poll_base = "http://127.0.0.2:1";
  auto r = f.patch(IdentityPatch{"UserAssigned", {{kId, true}}});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::invalid);
  CHECK_THAT(r.error().message, Catch::Contains("outside its endpoint"));
  CHECK(f.arm().counters().polls == 0);
}

TEST_CASE("An operation that never completes ends at the operation deadline", "[unit]") {
  Fixture f;
  f.fake.polls_until_done = 1'000'000;
  f.options.poll_min = std::chrono::milliseconds(20);
  f.options.operation_timeout = std::chrono::milliseconds(300);
  auto r = f.patch(IdentityPatch{"UserAssigned", {{kId, true}}});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::transient);
  CHECK_THAT(r.error().message, Catch::Contains("did not complete before the deadline"));
  CHECK(f.arm().counters().polls >= 2);
}

TEST_CASE("A missing VM is not_found and is not retried", "[unit]") {
  Fixture f;
  f.fake.script = {canned(404, "ResourceNotFound")};
  auto r = f.get();
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::not_found);
  CHECK(f.arm().counters().retries == 0);
}

TEST_CASE("With a metrics registry every ARM request is counted by operation, result and status class",
          "[unit][metrics]") {
  Fixture f;
  podid::core::MetricsRegistry metrics;
  f.options.metrics = &metrics;
  f.fake.polls_until_done = 2;
  f.fake.script = {canned(409, "Conflict")};
  REQUIRE(f.patch(IdentityPatch{"UserAssigned", {{kId, true}}}).has_value());
  f.fake.script = {canned(429, "SubscriptionRequestsThrottled", {{"Retry-After", "30"}})};
  REQUIRE_FALSE(f.patch(IdentityPatch{"UserAssigned", {{kId, true}}}).has_value());
  REQUIRE_FALSE(f.patch(IdentityPatch{"UserAssigned", {{kId, true}}}).has_value());  // refused locally
  REQUIRE(f.get().has_value());
  const auto page = metrics.expose();
  INFO(page);
  const auto has = [&](const std::string& line) {
    return page.find("\n" + line + "\n") != std::string::npos;
  };
  CHECK(has(
      R"(aadpodidentity_arm_requests_total{operation="vm_update",result="conflict",status_class="4xx"} 1)"));
  CHECK(has(R"(aadpodidentity_arm_requests_total{operation="vm_update",result="ok",status_class="2xx"} 1)"));
  CHECK(has(
      R"(aadpodidentity_arm_requests_total{operation="vm_update",result="throttled",status_class="4xx"} 1)"));
  CHECK(has(R"(aadpodidentity_arm_requests_total{operation="vm_poll",result="ok",status_class="2xx"} 2)"));
  CHECK(has(R"(aadpodidentity_arm_requests_total{operation="vm_get",result="ok",status_class="2xx"} 1)"));
  CHECK(has(R"(aadpodidentity_arm_request_duration_seconds_count{operation="vm_update"} 3)"));
  CHECK(has(R"(aadpodidentity_arm_throttled_waits_total{kind="write",reason="retry_after"} 1)"));
}
