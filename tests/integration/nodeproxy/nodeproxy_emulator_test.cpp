// The node proxy over loopback against the Azure emulator: pods are 127.0.0.N source addresses; type 0
// tokens come from the emulator's IMDS for the VM, type 1 from its AAD. Tokens are verified against the
// emulator's JWKS and must name the pod's own identity; other identities and other callers get none.
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "integration/nodeproxy/proxy_env.hpp"
#include "nodeproxy/snapshot_source.hpp"
#include "tests/emulator/tests/test_client.hpp"

using namespace podid;
using namespace podid::testing;
using namespace podid::emulator::testing;

namespace {

const std::string kVault = "https://vault.azure.net";

nodeproxy::SnapshotIdentity msi(const emulator::ManagedIdentity& m, const std::string& name) {
  nodeproxy::SnapshotIdentity id;
  id.key = {"default", name};
  id.client_id = m.client_id;
  id.resource_id = m.id;
  id.principal_id = m.principal_id;
  id.phase = core::Phase::assigned;
  return id;
}

struct Env {
  Env() : emu(small_cloud()) {
    REQUIRE(emu.start());
    auto url = emu.serve_imds(vm_id("vm-0"), std::nullopt);
    REQUIRE(url.has_value());
    imds_url = *url;
    a = *emu.identity(identity_id("id-a"));
    b = *emu.identity(identity_id("id-b"));
    nodeproxy::SnapshotIdentity sp;
    sp.key = {"default", "sp"};
    sp.type = core::IdentityType::service_principal;
    sp.raw_type = 1;
    sp.client_id = kClient;
    sp.tenant_id = kTenant;
    sp.secret_ref = {"sp-secret", "default"};
    sp.phase = core::Phase::assigned;
    secrets.put(sp.secret_ref, "clientSecret", kSecret);
    snapshot.node = "node-0";
    snapshot.pods.push_back({{"default", "pod-a"}, "127.0.0.2", "Running", {}, false, {msi(a, "id-a")}});
    snapshot.pods.push_back({{"default", "pod-b"}, "127.0.0.3", "Running", {}, false, {msi(b, "id-b")}});
    snapshot.pods.push_back({{"default", "pod-n"}, "127.0.0.4", "Running", {}, false, {}});
    snapshot.pods.push_back({{"default", "pod-sp"}, "127.0.0.5", "Running", {}, false, {sp}});
    source.publish(snapshot);
    options.listen_address = "127.0.0.1";
    options.port = 0;
    options.imds_url = imds_url;
    options.authority_host = emu.authority_host();
    options.aad_tls.ca.data = emu.ca_pem();
    options.pipeline.assignment_wait = std::chrono::milliseconds(200);
  }
  std::string token_url(std::uint16_t port, const std::string& extra = {}) const {
    return "http://127.0.0.1:" + std::to_string(port) +
           "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net" +
           extra;
  }
  emulator::Emulator emu;
  std::string imds_url;
  emulator::ManagedIdentity a, b;
  nodeproxy::NodeSnapshot snapshot;
  nodeproxy::MemorySnapshotSource source;
  nodeproxy::MemorySecretReader secrets;
  nodeproxy::NodeProxyOptions options;
};

std::string field(const ImdsReply& r, const char* name) {
  const auto v = boost::json::parse(r.body);
  return std::string(v.at(name).as_string());
}

}  // namespace

