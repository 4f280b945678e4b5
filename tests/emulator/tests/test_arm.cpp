// ARM: authentication, api-version, identities, the identity PATCH with its long-running operation and
// Azure's refusals, one update at a time per scale set, throttling and fault injection.
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "tests/emulator/tests/test_client.hpp"

using namespace podid::emulator;
using namespace podid::emulator::testing;
using namespace std::chrono_literals;

namespace {

constexpr const char* kApi = "?api-version=2024-07-01";

struct Arm {
  explicit Arm(EmulatorConfig config = small_cloud()) : emu(std::move(config)) {
    REQUIRE(emu.start());
    token = arm_token(emu);
  }
  Reply call(const std::string& method, const std::string& path, const std::string& body = {},
             const std::string& query = kApi) {
    return http(Call{method,
                     emu.arm_endpoint() + path + query,
                     {"Authorization: Bearer " + token, "Content-Type: application/json"},
                     body},
                emu.ca_pem());
  }
  // Polls an Azure-AsyncOperation URL until it leaves InProgress (deadline 10 s); returns the statuses seen.
  std::vector<std::string> poll(const std::string& url) {
    std::vector<std::string> seen;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      const Reply r = http(Call{"GET", url, {"Authorization: Bearer " + token}}, emu.ca_pem());
      REQUIRE(r.status == 200);
      seen.emplace_back(r.json().at("status").as_string());
      if (seen.back() != "InProgress") break;
      std::this_thread::sleep_for(20ms);  // poll interval, not a timing assumption
    }
    return seen;
  }
  Emulator emu;
  std::string token;
};

std::string patch_body(const std::string& type, const std::string& map) {
  return R"({"identity":{"type":")" + type + R"(","userAssignedIdentities":)" + map + "}}";
}

std::string error_code(const Reply& r) {
  return std::string(r.json().at("error").at("code").as_string());
}

}  // namespace

TEST_CASE("ARM answers 401 with WWW-Authenticate without a valid token for its audience", "[integration]") {
  Arm arm;
  const Reply none = http(Call{"GET", arm.emu.arm_endpoint() + vm_id("vm-0") + kApi}, arm.emu.ca_pem());
  CHECK(none.status == 401);
  CHECK(error_code(none) == "AuthenticationFailed");
  CHECK(none.header("WWW-Authenticate").find("authorization_uri=\"" + arm.emu.authority_host()) !=
        std::string::npos);
  arm.token = arm_token(arm.emu, "https://vault.azure.net");
  const Reply wrong_audience = arm.call("GET", vm_id("vm-0"));
  CHECK(wrong_audience.status == 401);
  CHECK(error_code(wrong_audience) == "InvalidAuthenticationToken");
  arm.token = "eyJhbGciOiJSUzI1NiJ9.e30.AAAA";
  CHECK(arm.call("GET", vm_id("vm-0")).status == 401);
}

TEST_CASE("ARM requires a valid api-version", "[integration]") {
  Arm arm;
  CHECK(error_code(arm.call("GET", vm_id("vm-0"), {}, "")) == "MissingApiVersionParameter");
  CHECK(error_code(arm.call("GET", vm_id("vm-0"), {}, "?api-version=latest")) ==
        "InvalidApiVersionParameter");
  CHECK(error_code(arm.call("GET", vm_id("vm-0"), {}, "?api-version=2017-12-01")) ==
        "NoRegisteredProviderFound");
  CHECK(arm.call("GET", vm_id("vm-0"), {}, "?api-version=2018-06-01").status == 200);
}

TEST_CASE("Re-creating a user-assigned identity with the same name gives new client and principal IDs",
          "[integration]") {
  Arm arm;
  const std::string id = identity_id("pod-id");
  const Reply created = arm.call("PUT", id, R"({"location":"eastus"})", "?api-version=2023-01-31");
  REQUIRE(created.status == 201);
  const auto first = created.json().at("properties");
  const Reply updated = arm.call("PUT", id, R"({"location":"eastus"})", "?api-version=2023-01-31");
  CHECK(updated.status == 200);
  CHECK(updated.json().at("properties") == first);
  CHECK(arm.call("DELETE", id, {}, "?api-version=2023-01-31").status == 200);
  CHECK(arm.call("DELETE", id, {}, "?api-version=2023-01-31").status == 204);
  const Reply gone = arm.call("GET", id, {}, "?api-version=2023-01-31");
  CHECK(gone.status == 404);
  CHECK(error_code(gone) == "ResourceNotFound");
  const Reply again = arm.call("PUT", id, R"({"location":"eastus"})", "?api-version=2023-01-31");
  REQUIRE(again.status == 201);
  CHECK(again.json().at("properties").at("clientId") != first.at("clientId"));
  CHECK(again.json().at("properties").at("principalId") != first.at("principalId"));
  CHECK(arm.call("PUT", id, "{}", "?api-version=2023-01-31").status == 400);
}

