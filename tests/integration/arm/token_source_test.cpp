#include "arm/cloud_config.hpp"
#include "arm/token_source_factory.hpp"
#include "integration/arm/arm_fixture.hpp"

using namespace podid::arm;
using namespace podid::arm::testing;
using podid::core::ErrorCode;

TEST_CASE("A service principal gets an ARM token with its secret (v1 and v2) and caches it",
          "[integration]") {
  Cloud cloud;
  Controller c(cloud);
  const bool v2 = GENERATE(false, true);
  AadOptions o = c.aad_options();
  o.v2 = v2;
  AadTokenSource source(*c.http, c.clock, o, podid::core::Secret<std::string>(kSecret));
  auto first = c.run(source.token());
  REQUIRE(first.has_value());
  CHECK_FALSE(first->value.value().empty());
  CHECK(first->expires_on_ms > c.clock.now_ms() + 3000 * 1000);
  auto second = c.run(source.token());
  REQUIRE(second.has_value());
  CHECK(second->value.value() == first->value.value());
  CHECK(source.acquisitions() == 1);
  CHECK(cloud.emu.counter(v2 ? "aad.token.v2" : "aad.token.v1") == 1);
  source.invalidate();
  REQUIRE(c.run(source.token()).has_value());
  CHECK(source.acquisitions() == 2);
}

TEST_CASE("A service principal gets an ARM token with a certificate assertion and reads a VM with it",
          "[integration]") {
  Cloud cloud;
  Controller c(cloud);
  auto cert = ClientCertificate::load(cloud.sp_pem, "");
  REQUIRE(cert.has_value());
  AadTokenSource source(*c.http, c.clock, c.aad_options(), *cert);
  HttpArmClient arm(*c.http, source, c.clock, [&] {
    auto o = Controller::fast_options();
    o.endpoint = cloud.emu.arm_endpoint();
    return o;
  }());
  auto ids = c.run(arm.get(vm("vm-0")));
  REQUIRE(ids.has_value());
  CHECK(ids->system_assigned);
  CHECK(source.acquisitions() == 1);
  source.invalidate();
  REQUIRE(c.run(source.token()).has_value());  // a second assertion with a fresh jti is accepted
  CHECK(cloud.emu.counter("aad.token.failed") == 0);
}

TEST_CASE("A wrong secret is a permission error carrying AAD's code, not the secret", "[integration]") {
  Cloud cloud;
  Controller c(cloud);
  AadTokenSource source(*c.http, c.clock, c.aad_options(),
                        podid::core::Secret<std::string>("wrong-secret-x"));
  auto t = c.run(source.token());
  REQUIRE_FALSE(t.has_value());
  CHECK(t.error().code == ErrorCode::permission);
  CHECK_THAT(t.error().message, Catch::Contains("AADSTS7000215"));
  CHECK_THAT(t.error().message, !Catch::Contains("wrong-secret-x"));
  // The ARM client reports the same error instead of calling ARM without a token.
  HttpArmClient arm(*c.http, source, c.clock, [&] {
    auto o = Controller::fast_options();
    o.endpoint = cloud.emu.arm_endpoint();
    return o;
  }());
  auto r = c.run(arm.get(vm("vm-0")));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::permission);
  CHECK(cloud.emu.counter("arm.requests") == 0);
}

TEST_CASE("An AAD outage is transient and a still-valid cached token keeps working", "[integration]") {
  Cloud cloud;
  Controller c(cloud);
  podid::core::FakeClock clock(c.clock.now_ms());
  AadTokenSource source(*c.http, clock, c.aad_options(), podid::core::Secret<std::string>(kSecret));
  auto first = c.run(source.token());
  REQUIRE(first.has_value());
  clock.set(first->expires_on_ms - 60 * 1000);  // due for refresh, not expired
  cloud.emu.inject_fault(podid::emulator::Fault{"aad.token", 503, 2, false, std::chrono::seconds(1)});
  auto during = c.run(source.token());
  REQUIRE(during.has_value());
  CHECK(during->value.value() == first->value.value());
  clock.set(first->expires_on_ms);
  auto expired = c.run(source.token());
  REQUIRE_FALSE(expired.has_value());
  CHECK(expired.error().code == ErrorCode::transient);
  auto recovered = c.run(source.token());
  REQUIRE(recovered.has_value());
  CHECK(source.acquisitions() == 2);
}

TEST_CASE("A managed identity gets its ARM token from IMDS", "[integration]") {
  Cloud cloud;
  Controller c(cloud);
  auto imds = cloud.emu.serve_imds(cloud.emu.machine(vm("vm-0").arm_id())->id, std::nullopt);
  REQUIRE(imds.has_value());
  ImdsOptions o;
  o.endpoint = *imds;
  o.audience = "https://management.azure.com/";
  ImdsTokenSource source(*c.http, c.clock, o);
  HttpArmClient arm(*c.http, source, c.clock, [&] {
    auto ao = Controller::fast_options();
    ao.endpoint = cloud.emu.arm_endpoint();
    return ao;
  }());
  auto ids = c.run(arm.get(vmss("ss-0")));
  REQUIRE(ids.has_value());
  CHECK(source.acquisitions() == 1);
  // A user-assigned identity that is not on the machine is refused by IMDS.
  o.client_id = "00000000-0000-0000-0000-00000000dead";
  ImdsTokenSource missing(*c.http, c.clock, o);
  auto r = c.run(missing.token());
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::invalid);
}

TEST_CASE("azure.json with custom-cloud endpoints drives the same code against the emulator",
          "[integration]") {
  Cloud cloud;
  Controller c(cloud);
  const std::string text = R"({"cloud":"PodidEmulator","tenantId":")" + std::string(kTenant) +
                           R"(","subscriptionId":")" + kSub + R"(","aadClientId":")" + kClient +
                           R"(","aadClientCertPath":"/etc/kubernetes/sp.pem","activeDirectoryEndpoint":")" +
                           cloud.emu.authority_host() + R"(","resourceManagerEndpoint":")" +
                           cloud.emu.arm_endpoint() + R"(/"})";
  auto config = parse_cloud_config(text);
  REQUIRE(config.has_value());
  auto source = make_token_source(*c.http, c.clock, *config, cloud.sp_pem);
  REQUIRE(source.has_value());
  auto o = Controller::fast_options();
  o.endpoint = config->cloud.resource_manager;
  HttpArmClient arm(*c.http, **source, c.clock, o);
  auto ids = c.run(arm.get(vm("vm-1")));
  REQUIRE(ids.has_value());
  CHECK(ids->user.empty());
}
