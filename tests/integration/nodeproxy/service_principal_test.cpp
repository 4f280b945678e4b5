// Types 1 and 2 beyond the client secret, over real HTTP against the emulator's AAD: a pod bound to a
// type-2 identity gets a token AAD issued for the certificate assertion (claims: the app, the tenant); a
// pod bound to a type-1 identity with auxiliary tenants gets the JSON array (primary first), each token
// issued by its own tenant (the app is registered in each, as a multi-tenant app is consented there).
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "integration/nodeproxy/proxy_env.hpp"
#include "nodeproxy/snapshot_source.hpp"
#include "tests/emulator/tests/test_client.hpp"
#include "unit/nodeproxy/pkcs12_fixture.hpp"

using namespace podid;
using namespace podid::testing;
using namespace podid::emulator::testing;

namespace {

const std::string kVault = "https://vault.azure.net";
const std::string kAux1 = "a0000000-0000-0000-0000-0000000000a1";
const std::string kAux2 = "a0000000-0000-0000-0000-0000000000a2";
constexpr const char* kCertPod = "127.0.0.6";
constexpr const char* kMultiPod = "127.0.0.7";

nodeproxy::SnapshotIdentity principal(const std::string& name, int type, const std::string& secret) {
  nodeproxy::SnapshotIdentity id;
  id.key = {"default", name};
  id.type =
      type == 2 ? core::IdentityType::service_principal_certificate : core::IdentityType::service_principal;
  id.raw_type = type;
  id.client_id = kClient;
  id.tenant_id = kTenant;
  id.secret_ref = {secret, ""};  // the identity's namespace
  id.phase = core::Phase::assigned;
  return id;
}

struct SpEnv {
  SpEnv() : emu(small_cloud()), cert(rsa_certificate()) {
    REQUIRE(emu.start());
    REQUIRE(emu.add_certificate(kTenant, kClient, cert.cert.pem).has_value());
    for (const auto& tenant : {kAux1, kAux2})
      REQUIRE(emu.add_tenant({tenant, {emulator::AppConfig{kClient, "", {kSecret}, {}, {}}}}).has_value());
    secrets.put({"sp-cert", "default"}, "certificate", pkcs12_of(cert, "pfx-pass"));
    secrets.put({"sp-cert", "default"}, "password", "pfx-pass");
    secrets.put({"sp-secret", "default"}, "clientSecret", kSecret);
    auto multi = principal("sp-multi", 1, "sp-secret");
    multi.auxiliary_tenant_ids = {kAux1, kAux2};
    snapshot.node = "node-0";
    snapshot.pods.push_back(
        {{"default", "pod-cert"}, kCertPod, "Running", {}, false, {principal("sp-cert", 2, "sp-cert")}});
    snapshot.pods.push_back({{"default", "pod-multi"}, kMultiPod, "Running", {}, false, {multi}});
    source.publish(snapshot);
    options.listen_address = "127.0.0.1";
    options.port = 0;
    options.imds_url = "http://127.0.0.1:9";  // no type 0 here: IMDS is never asked
    options.authority_host = emu.authority_host();
    options.aad_tls.ca.data = emu.ca_pem();
  }
  std::string token_url(std::uint16_t port) const {
    return "http://127.0.0.1:" + std::to_string(port) +
           "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net";
  }
  emulator::Emulator emu;
  emulator::KeyedCertificate cert;
  nodeproxy::NodeSnapshot snapshot;
  nodeproxy::MemorySnapshotSource source;
  nodeproxy::MemorySecretReader secrets;
  nodeproxy::NodeProxyOptions options;
};

// The token's claims after its signature verified against `tenant`'s JWKS.
emulator::Jwt claims_of(const emulator::Emulator& emu, const std::string& tenant,
                        const boost::json::value& token) {
  auto jwt = verified_jwt(emu, tenant, std::string(token.at("access_token").as_string()));
  INFO((jwt ? std::string() : jwt.error().describe()));
  REQUIRE(jwt.has_value());
  return *jwt;
}

}  // namespace