TEST_CASE("A pod gets a verified token for its own managed identity and none for another", "[integration]") {
  Env env;
  REQUIRE(env.emu.attach(vm_id("vm-0"), identity_id("id-b")).has_value());  // both on the node's VM
  RunningProxy proxy(env.options, env.source, env.secrets);
  REQUIRE(proxy.ok());

  const auto ok = curl_get(env.token_url(proxy.port()), "127.0.0.2");
  INFO(ok.body << ok.curl_error);
  REQUIRE(ok.status == 200);
  CHECK(field(ok, "client_id") == env.a.client_id);
  CHECK(field(ok, "resource") == kVault);
  auto jwt = verified_jwt(env.emu, kTenant, field(ok, "access_token"));
  INFO((jwt ? std::string() : jwt.error().describe()));
  REQUIRE(jwt.has_value());
  CHECK(jwt->claim_string("xms_mirid") == identity_id("id-a"));
  CHECK(jwt->claim_string("oid") == env.a.principal_id);
  CHECK(jwt->claim_string("aud") == kVault);

  // Pod b's identity is attached to the VM too, but pod a may not use it: no token, and IMDS never asked.
  const auto imds_calls = env.emu.counter("imds.token");
  for (const auto& sel :
       std::vector<std::string>{"&client_id=" + env.b.client_id, "&msi_res_id=" + identity_id("id-b")}) {
    const auto refused = curl_get(env.token_url(proxy.port(), sel), "127.0.0.2");
    CHECK(refused.status == 400);
    CHECK(field(refused, "error_description") == "Identity not found");
    CHECK(refused.body.find("access_token") == std::string::npos);
  }
  CHECK(env.emu.counter("imds.token") == imds_calls);

  // Pod b gets its own, which names id-b.
  const auto b = curl_get(env.token_url(proxy.port()), "127.0.0.3");
  REQUIRE(b.status == 200);
  auto jwt_b = verified_jwt(env.emu, kTenant, field(b, "access_token"));
  REQUIRE(jwt_b.has_value());
  CHECK(jwt_b->claim_string("xms_mirid") == identity_id("id-b"));

  // A pod without identities, and an address that is no pod of this node.
  CHECK(curl_get(env.token_url(proxy.port()), "127.0.0.4").status == 400);
  const auto stranger = curl_get(env.token_url(proxy.port()), "127.0.0.9");
  CHECK(stranger.status == 403);
  CHECK(field(stranger, "error") == "access_denied");
}

TEST_CASE("Tokens are cached per identity and resource, and the log never shows one", "[integration]") {
  Env env;
  RunningProxy proxy(env.options, env.source, env.secrets);
  REQUIRE(proxy.ok());
  const auto before = env.emu.counter("imds.token");
  const auto first = curl_get(env.token_url(proxy.port()), "127.0.0.2");
  REQUIRE(first.status == 200);
  for (int i = 0; i < 5; ++i) {
    const auto again = curl_get(env.token_url(proxy.port()), "127.0.0.2");
    REQUIRE(again.status == 200);
    CHECK(field(again, "access_token") == field(first, "access_token"));
  }
  CHECK(env.emu.counter("imds.token") == before + 1);
  const auto counters = proxy.cache_counters();
  CHECK(counters.misses == 1);
  CHECK(counters.hits == 5);
  const auto token = field(first, "access_token");
  const auto lines = proxy.log_lines();
  CHECK(lines.size() >= 6);
  for (const auto& line : lines) CHECK(line.find(token) == std::string::npos);
}

TEST_CASE("A service principal's token comes from AAD with the Secret's client secret", "[integration]") {
  Env env;
  RunningProxy proxy(env.options, env.source, env.secrets);
  REQUIRE(proxy.ok());
  const auto r = curl_get(env.token_url(proxy.port()), "127.0.0.5");
  INFO(r.body << r.curl_error);
  REQUIRE(r.status == 200);
  CHECK(field(r, "client_id") == kClient);
  auto jwt = verified_jwt(env.emu, kTenant, field(r, "access_token"));
  REQUIRE(jwt.has_value());
  CHECK(jwt->claim_string("appid") == kClient);
  CHECK(jwt->claim_string("tid") == kTenant);
  CHECK(jwt->claim_string("aud") == kVault);
  CHECK(env.secrets.calls() == std::vector<std::string>{"default/sp-secret"});
}

TEST_CASE("A wrong client secret or a missing key is a clear 403, never a token", "[integration]") {
  Env env;
  RunningProxy proxy(env.options, env.source, env.secrets);
  REQUIRE(proxy.ok());
  env.secrets.put({"sp-secret", "default"}, "clientSecret", "wrong");
  const auto wrong = curl_get(env.token_url(proxy.port()), "127.0.0.5");
  CHECK(wrong.status == 403);
  CHECK(field(wrong, "error_description").rfind("AAD answered 401", 0) == 0);
  env.secrets.erase({"sp-secret", "default"});
  env.secrets.put({"sp-secret", "default"}, "password", "x");
  const auto missing = curl_get(env.token_url(proxy.port()), "127.0.0.5");
  CHECK(missing.status == 403);
  CHECK(field(missing, "error_description") ==
        "Secret default/sp-secret of identity default/sp has no key 'clientSecret'");
}

