// IMDS: tokens only for identities attached to this machine in the ARM state at that moment, Azure's
// refusals, the JSON shape with string numbers, instance metadata.
#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "tests/emulator/jwt.hpp"
#include "tests/emulator/tests/test_client.hpp"

using namespace podid::emulator;
using namespace podid::emulator::testing;

namespace {

struct Imds {
  explicit Imds(const std::string& machine, std::optional<int> instance = std::nullopt) : emu(small_cloud()) {
    REQUIRE(emu.start());
    auto u = emu.serve_imds(machine, instance);
    REQUIRE(u.has_value());
    url = *u;
  }
  Reply token(const std::string& selector, bool metadata = true) {
    std::vector<std::string> headers;
    if (metadata) headers.emplace_back("Metadata: true");
    return http(Call{
        "GET",
        url +
            "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net" +
            selector,
        headers});
  }
  Emulator emu;
  std::string url;
};

std::string description(const Reply& r) {
  return std::string(r.json().at("error_description").as_string());
}

}  // namespace

TEST_CASE("IMDS issues a token for an attached identity and refuses one that is not attached",
          "[integration]") {
  Imds imds(vm_id("vm-0"));
  const auto a = imds.emu.identity(identity_id("id-a"));
  const auto b = imds.emu.identity(identity_id("id-b"));
  REQUIRE((a && b));
  const Reply ok = imds.token("&client_id=" + a->client_id);
  REQUIRE(ok.status == 200);
  const auto body = ok.json().as_object();
  for (const char* field : {"access_token", "client_id", "expires_in", "expires_on", "ext_expires_in",
                            "not_before", "resource", "token_type"}) {
    REQUIRE(body.contains(field));
    CHECK(body.at(field).is_string());
  }
  CHECK(body.at("client_id") == a->client_id.c_str());
  CHECK(body.at("resource") == "https://vault.azure.net");
  const auto jwt = jwt_parse(body.at("access_token").as_string());
  REQUIRE(jwt.has_value());
  CHECK(jwt->claim_string("oid") == a->principal_id);
  CHECK(jwt->claim_string("xms_mirid") == identity_id("id-a"));
  CHECK(jwt->claim_string("aud") == "https://vault.azure.net");

  const Reply refused = imds.token("&client_id=" + b->client_id);
  CHECK(refused.status == 400);
  CHECK(description(refused) == "Identity not found");
  CHECK(imds.token("&msi_res_id=" + url_encode(identity_id("id-a"))).status == 200);
  CHECK(imds.token("&object_id=" + a->principal_id).status == 200);
  CHECK(imds.token("").status == 200);  // the only user-assigned identity
}

TEST_CASE("IMDS follows attachments made behind the controller's back", "[integration]") {
  Imds imds(vm_id("vm-0"));
  const auto b = imds.emu.identity(identity_id("id-b"));
  REQUIRE(imds.emu.attach(vm_id("vm-0"), identity_id("id-b")));
  CHECK(imds.token("&client_id=" + b->client_id).status == 200);
  const Reply several = imds.token("");
  CHECK(several.status == 400);
  CHECK(description(several).rfind("Multiple user assigned identities exist", 0) == 0);
  REQUIRE(imds.emu.detach(vm_id("vm-0"), identity_id("id-b")));
  CHECK(imds.token("&client_id=" + b->client_id).status == 400);
  CHECK(imds.emu.counter("imds.token") == 3);
}

TEST_CASE("IMDS has no token for an identity re-created since it was attached", "[integration]") {
  Imds imds(vm_id("vm-0"));
  const std::string token = arm_token(imds.emu);
  const std::string url = imds.emu.arm_endpoint() + identity_id("id-a") + "?api-version=2023-01-31";
  const std::vector<std::string> auth{"Authorization: Bearer " + token};
  REQUIRE(http(Call{"DELETE", url, auth}, imds.emu.ca_pem()).status == 200);
  REQUIRE(http(Call{"PUT", url, auth, R"({"location":"eastus"})"}, imds.emu.ca_pem()).status == 201);
  const auto recreated = imds.emu.identity(identity_id("id-a"));
  CHECK(imds.token("&client_id=" + recreated->client_id).status == 400);
  CHECK(imds.token("&msi_res_id=" + url_encode(identity_id("id-a"))).status == 400);
}

TEST_CASE("IMDS requires the Metadata header and one selector at most", "[integration]") {
  Imds imds(vm_id("vm-0"));
  const Reply no_header = imds.token("", false);
  CHECK(no_header.status == 400);
  CHECK(description(no_header) == "Required metadata header not specified");
  CHECK(imds.token("&client_id=x&object_id=y").status == 400);
  CHECK(http(Call{"GET",
                  imds.url + "/metadata/identity/oauth2/token?api-version=2018-02-01",
                  {"Metadata: true"}})
            .status == 400);
  CHECK(http(Call{"GET", imds.url + "/metadata/other?api-version=2018-02-01", {"Metadata: true"}}).status ==
        404);
}

TEST_CASE("A scale-set instance's IMDS serves the scale set's identities and its compute metadata",
          "[integration]") {
  Imds imds(vmss_id("ss-0"), 1);
  const auto a = imds.emu.identity(identity_id("id-a"));
  CHECK(imds.token("&client_id=" + a->client_id).status == 400);
  REQUIRE(imds.emu.attach(vmss_id("ss-0"), identity_id("id-a")));
  CHECK(imds.token("&client_id=" + a->client_id).status == 200);
  const Reply meta =
      http(Call{"GET", imds.url + "/metadata/instance?api-version=2021-02-01", {"Metadata: true"}});
  REQUIRE(meta.status == 200);
  CHECK(meta.json().at("compute").at("vmScaleSetName") == "ss-0");
  CHECK(meta.json().at("compute").at("name") == "ss-0_1");
  CHECK(meta.json().at("compute").at("subscriptionId") == kSub);
}

TEST_CASE("IMDS throttles beyond its per-machine rate", "[integration]") {
  EmulatorConfig config = small_cloud();
  config.imds_rate = Budget{2, 0};
  Emulator emu(config);
  REQUIRE(emu.start());
  const auto url = emu.serve_imds(vm_id("vm-0"), std::nullopt);
  REQUIRE(url.has_value());
  const Call call{
      "GET", *url + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=r", {"Metadata: true"}};
  CHECK(http(call).status == 200);
  CHECK(http(call).status == 200);
  const Reply throttled = http(call);
  CHECK(throttled.status == 429);
  CHECK_FALSE(throttled.header("Retry-After").empty());
}

TEST_CASE("IMDS answers 429 beyond 5 concurrent requests per machine", "[integration]") {
  Imds imds(vm_id("vm-0"));
  imds.emu.inject_fault(Fault{"imds.token", 0, 5, true, std::chrono::seconds(1)});
  const Call hung{"GET",
                  imds.url + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=r",
                  {"Metadata: true"},
                  {},
                  3000};
  std::vector<std::future<Reply>> pending;
  for (int i = 0; i < 5; ++i)
    pending.push_back(std::async(std::launch::async, [&hung] { return http(hung); }));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (imds.emu.counter("imds.faults") < 5 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  REQUIRE(imds.emu.counter("imds.faults") == 5);
  const Reply busy = imds.token("");
  CHECK(busy.status == 429);
  for (auto& p : pending) CHECK(p.get().status == 0);  // the hung requests time out on the client side
  // Once the clients gave up, their slots are free again.
  Reply after = imds.token("");
  while (after.status == 429 && std::chrono::steady_clock::now() < deadline) after = imds.token("");
  CHECK(after.status == 200);
}
