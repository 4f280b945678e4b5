#include "integration/mains/mains_env.hpp"

namespace podid::mains_test {

std::uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("no free port");
  close(fd);
  return ntohs(a.sin_port);
}

std::string must_status(const HttpReply& reply, long want, const std::string& what) {
  if (reply.status != want)
    throw std::runtime_error(what + ": " + std::to_string(reply.status) + " " + reply.body);
  return reply.body;
}

Reply http_get(std::uint16_t port, const std::string& target, const std::string& source_ip, bool metadata) {
  Reply r;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {0, {}, "socket failed"};
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (!source_ip.empty()) {
    inet_pton(AF_INET, source_ip.c_str(), &a.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd);
      return {0, {}, "bind " + source_ip + " failed"};
    }
  }
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return {0, {}, "connection refused"};
  }
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n";
  if (metadata) request += "Metadata: true\r\n";
  request += "\r\n";
  std::string raw;
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    for (ssize_t n = 0; (n = recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  const auto head_end = raw.find("\r\n\r\n");
  if (!raw.starts_with("HTTP/1.1 ") || head_end == std::string::npos)
    return {0, {}, "no HTTP answer: " + raw};
  r.status = std::stol(raw.substr(9, 3));
  r.body = raw.substr(head_end + 4);
  return r;
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

Mains::Mains(ControlPlane& control)
    : cp(control), ns(cp.create_namespace("mains")), node("node-" + ns), pki("mains-test-ca") {
  auto config = emulator::testing::small_cloud();
  config.identities.push_back(emulator::IdentityConfig{emulator::testing::kSub, "ids", "demo", "eastus", {}});
  emu = std::make_unique<emulator::Emulator>(config);
  if (!emu->start()) throw std::runtime_error("emulator did not start");
  const auto imds = emu->serve_imds(emulator::testing::vmss_id("ss-0"), 0);
  if (!imds) throw std::runtime_error("IMDS did not start");
  imds_port = imds->substr(imds->rfind(':') + 1);
  const auto leaf = pki.issue("controller", {"localhost"}, {"127.0.0.1"});
  cert_file = dir.file("tls.crt", leaf.cert_pem);
  key_file = dir.file("tls.key", leaf.key_pem);
  ca_file = dir.file("ca.crt", pki.ca().cert_pem);
  nmi_port = free_port();
  probe_port = free_port();
  replication_port = free_port();
}

void Mains::post(const std::string& path, const boost::json::object& object) {
  must_status(cp.request("POST", path, boost::json::serialize(object)), 201, "POST " + path);
}

void Mains::create_node() {
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

void Mains::create_pod(const std::string& name, const std::string& selector, const std::string& ip,
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

std::string Mains::nodeproxy_token_file() {
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
  return dir.file("token", std::string(boost::json::parse(body).at("status").at("token").as_string()));
}

void Mains::create_binding() {
  post("/apis/aadpodidentity.k8s.io/v1/namespaces/" + ns + "/azureidentitybindings",
       {{"apiVersion", "aadpodidentity.k8s.io/v1"},
        {"kind", "AzureIdentityBinding"},
        {"metadata", {{"name", "demo-binding"}}},
        {"spec", {{"azureIdentity", "demo"}, {"selector", "demo"}}}});
}

void Mains::create_identity(const emulator::ManagedIdentity& id) {
  post("/apis/aadpodidentity.k8s.io/v1/namespaces/" + ns + "/azureidentities",
       {{"apiVersion", "aadpodidentity.k8s.io/v1"},
        {"kind", "AzureIdentity"},
        {"metadata", {{"name", "demo"}}},
        {"spec", {{"type", 0}, {"resourceID", id.id}, {"clientID", id.client_id}}}});
  create_binding();
}

void Mains::start_controller(bool managed) {
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
  std::vector<std::string> argv{PODID_CONTROLLER_BIN, "--kubeconfig=" + cp.info().kubeconfig_path};
  if (managed) {
    argv.insert(argv.end(), {"--operation-mode=managed", "--forceNamespaced"});
  } else {
    argv.insert(argv.end(), {"--cloudconfig=" + dir.file("azure.json", azure_json),
                             "--azure-ca-file=" + dir.file("azure-ca.crt", emu->ca_pem())});
  }
  argv.insert(
      argv.end(),
      {"--store=" + dir.path + "/store", "--namespace=" + ns,
       "--http-probe-port=" + std::to_string(free_port()), "--prometheus-port=" + std::to_string(free_port()),
       "--replication-port=" + std::to_string(replication_port), "--replication-address=127.0.0.1",
       "--tls-cert-file=" + cert_file, "--tls-key-file=" + key_file,
       "--replication-allowed-users=system:serviceaccount:" + ns + ":podid-nodeproxy"});
  spawner.run([&] {
    controller = std::make_unique<ChildProcess>("podid-controller", argv, dir.path + "/controller.log");
  });
}

void Mains::start_nodeproxy(const std::string& token_file, bool managed) {
  std::vector<std::string> argv{PODID_NODEPROXY_BIN,
                                "--node-name=" + node,
                                "--host-ip=127.0.0.1",
                                "--nmi-port=" + std::to_string(nmi_port),
                                "--metadata-ip=127.0.0.1",
                                "--metadata-port=" + imds_port,
                                "--http-probe-port=" + std::to_string(probe_port),
                                "--created-wait=2s",
                                "--controller-url=https://127.0.0.1:" + std::to_string(replication_port),
                                "--controller-ca-file=" + ca_file,
                                "--token-file=" + token_file,
                                "--kubeconfig=" + cp.info().kubeconfig_path,
                                "--interception=none",
                                "--log-level=debug"};
  if (managed) argv.insert(argv.end(), {"--operation-mode=managed", "--forceNamespaced"});
  spawner.run([&] {
    nodeproxy = std::make_unique<ChildProcess>("podid-nodeproxy", argv, dir.path + "/nodeproxy.log");
  });
}

Reply Mains::get_token(const std::string& source_ip) const {
  return http_get(nmi_port, token_target(), source_ip);
}

std::string Mains::token_target() {
  return "/metadata/identity/oauth2/"
         "token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F";
}

bool Mains::node_has_taint(const std::string& key) const {
  const auto reply = cp.request("GET", "/api/v1/nodes/" + node);
  if (reply.status != 200) return true;
  const auto parsed = boost::json::parse(reply.body);
  const auto* taints = parsed.at("spec").as_object().if_contains("taints");
  if (taints == nullptr || !taints->is_array()) return false;
  for (const auto& t : taints->as_array())
    if (t.as_object().at("key").as_string() == key) return true;
  return false;
}

std::string Mains::logs() const {
  return "controller:\n" + (controller ? controller->log_tail(6000) : std::string()) + "\nnodeproxy:\n" +
         (nodeproxy ? nodeproxy->log_tail(6000) : std::string());
}

}  // namespace podid::mains_test