TEST_CASE("An identity assigned to the pod but not attached to the VM gets IMDS's refusal as 403",
          "[integration]") {
  Env env;
  env.snapshot.pods[0].identities = {msi(env.b, "id-b")};  // id-b is not attached to vm-0
  env.source.publish(env.snapshot);
  RunningProxy proxy(env.options, env.source, env.secrets);
  REQUIRE(proxy.ok());
  const auto r = curl_get(env.token_url(proxy.port()), "127.0.0.2");
  CHECK(r.status == 403);
  CHECK(field(r, "error_description") == "IMDS answered 400: Identity not found");
}

TEST_CASE("A revoked grant is refused at once although its token was cached", "[integration]") {
  Env env;
  RunningProxy proxy(env.options, env.source, env.secrets);
  REQUIRE(proxy.ok());
  REQUIRE(curl_get(env.token_url(proxy.port()), "127.0.0.2").status == 200);
  env.snapshot.pods[0].identities.clear();  // the binding was deleted
  env.source.publish(env.snapshot);
  const auto refused = curl_get(env.token_url(proxy.port()), "127.0.0.2");
  CHECK(refused.status == 400);
  CHECK(refused.body.find("access_token") == std::string::npos);
  CHECK(proxy.cache_counters().evicted == 1);  // retain() dropped the token when the snapshot arrived
}

TEST_CASE("/metrics shows an issued token and the IMDS call behind it", "[integration]") {
  Env env;
  core::MetricsRegistry registry;
  env.options.metrics = &registry;
  RunningProxy proxy(env.options, env.source, env.secrets);
  REQUIRE(proxy.ok());
  REQUIRE(proxy.metrics_port() != 0);
  const std::string page = "http://127.0.0.1:" + std::to_string(proxy.metrics_port()) + "/metrics";
  const auto before = curl_get(page, "", false);
  REQUIRE(before.status == 200);
  CHECK(before.body.find("aadpodidentity_nmi_token_requests_total{") == std::string::npos);

  REQUIRE(curl_get(env.token_url(proxy.port()), "127.0.0.2").status == 200);
  const auto after = curl_get(page, "", false);
  REQUIRE(after.status == 200);
  INFO(after.body);
  CHECK(after.body.find(
            "aadpodidentity_nmi_token_requests_total{result=\"issued\",identity_type=\"user_assigned_"
            "msi\"} 1\n") != std::string::npos);
  CHECK(
      after.body.find("aadpodidentity_imds_operations_duration_seconds_count{operation_type=\"adal_token_msi_"
                      "userassignedid\"} 1\n") != std::string::npos);
  CHECK(after.body.find("aadpodidentity_imds_operations_errors_count{") == std::string::npos);
}

TEST_CASE("Managed mode: object_id gets the pod's own identity from IMDS and never another's",
          "[integration]") {
  Env env;
  REQUIRE(env.emu.attach(vm_id("vm-0"), identity_id("id-b")).has_value());  // both on the node's VM
  env.snapshot.mode = core::Mode::managed;
  for (auto& pod : env.snapshot.pods)
    for (auto& id : pod.identities) id.principal_id.clear();  // managed mode reads nothing from Azure
  env.source.publish(env.snapshot);
  RunningProxy proxy(env.options, env.source, env.secrets);
  REQUIRE(proxy.ok());

  const auto own = curl_get(env.token_url(proxy.port(), "&object_id=" + env.a.principal_id), "127.0.0.2");
  INFO(own.body << own.curl_error);
  REQUIRE(own.status == 200);
  CHECK(field(own, "client_id") == env.a.client_id);
  auto jwt = verified_jwt(env.emu, kTenant, field(own, "access_token"));
  REQUIRE(jwt.has_value());
  CHECK(jwt->claim_string("oid") == env.a.principal_id);

  // id-b is on the VM, so IMDS issues its token; the node proxy must discard it, every time (no cache).
  for (int i = 0; i < 2; ++i) {
    const auto asked = env.emu.counter("imds.token");
    const auto other = curl_get(env.token_url(proxy.port(), "&object_id=" + env.b.principal_id), "127.0.0.2");
    CHECK(other.status == 400);
    CHECK(field(other, "error_description") == "Identity not found");
    CHECK(other.body.find("access_token") == std::string::npos);
    CHECK(env.emu.counter("imds.token") == asked + 1);
  }
  // Pod b may use it.
  const auto b = curl_get(env.token_url(proxy.port(), "&object_id=" + env.b.principal_id), "127.0.0.3");
  CHECK(b.status == 200);
}