TEST_CASE("The identity PATCH adds and removes identities through a long-running operation",
          "[integration]") {
  EmulatorConfig config = small_cloud();
  config.latencies.vm = 1500ms;
  config.vms.push_back(MachineConfig{kSub, kRg, "vm-sys", "eastus", true, {}, 1});
  Arm arm(config);
  const Reply patch =
      arm.call("PATCH", vm_id("vm-0"), patch_body("UserAssigned", "{\"" + identity_id("id-b") + "\":{}}"));
  REQUIRE(patch.status == 200);
  CHECK(patch.json().at("properties").at("provisioningState") == "Updating");
  CHECK(patch.json().at("identity").at("userAssignedIdentities").as_object().size() == 2);
  CHECK(patch.header("Location").find("/operationResults/") != std::string::npos);
  CHECK_FALSE(patch.header("Retry-After").empty());
  // IMDS sees the new identity only once the operation has completed.
  CHECK(arm.emu.machine(vm_id("vm-0"))->effective_user.size() == 1);
  const auto statuses = arm.poll(patch.header("Azure-AsyncOperation"));
  CHECK(statuses.front() == "InProgress");
  CHECK(statuses.back() == "Succeeded");
  CHECK(arm.emu.machine(vm_id("vm-0"))->effective_user.size() == 2);
  CHECK(arm.call("GET", vm_id("vm-0")).json().at("properties").at("provisioningState") == "Succeeded");

  const Reply remove =
      arm.call("PATCH", vm_id("vm-0"), patch_body("UserAssigned", "{\"" + identity_id("id-a") + "\":null}"));
  REQUIRE(remove.status == 200);
  CHECK(arm.poll(remove.header("Azure-AsyncOperation")).back() == "Succeeded");
  const auto m = arm.emu.machine(vm_id("vm-0"));
  REQUIRE(m->effective_user.size() == 1);
  CHECK(m->effective_user.begin()->second.resource_id == identity_id("id-b"));

  const Reply none = arm.call("PATCH", vm_id("vm-0"), patch_body("None", "null"));
  REQUIRE(none.status == 200);
  CHECK(none.json().at("identity").at("type") == "None");

  const auto before = arm.emu.machine(vm_id("vm-sys"))->system;
  REQUIRE(before);
  const Reply keep =
      arm.call("PATCH", vm_id("vm-sys"),
               patch_body("SystemAssigned, UserAssigned", "{\"" + identity_id("id-a") + "\":{}}"));
  REQUIRE(keep.status == 200);
  CHECK(keep.json().at("identity").at("type") == "SystemAssigned, UserAssigned");
  CHECK(keep.json().at("identity").at("principalId") == before->principal_id.c_str());
}

TEST_CASE("A PATCH with more than 150 identities is refused", "[integration]") {
  Arm arm;
  boost::json::object map;
  for (int i = 0; i < 151; ++i) map[identity_id("many-" + std::to_string(i))] = boost::json::object{};
  const Reply r = arm.call("PATCH", vmss_id("ss-0"), patch_body("UserAssigned", boost::json::serialize(map)));
  CHECK(r.status == 400);
  CHECK(std::string(r.json().at("error").at("message").as_string()).find("exceed limit '150'") !=
        std::string::npos);
  CHECK(arm.emu.machine(vmss_id("ss-0"))->user.empty());
}

TEST_CASE("A PATCH naming a missing identity or one the caller may not assign changes nothing",
          "[integration]") {
  Arm arm;
  const Reply missing =
      arm.call("PATCH", vm_id("vm-0"), patch_body("UserAssigned", "{\"" + identity_id("ghost") + "\":{}}"));
  CHECK(missing.status == 400);
  CHECK(error_code(missing) == "FailedIdentityOperation");
  REQUIRE(arm.emu.set_assigners(identity_id("id-b"), {"someone-else"}));
  const Reply denied =
      arm.call("PATCH", vm_id("vm-0"), patch_body("UserAssigned", "{\"" + identity_id("id-b") + "\":{}}"));
  CHECK(denied.status == 403);
  CHECK(error_code(denied) == "LinkedAuthorizationFailed");
  CHECK(std::string(denied.json().at("error").at("message").as_string())
            .find("'" + identity_id("id-b") + "'") != std::string::npos);
  REQUIRE(arm.emu.set_assigners(identity_id("id-b"), {kAppOid}));
  CHECK(arm.call("PATCH", vm_id("vm-0"), patch_body("UserAssigned", "{\"" + identity_id("id-b") + "\":{}}"))
            .status == 200);
  CHECK(arm.emu.machine(vm_id("vm-0"))->user.size() == 2);
}

