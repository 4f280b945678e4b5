#include "root/nodeproxy_process_env.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <stdexcept>

#include "tests/emulator/tests/test_client.hpp"

namespace podid::testing {
namespace {

std::string must_status(const HttpReply& reply, long want, const std::string& what) {
  if (reply.status != want)
    throw std::runtime_error(what + ": " + std::to_string(reply.status) + " " + reply.body);
  return reply.body;
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("no free port");
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string scratch_dir() {
  char pattern[] = "/tmp/podid-nodeproxy-process-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

}  // namespace

CurlResult curl_in(const NetNamespace& ns, const std::string& url, const std::string& source,
                   int max_seconds) {
  std::vector<std::string> argv{"curl",           "-sS", "--max-time",    std::to_string(max_seconds), "-H",
                                "Metadata: true", "-w",  "\n%{http_code}"};
  if (!source.empty()) argv.insert(argv.end(), {"--interface", source});
  argv.push_back(url);
  auto out = ns.exec(argv);
  if (!out) throw std::runtime_error("curl not run: " + out.error().describe());
  CurlResult r;
  r.exit_code = out->exit_code;
  const auto nl = out->out.rfind('\n');
  if (nl != std::string::npos) {
    r.body = out->out.substr(0, nl);
    r.status = std::atoi(out->out.c_str() + nl + 1);
  }
  return r;
}

std::string json_field(const std::string& body, const char* name) {
  boost::system::error_code ec;
  const auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return {};
  const auto* f = v.as_object().if_contains(name);
  return f != nullptr && f->is_string() ? std::string(f->as_string()) : std::string();
}

emulator::Result<emulator::Jwt> verified_jwt(const emulator::Emulator& emu, const std::string& tenant,
                                             const std::string& token) {
  auto jwt = emulator::jwt_parse(token);
  if (!jwt) return jwt.error();
  const auto kid = jwt->header_string("kid");
  const auto jwks = boost::json::parse(emu.jwks_json(tenant));
  for (const auto& k : jwks.at("keys").as_array()) {
    const auto& o = k.as_object();
    if (o.at("kid").as_string() != kid) continue;
    auto key = emulator::Key::from_rsa_jwk(o.at("n").as_string(), o.at("e").as_string());
    if (!key) return key.error();
    if (!emulator::jwt_verify(*jwt, *key))
      return core::make_error(core::ErrorCode::permission, "JWT signature does not verify");
    return jwt;
  }
  return core::make_error(core::ErrorCode::not_found, "No key " + kid + " in the tenant's JWKS");
}

ProcessWorld::ProcessWorld(ControlPlane& control, RootEnv& root)
    : cp(control),
      env(root),
      ns(cp.create_namespace("npproc")),
      node("node-" + ns),
      dir(scratch_dir()),
      pki("nodeproxy-process-ca") {
  auto config = emulator::testing::small_cloud();
  config.identities.push_back(emulator::IdentityConfig{emulator::testing::kSub, "ids", "demo", "eastus", {}});
  emu = std::make_unique<emulator::Emulator>(config);
  if (!emu->start()) throw std::runtime_error("emulator did not start");
  // The node's IMDS at the link-local address, inside the node namespace only.
  core::Result<std::string> imds = core::make_error(core::ErrorCode::io, "not run");
  env.net->node().run([&] {
    imds = emu->serve_imds(emulator::testing::vmss_id("ss-0"), 0,
                           emulator::Bind{NodeNetwork::kMetadataAddress, 80});
  });
  if (!imds) throw std::runtime_error("IMDS did not start: " + imds.error().describe());
  const auto leaf = pki.issue("controller", {"localhost"}, {"127.0.0.1"});
  cert_file = file("tls.crt", leaf.cert_pem);
  key_file = file("tls.key", leaf.key_pem);
  ca_file = file("ca.crt", pki.ca().cert_pem);
  replication_port = free_port();
  const auto& server = cp.info().server;  // https://127.0.0.1:<port>
  relay(static_cast<std::uint16_t>(std::stoi(server.substr(server.rfind(':') + 1))));
  relay(replication_port);
}

ProcessWorld::~ProcessWorld() {
  nodeproxy.reset();
  controller.reset();
  // The control plane is shared by the test cases of this binary and has no namespace controller:
  // delete what this case created (best effort), so the next case's controller does not act on it.
  const std::string base = "/apis/aadpodidentity.k8s.io/v1/namespaces/" + ns;
  for (const auto& path :
       {base + "/azureidentitybindings", base + "/azureidentities", base + "/azureassignedidentities",
        "/api/v1/namespaces/" + ns + "/pods?gracePeriodSeconds=0", "/api/v1/nodes/" + node})
    static_cast<void>(cp.request("DELETE", path));
  relays.clear();
  if (emu) emu->stop();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

void ProcessWorld::relay(std::uint16_t port) {
  core::Result<int> fd = core::make_error(core::ErrorCode::io, "not run");
  env.net->node().run([&] { fd = TcpResponder::listen_socket("127.0.0.1", port); });
  if (!fd) throw std::runtime_error("relay: " + fd.error().describe());
  relays.push_back(std::make_unique<LoopbackRelay>(*fd, port));
}

std::string ProcessWorld::file(const std::string& name, const std::string& text) const {
  const auto p = dir + "/" + name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

void ProcessWorld::post(const std::string& path, const boost::json::object& object) {
  must_status(cp.request("POST", path, boost::json::serialize(object)), 201, "POST " + path);
}

void ProcessWorld::create_node() {
  const std::string provider = std::string("azure:///subscriptions/") + emulator::testing::kSub +
                               "/resourceGroups/nodes/providers/Microsoft.Compute/virtualMachineScaleSets/"
                               "ss-0/virtualMachines/0";
  boost::json::array taints{{{"key", kReadyTaint}, {"effect", "NoSchedule"}},
                            {{"key", kOtherTaint}, {"effect", "NoSchedule"}}};
  post("/api/v1/nodes", {{"apiVersion", "v1"},
                         {"kind", "Node"},
                         {"metadata", {{"name", node}}},
                         {"spec", {{"providerID", provider}, {"taints", taints}}}});
}

void ProcessWorld::create_pod(const std::string& name, const std::string& selector, const std::string& ip,
                              const std::string& service_account) {
  boost::json::object labels;
  if (!selector.empty()) labels["aadpodidbinding"] = selector;
  const auto body = must_status(
      cp.request("POST", "/api/v1/namespaces/" + ns + "/pods",
                 boost::json::serialize(boost::json::object{
                     {"apiVersion", "v1"},
                     {"kind", "Pod"},
                     {"metadata", {{"name", name}, {"labels", labels}}},
                     {"spec",
                      {{"nodeName", node},
                       {"serviceAccountName", service_account},
                       {"containers", boost::json::array{{{"name", "c"}, {"image", "podid/test"}}}}}}})),
      201, "Pod " + name);
  pod_uids[name] = std::string(boost::json::parse(body).at("metadata").at("uid").as_string());
  if (ip.empty()) return;
  must_status(
      cp.request("PATCH", "/api/v1/namespaces/" + ns + "/pods/" + name + "/status",
                 R"({"status":{"phase":"Running","podIP":")" + ip + R"("}})", "application/merge-patch+json"),
      200, "Pod status " + name);
}

void ProcessWorld::create_identity(const emulator::ManagedIdentity& id) {
  post("/apis/aadpodidentity.k8s.io/v1/namespaces/" + ns + "/azureidentities",
       {{"apiVersion", "aadpodidentity.k8s.io/v1"},
        {"kind", "AzureIdentity"},
        {"metadata", {{"name", "demo"}}},
        {"spec", {{"type", 0}, {"resourceID", id.id}, {"clientID", id.client_id}}}});
  post("/apis/aadpodidentity.k8s.io/v1/namespaces/" + ns + "/azureidentitybindings",
       {{"apiVersion", "aadpodidentity.k8s.io/v1"},
        {"kind", "AzureIdentityBinding"},
        {"metadata", {{"name", "demo-binding"}}},
        {"spec", {{"azureIdentity", "demo"}, {"selector", ns}}}});
}

std::string ProcessWorld::nodeproxy_token_file() {
  post("/api/v1/namespaces/" + ns + "/serviceaccounts",
       {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", "podid-nodeproxy"}}}});
  create_pod("podid-nodeproxy", "", "", "podid-nodeproxy");
  const auto body =
      must_status(cp.request("POST", "/api/v1/namespaces/" + ns + "/serviceaccounts/podid-nodeproxy/token",
                             R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{)"
                             R"("audiences":["podid-controller"],)"
                             R"("expirationSeconds":3600,"boundObjectRef":{"apiVersion":"v1","kind":"Pod",)"
                             R"("name":"podid-nodeproxy","uid":")" +
                                 pod_uids.at("podid-nodeproxy") + R"("}}})"),
                  201, "TokenRequest");
  return file("token", std::string(boost::json::parse(body).at("status").at("token").as_string()));
}

void ProcessWorld::start_controller() {
  const auto azure_json =
      boost::json::serialize(boost::json::object{{"cloud", ""},
                                                 {"activeDirectoryEndpoint", emu->authority_host()},
                                                 {"resourceManagerEndpoint", emu->arm_endpoint()},
                                                 {"tokenAudience", "https://management.azure.com/"},
                                                 {"tenantId", emulator::testing::kTenant},
                                                 {"subscriptionId", emulator::testing::kSub},
                                                 {"resourceGroup", "nodes"},
                                                 {"vmType", "vmss"},
                                                 {"aadClientId", emulator::testing::kClient},
                                                 {"aadClientSecret", emulator::testing::kSecret}});
  const std::vector<std::string> argv{
      PODID_CONTROLLER_BIN,
      "--kubeconfig=" + cp.info().kubeconfig_path,
      "--cloudconfig=" + file("azure.json", azure_json),
      "--azure-ca-file=" + file("azure-ca.crt", emu->ca_pem()),
      "--store=" + dir + "/store",
      "--namespace=" + ns,
      "--http-probe-port=" + std::to_string(free_port()),
      "--prometheus-port=" + std::to_string(free_port()),
      "--replication-port=" + std::to_string(replication_port),
      "--replication-address=127.0.0.1",
      "--tls-cert-file=" + cert_file,
      "--tls-key-file=" + key_file,
      "--replication-allowed-users=system:serviceaccount:" + ns + ":podid-nodeproxy"};
  spawner.run([&] {
    controller = std::make_unique<ChildProcess>("podid-controller", argv, dir + "/controller.log");
  });
}

void ProcessWorld::start_nodeproxy(const std::string& mode, const std::string& token_file, int run) {
  // `ip netns exec` enters the namespace and execs the binary (no fork), so the child's pid is the
  // node proxy's own and SIGTERM reaches it directly.
  const std::vector<std::string> argv{
      "/usr/sbin/ip",
      "netns",
      "exec",
      env.net->node().name(),
      PODID_NODEPROXY_BIN,
      "--node-name=" + node,
      std::string("--host-ip=") + NodeNetwork::kNodeAddress,
      "--nmi-port=" + std::to_string(kProxyPort),
      std::string("--metadata-ip=") + NodeNetwork::kMetadataAddress,
      "--metadata-port=80",
      "--http-probe-port=" + std::to_string(kProbePort),
      "--created-wait=2s",
      "--controller-url=https://127.0.0.1:" + std::to_string(replication_port),
      "--controller-ca-file=" + ca_file,
      "--token-file=" + token_file,
      "--kubeconfig=" + cp.info().kubeconfig_path,
      "--interception=" + mode,
      "--log-level=debug"};
  nodeproxy.reset();
  spawner.run([&] {
    nodeproxy = std::make_unique<ChildProcess>("podid-nodeproxy", argv,
                                               dir + "/nodeproxy-" + std::to_string(run) + ".log");
  });
}

bool ProcessWorld::node_has_taint(const std::string& key) const {
  const auto reply = cp.request("GET", "/api/v1/nodes/" + node);
  if (reply.status != 200) throw std::runtime_error("GET node: " + std::to_string(reply.status));
  const auto parsed = boost::json::parse(reply.body);
  const auto* taints = parsed.at("spec").as_object().if_contains("taints");
  if (taints == nullptr || !taints->is_array()) return false;
  for (const auto& t : taints->as_array())
    if (t.as_object().at("key").as_string() == key) return true;
  return false;
}

int ProcessWorld::probe_status() const {
  auto out = env.net->node().exec({"curl", "-s", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}",
                                   "http://127.0.0.1:" + std::to_string(kProbePort) + "/healthz"});
  return out ? std::atoi(out->out.c_str()) : 0;
}

std::string ProcessWorld::logs() const {
  return "controller:\n" + (controller ? controller->log_tail(6000) : std::string()) + "\nnodeproxy:\n" +
         (nodeproxy ? nodeproxy->log_tail(6000) : std::string());
}

}  // namespace podid::testing
