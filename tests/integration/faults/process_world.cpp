#include "integration/faults/process_world.hpp"

#include <boost/json/parse.hpp>
#include <stdexcept>

#include "tests/emulator/tests/test_client.hpp"

namespace podid::faults_test {
namespace json = boost::json;
namespace et = emulator::testing;

ProcessWorld::ProcessWorld(ControlPlane& control) : ClusterObjects(control, "faults"), pki("faults-test-ca") {
  auto config = et::small_cloud();
  config.identities.push_back(emulator::IdentityConfig{et::kSub, "ids", "demo", "eastus", {}});
  emu = std::make_unique<emulator::Emulator>(config);
  if (!emu->start()) throw std::runtime_error("emulator did not start");
  const auto imds = emu->serve_imds(et::vmss_id("ss-0"), 0);
  if (!imds) throw std::runtime_error("IMDS did not start");
  imds_port = imds->substr(imds->rfind(':') + 1);
  const auto leaf = pki.issue("controller", {"localhost"}, {"127.0.0.1"});
  cert_file = dir.file("tls.crt", leaf.cert_pem);
  key_file = dir.file("tls.key", leaf.key_pem);
  ca_file = dir.file("ca.crt", pki.ca().cert_pem);
  azure_ca_file = dir.file("azure-ca.crt", emu->ca_pem());
  azure_json_file = dir.file("azure.json", testing::emulator_azure_json(*emu));
  nmi_port = testing::free_port();
  replication_port = testing::free_port();
}

ProcessWorld::~ProcessWorld() {
  if (nodeproxy) nodeproxy->stop();
  if (controller) controller->stop();
  static_cast<void>(cp.request("DELETE", "/api/v1/namespaces/" + ns + "/pods"));
}

void ProcessWorld::create_identity(const std::string& name) {
  const auto id = emu->identity(et::identity_id(name));
  if (!id) throw std::runtime_error("no emulated identity " + name);
  ClusterObjects::create_identity(*id, name, name);
}

void ProcessWorld::start_controller(const std::vector<std::string>& extra) {
  controller_instance = "controller-" + std::to_string(++controller_starts);
  auto argv =
      testing::controller_argv({PODID_CONTROLLER_BIN, cp.info().kubeconfig_path, store_path(), ns,
                                azure_json_file, azure_ca_file, replication_port, cert_file, key_file});
  argv.push_back("--leader-election-instance=" + controller_instance);
  argv.insert(argv.end(), extra.begin(), extra.end());
  const std::string port_flag = "--prometheus-port=";
  for (const auto& a : argv)
    if (a.starts_with(port_flag))
      metrics_port = static_cast<std::uint16_t>(std::stoi(a.substr(port_flag.size())));
  const auto log = dir.path() + "/" + controller_instance + ".log";
  spawner.run([&] { controller = std::make_unique<testing::ChildProcess>("podid-controller", argv, log); });
}

void ProcessWorld::start_nodeproxy(const std::string& token_file) {
  const auto argv =
      testing::nodeproxy_argv({PODID_NODEPROXY_BIN, cp.info().kubeconfig_path, node, nmi_port,
                               testing::free_port(), replication_port, imds_port, ca_file, token_file});
  spawner.run([&] {
    nodeproxy =
        std::make_unique<testing::ChildProcess>("podid-nodeproxy", argv, dir.path() + "/nodeproxy.log");
  });
}

Reply ProcessWorld::get_token(const std::string& source_ip) const {
  return testing::loopback_get(nmi_port, testing::kTokenTarget, source_ip);
}

std::string ProcessWorld::lease_holder() const {
  const auto reply =
      cp.request("GET", "/apis/coordination.k8s.io/v1/namespaces/" + ns + "/leases/aad-pod-identity-mic");
  if (reply.status != 200) return {};
  const auto lease = json::parse(reply.body);
  const auto* spec = lease.as_object().if_contains("spec");
  if (spec == nullptr || !spec->is_object()) return {};
  const auto* holder = spec->as_object().if_contains("holderIdentity");
  return holder != nullptr && holder->is_string() ? std::string(holder->as_string()) : std::string{};
}

std::string ProcessWorld::metrics() const {
  const auto reply = testing::loopback_get(metrics_port, "/metrics", "", false);
  return reply.status == 200 ? reply.body : std::string{};
}

double ProcessWorld::metric(const std::string& series) const {
  const auto page = metrics();
  const auto at = page.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(page.substr(at + series.size() + 2));
}

bool ProcessWorld::assigned_identity_exists(const std::string& pod, const std::string& identity) const {
  return !assigned_identity_status(pod, identity).empty();
}

std::string ProcessWorld::assigned_identity_status(const std::string& pod,
                                                   const std::string& identity) const {
  // Without forceNamespaced they live in the controller's namespace, not the pod's: list them all.
  const auto reply = cp.request("GET", "/apis/aadpodidentity.k8s.io/v1/azureassignedidentities");
  if (reply.status != 200) return {};
  const auto list = json::parse(reply.body);
  for (const auto& item : list.at("items").as_array()) {
    const auto& spec = item.at("spec").as_object();
    const auto* p = spec.if_contains("pod");
    const auto* p_ns = spec.if_contains("podNamespace");
    const auto* id = spec.if_contains("azureIdentityRef");
    if (p == nullptr || !p->is_string() || p->as_string() != pod || p_ns == nullptr || !p_ns->is_string() ||
        p_ns->as_string() != ns || id == nullptr || !id->is_object())
      continue;
    const auto* name = id->as_object().at("metadata").as_object().if_contains("name");
    if (name == nullptr || !name->is_string() || name->as_string() != identity) continue;
    const auto* status = item.as_object().if_contains("status");
    const auto* phase =
        status != nullptr && status->is_object() ? status->as_object().if_contains("status") : nullptr;
    // An object without a status yet still exists: say so with a placeholder rather than "".
    return phase != nullptr && phase->is_string() ? std::string(phase->as_string()) : std::string("(none)");
  }
  return {};
}

std::string ProcessWorld::logs() const {
  return "controller:\n" + (controller ? controller->log_tail(6000) : std::string()) + "\nnodeproxy:\n" +
         (nodeproxy ? nodeproxy->log_tail(6000) : std::string());
}

}  // namespace podid::faults_test