TEST_CASE("A scale set takes one model update at a time and answers 409 to a concurrent one",
          "[integration]") {
  EmulatorConfig config = small_cloud();
  config.latencies.vmss = 30s;
  Arm arm(config);
  const std::string add_a = patch_body("UserAssigned", "{\"" + identity_id("id-a") + "\":{}}");
  REQUIRE(arm.call("PATCH", vmss_id("ss-0"), add_a).status == 200);
  const Reply busy =
      arm.call("PATCH", vmss_id("ss-0"), patch_body("UserAssigned", "{\"" + identity_id("id-b") + "\":{}}"));
  CHECK(busy.status == 409);
  CHECK(error_code(busy) == "Conflict");
  CHECK(arm.emu.counter("arm.conflicts") == 1);
  CHECK(arm.emu.machine(vmss_id("ss-0"))->user.size() == 1);
}

TEST_CASE("Throttling answers 429 with Retry-After and the remaining-budget headers", "[integration]") {
  Arm arm;
  arm.emu.set_arm_budgets(Budget{3, 0}, Budget{1, 0});
  CHECK(arm.call("GET", vm_id("vm-0")).header("x-ms-ratelimit-remaining-subscription-reads") == "2");
  CHECK(arm.call("GET", vm_id("vm-0")).header("x-ms-ratelimit-remaining-subscription-reads") == "1");
  CHECK(arm.call("GET", vm_id("vm-0")).header("x-ms-ratelimit-remaining-subscription-reads") == "0");
  const Reply throttled = arm.call("GET", vm_id("vm-0"));
  CHECK(throttled.status == 429);
  CHECK(error_code(throttled) == "SubscriptionRequestsThrottled");
  CHECK(std::stoi(throttled.header("Retry-After")) >= 1);
  const std::string none = patch_body("UserAssigned", "{}");
  CHECK(arm.call("PATCH", vm_id("vm-0"), none).header("x-ms-ratelimit-remaining-subscription-writes") == "0");
  CHECK(arm.call("PATCH", vm_id("vm-0"), none).status == 429);
  CHECK(arm.emu.counter("arm.throttled") == 2);
  CHECK(arm.emu.counter("arm.vm.get") == 3);
}

TEST_CASE("Injected faults fail the next N calls of one operation, or hang them", "[integration]") {
  Arm arm;
  arm.emu.inject_fault(Fault{"arm.vm.get", 500, 2, false, 1s});
  CHECK(arm.call("GET", vm_id("vm-0")).status == 500);
  CHECK(arm.call("GET", vmss_id("ss-0")).status == 200);
  CHECK(arm.call("GET", vm_id("vm-0")).status == 500);
  CHECK(arm.call("GET", vm_id("vm-0")).status == 200);
  arm.emu.inject_fault(Fault{"arm.vmss.get", 429, 1, false, 7s});
  const Reply throttled = arm.call("GET", vmss_id("ss-0"));
  CHECK(throttled.status == 429);
  CHECK(throttled.header("Retry-After") == "7");
  arm.emu.inject_fault(Fault{"arm.vm.get", 0, 1, true, 1s});
  const Reply hung = http(Call{"GET",
                               arm.emu.arm_endpoint() + vm_id("vm-0") + kApi,
                               {"Authorization: Bearer " + arm.token},
                               {},
                               300},
                          arm.emu.ca_pem());
  CHECK(hung.status == 0);
  CHECK(arm.call("GET", vm_id("vm-0")).status == 200);
  CHECK(arm.emu.counter("arm.faults") == 4);
}

TEST_CASE("Malformed JSON, oversized bodies and unknown resources get Azure's errors", "[integration]") {
  Arm arm;
  const Reply bad = arm.call("PATCH", vm_id("vm-0"), "{not json");
  CHECK(bad.status == 400);
  CHECK(error_code(bad) == "InvalidRequestContent");
  CHECK(arm.call("PATCH", vm_id("vm-0"), std::string(5U * 1024U * 1024U, 'x')).status == 413);
  CHECK(error_code(arm.call("GET", vm_id("nope"))) == "ResourceNotFound");
  CHECK(error_code(arm.call("GET", "/subscriptions/" + std::string(kSub) + "/resourceGroups/nope")) ==
        "ResourceGroupNotFound");
  CHECK(arm.call("GET", vm_id("vm-0")).status == 200);
}

TEST_CASE("Scale-set instances and machines are listed", "[integration]") {
  Arm arm;
  const Reply instances = arm.call("GET", vmss_id("ss-0") + "/virtualMachines");
  REQUIRE(instances.status == 200);
  CHECK(instances.json().at("value").as_array().size() == 2);
  CHECK(arm.call("GET", vmss_id("ss-0") + "/virtualMachines/1").json().at("instanceId") == "1");
  const std::string group = "/subscriptions/" + std::string(kSub) + "/resourceGroups/" + kRg;
  CHECK(arm.call("GET", group + "/providers/Microsoft.Compute/virtualMachines")
            .json()
            .at("value")
            .as_array()
            .size() == 1);
  CHECK(arm.call("GET", group + "/providers/Microsoft.Compute/virtualMachineScaleSets")
            .json()
            .at("value")
            .as_array()
            .size() == 1);
}