TEST_CASE("A pod bound to a type-2 identity gets AAD's token for the certificate's app", "[integration]") {
  SpEnv env;
  RunningProxy proxy(env.options, env.source, env.secrets);
  REQUIRE(proxy.ok());
  const auto r = curl_get(env.token_url(proxy.port()), kCertPod);
  INFO(r.body << r.curl_error);
  REQUIRE(r.status == 200);
  const auto body = boost::json::parse(r.body);
  REQUIRE(body.is_object());
  CHECK(body.at("client_id").as_string() == kClient);
  CHECK(body.at("resource").as_string() == kVault);
  const auto jwt = claims_of(env.emu, kTenant, body);
  CHECK(jwt.claim_string("appid") == kClient);
  CHECK(jwt.claim_string("tid") == kTenant);
  CHECK(jwt.claim_string("aud") == kVault);

  // Cached like type 1: the second request reads no Secret and asks AAD nothing.
  const auto aad_calls = env.emu.counter("aad.token");
  REQUIRE(curl_get(env.token_url(proxy.port()), kCertPod).status == 200);
  CHECK(env.emu.counter("aad.token") == aad_calls);
  CHECK(env.secrets.calls() == std::vector<std::string>{"default/sp-cert"});
  for (const auto& line : proxy.log_lines()) {
    CHECK(line.find(std::string(body.at("access_token").as_string())) == std::string::npos);
    CHECK(line.find("pfx-pass") == std::string::npos);
  }
}

TEST_CASE("A type-2 identity whose certificate AAD does not know, or whose password is wrong, gets a 403",
          "[integration]") {
  SpEnv env;
  RunningProxy proxy(env.options, env.source, env.secrets);
  REQUIRE(proxy.ok());
  SECTION("a certificate not registered on the app: AAD refuses the assertion") {
    env.secrets.put({"sp-cert", "default"}, "certificate", pkcs12_of(rsa_certificate("other"), "pfx-pass"));
    const auto r = curl_get(env.token_url(proxy.port()), kCertPod);
    CHECK(r.status == 403);
    CHECK(r.body.find("AAD answered 401") != std::string::npos);
    CHECK(r.body.find("access_token") == std::string::npos);
  }
  SECTION("the wrong password: AAD is never asked") {
    env.secrets.put({"sp-cert", "default"}, "password", "not-it");
    const auto aad_calls = env.emu.counter("aad.token");
    const auto r = curl_get(env.token_url(proxy.port()), kCertPod);
    CHECK(r.status == 403);
    const auto body = boost::json::parse(r.body);
    CHECK(body.at("error").as_string() == "access_denied");
    CHECK(std::string(body.at("error_description").as_string()).find("wrong password") != std::string::npos);
    CHECK(r.body.find("not-it") == std::string::npos);
    CHECK(env.emu.counter("aad.token") == aad_calls);
  }
}

TEST_CASE("A pod bound to a type-1 identity with auxiliary tenants gets one token per tenant, primary first",
          "[integration]") {
  SpEnv env;
  RunningProxy proxy(env.options, env.source, env.secrets);
  REQUIRE(proxy.ok());
  const auto r = curl_get(env.token_url(proxy.port()), kMultiPod);
  INFO(r.body << r.curl_error);
  REQUIRE(r.status == 200);
  const auto body = boost::json::parse(r.body);
  REQUIRE(body.is_array());
  REQUIRE(body.as_array().size() == 3);
  const std::vector<std::string> tenants{kTenant, kAux1, kAux2};
  for (std::size_t i = 0; i < tenants.size(); ++i) {
    const auto& token = body.as_array()[i];
    CHECK(token.at("client_id").as_string() == kClient);
    CHECK(token.at("resource").as_string() == kVault);
    const auto jwt = claims_of(env.emu, tenants[i], token);
    CHECK(jwt.claim_string("tid") == tenants[i]);
    CHECK(jwt.claim_string("appid") == kClient);
  }
  // The array is cached as one answer.
  const auto aad_calls = env.emu.counter("aad.token");
  const auto again = curl_get(env.token_url(proxy.port()), kMultiPod);
  REQUIRE(again.status == 200);
  CHECK(boost::json::parse(again.body).as_array().size() == 3);
  CHECK(env.emu.counter("aad.token") == aad_calls);
}
