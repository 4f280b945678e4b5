#include "integration/mains/cluster_world.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "tests/emulator/tests/test_client.hpp"

namespace podid::testing {

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool bound = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  if (fd >= 0) ::close(fd);
  if (!bound) throw std::runtime_error("no free port");
  return ntohs(a.sin_port);
}

std::string must_status(const HttpReply& reply, long want, const std::string& what) {
  if (reply.status != want)
    throw std::runtime_error(what + ": " + std::to_string(reply.status) + " " + reply.body);
  return reply.body;
}

ScratchDir::ScratchDir(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ScratchDir::file(const std::string& name, const std::string& text) const {
  const auto p = path_ + "/" + name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

ClusterObjects::ClusterObjects(ControlPlane& control, const std::string& namespace_prefix)
    : cp(control), ns(cp.create_namespace(namespace_prefix)), node("node-" + ns) {}

void ClusterObjects::post(const std::string& path, const boost::json::object& object) {
  must_status(cp.request("POST", path, boost::json::serialize(object)), 201, "POST " + path);
}

void ClusterObjects::create_node() {
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

void ClusterObjects::create_pod(const std::string& name, const std::string& selector, const std::string& ip,
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

void ClusterObjects::create_binding(const std::string& selector, const std::string& identity) {
  post("/apis/aadpodidentity.k8s.io/v1/namespaces/" + ns + "/azureidentitybindings",
       {{"apiVersion", "aadpodidentity.k8s.io/v1"},
        {"kind", "AzureIdentityBinding"},
        {"metadata", {{"name", identity + "-binding"}}},
        {"spec", {{"azureIdentity", identity}, {"selector", selector}}}});
}

void ClusterObjects::delete_binding(const std::string& identity) {
  must_status(cp.request("DELETE", "/apis/aadpodidentity.k8s.io/v1/namespaces/" + ns +
                                       "/azureidentitybindings/" + identity + "-binding"),
              200, "delete binding");
}

void ClusterObjects::create_identity(const emulator::ManagedIdentity& id, const std::string& selector,
                                     const std::string& name) {
  post("/apis/aadpodidentity.k8s.io/v1/namespaces/" + ns + "/azureidentities",
       {{"apiVersion", "aadpodidentity.k8s.io/v1"},
        {"kind", "AzureIdentity"},
        {"metadata", {{"name", name}}},
        {"spec", {{"type", 0}, {"resourceID", id.id}, {"clientID", id.client_id}}}});
  create_binding(selector, name);
}

std::string ClusterObjects::nodeproxy_token() {
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
  return std::string(boost::json::parse(body).at("status").at("token").as_string());
}

bool ClusterObjects::node_has_taint(const std::string& key) const {
  const auto reply = cp.request("GET", "/api/v1/nodes/" + node);
  if (reply.status != 200) throw std::runtime_error("GET node: " + std::to_string(reply.status));
  const auto parsed = boost::json::parse(reply.body);
  const auto* taints = parsed.at("spec").as_object().if_contains("taints");
  if (taints == nullptr || !taints->is_array()) return false;
  for (const auto& t : taints->as_array())
    if (t.as_object().at("key").as_string() == key) return true;
  return false;
}

std::string LoopbackReply::field(const char* name) const {
  boost::system::error_code ec;
  const auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return {};
  const auto* f = v.as_object().if_contains(name);
  return f != nullptr && f->is_string() ? std::string(f->as_string()) : std::string{};
}

namespace {

// The value of header `name` (lower case) in a response head, without leading spaces; empty when absent.
std::string header_value(const std::string& head, const std::string& name) {
  std::string low = head;
  std::transform(low.begin(), low.end(), low.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto at = low.find("\r\n" + name + ":");
  if (at == std::string::npos) return {};
  auto from = at + 2 + name.size() + 1;
  const auto end = std::min(head.find("\r\n", from), head.size());
  while (from < end && head[from] == ' ') ++from;
  return head.substr(from, end - from);
}

}  // namespace

LoopbackReply loopback_get(std::uint16_t port, const std::string& target, const std::string& source_ip,
                           bool metadata) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {0, {}, "socket failed", {}};
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (!source_ip.empty()) {
    ::inet_pton(AF_INET, source_ip.c_str(), &a.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return {0, {}, "bind " + source_ip + " failed", {}};
    }
  }
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return {0, {}, "connection refused", {}};
  }
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n";
  if (metadata) request += "Metadata: true\r\n";
  request += "\r\n";
  std::string raw;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    for (ssize_t n = 0; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
      raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto head_end = raw.find("\r\n\r\n");
  if (!raw.starts_with("HTTP/1.1 ") || head_end == std::string::npos)
    return {0, {}, "no HTTP answer: " + raw, {}};
  return {std::stol(raw.substr(9, 3)),
          raw.substr(head_end + 4),
          {},
          header_value(raw.substr(0, head_end), "retry-after")};
}

std::string emulator_azure_json(const emulator::Emulator& emu) {
  return boost::json::serialize(boost::json::object{{"cloud", ""},
                                                    {"activeDirectoryEndpoint", emu.authority_host()},
                                                    {"resourceManagerEndpoint", emu.arm_endpoint()},
                                                    {"tokenAudience", "https://management.azure.com/"},
                                                    {"tenantId", emulator::testing::kTenant},
                                                    {"subscriptionId", emulator::testing::kSub},
                                                    {"resourceGroup", "nodes"},
                                                    {"vmType", "vmss"},
                                                    {"aadClientId", emulator::testing::kClient},
                                                    {"aadClientSecret", emulator::testing::kSecret}});
}

std::vector<std::string> controller_argv(const ControllerSetup& s) {
  std::vector<std::string> argv{s.binary, "--kubeconfig=" + s.kubeconfig};
  if (s.cloudconfig.empty())
    argv.insert(argv.end(), {"--operation-mode=managed", "--forceNamespaced"});
  else
    argv.insert(argv.end(), {"--cloudconfig=" + s.cloudconfig, "--azure-ca-file=" + s.azure_ca_file});
  argv.insert(
      argv.end(),
      {"--store=" + s.store, "--namespace=" + s.ns, "--http-probe-port=" + std::to_string(free_port()),
       "--prometheus-port=" + std::to_string(free_port()),
       "--replication-port=" + std::to_string(s.replication_port), "--replication-address=127.0.0.1",
       "--tls-cert-file=" + s.cert_file, "--tls-key-file=" + s.key_file,
       "--replication-allowed-users=system:serviceaccount:" + s.ns + ":podid-nodeproxy"});
  return argv;
}

std::vector<std::string> nodeproxy_argv(const LoopbackNodeProxySetup& s) {
  return {s.binary,
          "--node-name=" + s.node,
          "--host-ip=127.0.0.1",
          "--nmi-port=" + std::to_string(s.nmi_port),
          "--metadata-ip=127.0.0.1",
          "--metadata-port=" + s.imds_port,
          "--http-probe-port=" + std::to_string(s.probe_port),
          "--created-wait=2s",
          "--controller-url=https://127.0.0.1:" + std::to_string(s.replication_port),
          "--controller-ca-file=" + s.controller_ca_file,
          "--token-file=" + s.token_file,
          "--kubeconfig=" + s.kubeconfig,
          "--interception=none",
          "--replica-file=",
          "--log-level=debug"};
}

}  // namespace podid::testing
