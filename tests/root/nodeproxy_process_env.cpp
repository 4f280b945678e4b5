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

ProcessWorld::ProcessWorld(ControlPlane& control, RootEnv& root)
    : ClusterObjects(control, "npproc"), env(root), pki("nodeproxy-process-ca") {
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
  cert_file = dir.file("tls.crt", leaf.cert_pem);
  key_file = dir.file("tls.key", leaf.key_pem);
  ca_file = dir.file("ca.crt", pki.ca().cert_pem);
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
}

void ProcessWorld::relay(std::uint16_t port) {
  core::Result<int> fd = core::make_error(core::ErrorCode::io, "not run");
  env.net->node().run([&] { fd = TcpResponder::listen_socket("127.0.0.1", port); });
  if (!fd) throw std::runtime_error("relay: " + fd.error().describe());
  relays.push_back(std::make_unique<LoopbackRelay>(*fd, port));
}

void ProcessWorld::start_controller() {
  const auto argv =
      controller_argv({PODID_CONTROLLER_BIN, cp.info().kubeconfig_path, dir.path() + "/store", ns,
                       dir.file("azure.json", emulator_azure_json(*emu)),
                       dir.file("azure-ca.crt", emu->ca_pem()), replication_port, cert_file, key_file});
  spawner.run([&] {
    controller = std::make_unique<ChildProcess>("podid-controller", argv, dir.path() + "/controller.log");
  });
}

void ProcessWorld::start_nodeproxy(const std::string& mode, const std::string& token_file, int run) {
  // `ip netns exec` enters the namespace and execs the binary (no fork), so the child's pid is the
  // node proxy's own and SIGTERM reaches it directly.
  const std::vector<std::string> fixed{
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
      "--replica-file=",  // never the node's default path from a test
      "--log-level=debug"};
  std::vector<std::string> argv = fixed;
  argv.insert(argv.end(), nodeproxy_args.begin(), nodeproxy_args.end());
  nodeproxy.reset();
  spawner.run([&] {
    nodeproxy = std::make_unique<ChildProcess>("podid-nodeproxy", argv,
                                               dir.path() + "/nodeproxy-" + std::to_string(run) + ".log");
  });
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
