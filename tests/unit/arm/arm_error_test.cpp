#include "arm/arm_error.hpp"

#include <catch2/catch.hpp>

#include "arm/lro.hpp"

using namespace podid::arm;
using podid::core::ErrorCode;
using podid::http::Response;

namespace {

const std::string kA =
    "/subscriptions/s/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-a";
const std::string kB =
    "/subscriptions/s/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-b";
const std::string kVmss =
    "/subscriptions/s/resourceGroups/nodes/providers/Microsoft.Compute/virtualMachineScaleSets/ss";

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string arm_body(const std::string& code, const std::string& message) {
  return R"({"error":{"code":")" + code + R"(","message":")" + message + R"("}})";
}

}  // namespace

TEST_CASE("ARM error answers are classified by status and keep ARM's code and message", "[unit]") {
  struct Case {
    int status;
    std::string code;
    ErrorCode expected;
  };
  const auto c = GENERATE(Case{404, "ResourceNotFound", ErrorCode::not_found},
                          Case{409, "Conflict", ErrorCode::conflict},
                          Case{429, "SubscriptionRequestsThrottled", ErrorCode::throttled},
                          Case{403, "LinkedAuthorizationFailed", ErrorCode::permission},
                          Case{401, "InvalidAuthenticationToken", ErrorCode::permission},
                          Case{400, "FailedIdentityOperation", ErrorCode::invalid},
                          Case{400, "InvalidParameter", ErrorCode::invalid},
                          Case{500, "InternalServerError", ErrorCode::transient},
                          Case{503, "ServiceUnavailable", ErrorCode::transient});
  const Response r{c.status, {{"Retry-After", "3"}}, arm_body(c.code, "it went wrong")};
  const auto e = arm_error(r, 0, "PATCH vmss/s/rg/ss");
  CHECK(e.code == c.expected);
  CHECK(e.http_status == c.status);
  CHECK(e.message == "PATCH vmss/s/rg/ss: " + c.code + ": it went wrong");
  REQUIRE(e.retry_after);
  CHECK(e.retry_after->count() == 3000);
}

TEST_CASE("The identities ARM blames are read from its quoted lists, whatever the quoting", "[unit]") {
  SECTION("LinkedAuthorizationFailed lists the scopes the caller may not assign") {
    const std::string msg =
        "The client 'x' with object id 'x' has permission to perform action "
        "'Microsoft.Compute/virtualMachineScaleSets/write' on scope '" +
        kVmss +
        "'; however, it does not have permission to perform action(s) "
        "'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' on the linked "
        "scope(s) '" +
        kB + "," + kA + "' (respectively) or the linked scope(s) are invalid.";
    CHECK(named_identities(msg) == std::vector<std::string>{lower(kA), lower(kB)});
  }
  SECTION("FailedIdentityOperation nests quotes around the missing identities") {
    const std::string msg = "Identity operation for resource '" + kVmss +
                            "' failed with error 'Failed to perform resource identity operation. Status: "
                            "'NotFound'. Response: the user assigned identities '" +
                            kA + "' were not found.'.";
    CHECK(named_identities(msg) == std::vector<std::string>{lower(kA)});
  }
  SECTION("messages that name no identity give none") {
    CHECK(named_identities("User Assigned Identities Number '151' Assign exceed limit '150' in one request")
              .empty());
    CHECK(named_identities("no quotes at all").empty());
  }
}

TEST_CASE("A failed operation's error is classified by its ARM code", "[unit]") {
  CHECK(classify_arm_code("LinkedAuthorizationFailed") == ErrorCode::permission);
  CHECK(classify_arm_code("FailedIdentityOperation") == ErrorCode::invalid);
  CHECK(classify_arm_code("Conflict") == ErrorCode::conflict);
  CHECK(classify_arm_code("InternalExecutionError") == ErrorCode::transient);
  const auto e = arm_error_from_body(
      R"({"status":"Failed","error":{"code":"FailedIdentityOperation","message":"m"}})", "PATCH x");
  CHECK(e.code == ErrorCode::invalid);
  CHECK(e.message == "PATCH x: FailedIdentityOperation: m");
}

TEST_CASE("Long-running operations are followed through Azure-AsyncOperation before Location", "[unit]") {
  Response both{200, {{"Location", "https://arm/loc"}, {"Azure-AsyncOperation", "https://arm/async"}}, "{}"};
  const auto t = poll_target(both);
  REQUIRE(t.has_value());
  CHECK(t->url == "https://arm/async");
  CHECK(t->async_operation);
  Response location{202, {{"Location", "https://arm/loc"}}, ""};
  const auto l = poll_target(location);
  REQUIRE(l.has_value());
  CHECK(l->url == "https://arm/loc");
  CHECK_FALSE(l->async_operation);
  CHECK_FALSE(poll_target(Response{200, {}, "{}"}));
}

TEST_CASE("Poll answers say in progress, succeeded or failed", "[unit]") {
  const PollTarget async{"https://arm/async", true};
  const PollTarget loc{"https://arm/loc", false};
  auto running =
      interpret_poll(async, Response{200, {{"Retry-After", "2"}}, R"({"status":"InProgress"})"}, 0, "w");
  CHECK(running.state == PollState::in_progress);
  CHECK(running.retry_after_ms == 2000);
  CHECK(interpret_poll(async, Response{200, {}, R"({"status":"Succeeded"})"}, 0, "w").state ==
        PollState::succeeded);
  auto failed = interpret_poll(
      async,
      Response{200, {}, R"({"status":"Failed","error":{"code":"LinkedAuthorizationFailed","message":"no"}})"},
      0, "w");
  CHECK(failed.state == PollState::failed);
  CHECK(failed.error.code == ErrorCode::permission);
  auto canceled = interpret_poll(async, Response{200, {}, R"({"status":"Canceled"})"}, 0, "w");
  CHECK(canceled.state == PollState::failed);
  CHECK(canceled.error.code == ErrorCode::conflict);
  CHECK(interpret_poll(async, Response{200, {}, "garbage"}, 0, "w").error.code == ErrorCode::transient);
  CHECK(interpret_poll(loc, Response{202, {}, ""}, 0, "w").state == PollState::in_progress);
  CHECK(interpret_poll(loc, Response{200, {}, "{}"}, 0, "w").state == PollState::succeeded);
  CHECK(interpret_poll(loc, Response{204, {}, ""}, 0, "w").state == PollState::succeeded);
  auto gone = interpret_poll(loc, Response{404, {}, arm_body("NotFound", "x")}, 0, "w");
  CHECK(gone.state == PollState::failed);
  CHECK(gone.error.code == ErrorCode::not_found);
}

TEST_CASE("The poll delay follows Retry-After within bounds", "[unit]") {
  CHECK(poll_delay_ms(std::nullopt, 1000, 5000, 60000) == 5000);
  CHECK(poll_delay_ms(0, 1000, 5000, 60000) == 1000);
  CHECK(poll_delay_ms(20000, 1000, 5000, 60000) == 20000);
  CHECK(poll_delay_ms(1'200'000, 1000, 5000, 60000) == 60000);
}
