// The node proxy end to end through the kernel: a node network namespace with pod namespaces, the
// interception rules of podid::iptables, the emulator's IMDS at 169.254.169.254:80 inside the node
// namespace, and the node proxy listening there. Pods run plain `curl` against the metadata address.
#include <boost/json/parse.hpp>

#include "integration/nodeproxy/proxy_env.hpp"
#include "nodeproxy/snapshot_source.hpp"
#include "root/backends.hpp"
#include "root/root_env.hpp"
#include "tests/emulator/tests/test_client.hpp"

using namespace podid;
using namespace podid::testing;
using namespace podid::emulator::testing;

namespace {

const std::string kTokenUrl =
    "http://169.254.169.254/metadata/identity/oauth2/"
    "token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net";

struct CurlResult {
  int exit_code{0};
  int status{0};
  std::string body;
};

// `curl` inside the pod's namespace; the last line of its output is the HTTP status.
CurlResult pod_curl(const Pod& pod, const std::string& url) {
  auto out =
      pod.ns->exec({"curl", "-sS", "--max-time", "10", "-H", "Metadata: true", "-w", "\n%{http_code}", url});
  REQUIRE(out.has_value());
  CurlResult r;
  r.exit_code = out->exit_code;
  const auto nl = out->out.rfind('\n');
  if (nl != std::string::npos) {
    r.body = out->out.substr(0, nl);
    r.status = std::atoi(out->out.c_str() + nl + 1);
  }
  return r;
}

std::string field(const std::string& body, const char* name) {
  const auto v = boost::json::parse(body);
  const auto* f = v.as_object().if_contains(name);
  return f != nullptr && f->is_string() ? std::string(f->as_string()) : std::string();
}

}  // namespace

TEMPLATE_TEST_CASE("A pod's plain IMDS call reaches the node proxy and gets only its own identity's token",
                   "[root]", LegacyBackend, NftBackend) {
  RootEnv env;
  PODID_REQUIRE_ROOT(env.runner);
  env.build(false);  // node, fake IMDS address, pods a and b (bound in the rules) and c (not bound)
  INFO("backend: " << TestType::kName);

  emulator::Emulator emu(small_cloud());
  REQUIRE(emu.start().has_value());
  core::Result<std::string> imds = core::make_error(core::ErrorCode::io, "not run");
  env.net->node().run([&] {
    imds = emu.serve_imds(vm_id("vm-0"), std::nullopt, emulator::Bind{NodeNetwork::kMetadataAddress, 80});
  });
  INFO((imds ? *imds : imds.error().describe()));
  REQUIRE(imds.has_value());
  const auto id_a = emu.identity(identity_id("id-a"));
  REQUIRE(id_a.has_value());

  nodeproxy::SnapshotIdentity a_identity;
  a_identity.key = {"default", "id-a"};
  a_identity.client_id = id_a->client_id;
  a_identity.resource_id = id_a->id;
  a_identity.phase = core::Phase::assigned;
  nodeproxy::NodeSnapshot snapshot;
  snapshot.node = "node-0";
  snapshot.pods.push_back({{"default", "pod-a"}, env.a->ip, "Running", {}, false, {a_identity}});
  snapshot.pods.push_back({{"default", "pod-b"}, env.b->ip, "Running", {}, false, {}});
  nodeproxy::MemorySnapshotSource source(snapshot);
  nodeproxy::MemorySecretReader secrets;

  nodeproxy::NodeProxyOptions options;
  options.listen_address = NodeNetwork::kNodeAddress;
  options.port = kProxyPort;
  options.imds_url = std::string("http://") + NodeNetwork::kMetadataAddress;
  options.authority_host = emu.authority_host();
  options.aad_tls.ca.data = emu.ca_pem();
  options.pipeline.assignment_wait = std::chrono::milliseconds(200);
  {
    RunningProxy proxy(options, source, secrets,
                       [&](std::function<void()> fn) { return env.net->node().start(fn); });
    INFO(proxy.error());
    REQUIRE(proxy.ok());

    auto rules = TestType::make(env.runner);
    auto installed = env.in_node([&] { return rules->ensure(env.spec()); });
    INFO((installed ? std::string() : installed.error().describe()));
    REQUIRE(installed.has_value());

    // Pod a: redirected to the node proxy, which fetched the token from the node's IMDS.
    const auto a = pod_curl(*env.a, kTokenUrl);
    INFO(a.body);
    REQUIRE(a.status == 200);
    CHECK(field(a.body, "client_id") == id_a->client_id);
    auto jwt = verified_jwt(emu, kTenant, field(a.body, "access_token"));
    INFO((jwt ? std::string() : jwt.error().describe()));
    REQUIRE(jwt.has_value());
    CHECK(jwt->claim_string("xms_mirid") == identity_id("id-a"));
    CHECK(jwt->claim_string("oid") == id_a->principal_id);

    // Pod b has no binding: the node proxy answers (it saw b's real address) and gives no token, although
    // the VM's IMDS itself would hand out id-a to anyone asking.
    const auto b = pod_curl(*env.b, kTokenUrl);
    CHECK(b.status == 400);
    CHECK(field(b.body, "error_description") == "Identity not found");
    CHECK(b.body.find("access_token") == std::string::npos);
    const auto b_named = pod_curl(*env.b, kTokenUrl + "&client_id=" + id_a->client_id);
    CHECK(b_named.status == 400);
    CHECK(b_named.body.find("access_token") == std::string::npos);

    // Pod c is not bound in the rules: the guard resets the connection, it never reaches the IMDS.
    const auto imds_calls = emu.counter("imds.token");
    const auto c = pod_curl(*env.c, kTokenUrl);
    CHECK(c.status == 0);
    CHECK(c.exit_code == 7);  // curl: failed to connect
    CHECK(emu.counter("imds.token") == imds_calls);

    // The proxy's log names the callers it saw, by their real addresses.
    bool saw_a = false;
    bool saw_b = false;
    for (const auto& line : proxy.log_lines()) {
      saw_a = saw_a || line.find("\"pod\":\"default/pod-a\"") != std::string::npos;
      saw_b = saw_b || line.find("\"caller\":\"" + env.b->ip + "\"") != std::string::npos;
    }
    CHECK(saw_a);
    CHECK(saw_b);

    REQUIRE(env.in_node([&] { return rules->remove(); }).has_value());
    auto after = env.in_node([&] { return rules->inspect(); });
    REQUIRE(after.has_value());
    CHECK(after->rules.chains.empty());
  }
  emu.stop();
}
