#include "integration/mains/mains_env.hpp"

namespace podid::mains_test {

Mains::Mains(ControlPlane& control) : ClusterObjects(control, "mains"), pki("mains-test-ca") {
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

void Mains::start_controller(bool managed) {
  testing::ControllerSetup setup{PODID_CONTROLLER_BIN,
                                 cp.info().kubeconfig_path,
                                 dir.path() + "/store",
                                 ns,
                                 "",
                                 "",
                                 replication_port,
                                 cert_file,
                                 key_file};
  if (!managed) {
    setup.cloudconfig = dir.file("azure.json", testing::emulator_azure_json(*emu));
    setup.azure_ca_file = dir.file("azure-ca.crt", emu->ca_pem());
  }
  const auto argv = testing::controller_argv(setup);
  spawner.run([&] {
    controller = std::make_unique<ChildProcess>("podid-controller", argv, dir.path() + "/controller.log");
  });
}

void Mains::start_nodeproxy(const std::string& token_file, bool managed) {
  auto argv = testing::nodeproxy_argv({PODID_NODEPROXY_BIN, cp.info().kubeconfig_path, node, nmi_port,
                                       probe_port, replication_port, imds_port, ca_file, token_file});
  if (managed) argv.insert(argv.end(), {"--operation-mode=managed", "--forceNamespaced"});
  spawner.run([&] {
    nodeproxy = std::make_unique<ChildProcess>("podid-nodeproxy", argv, dir.path() + "/nodeproxy.log");
  });
}

void Mains::start_nodeproxy_with(const std::string& token_file, const std::string& replica_file,
                                 const std::vector<std::string>& extra, const std::string& log_name) {
  auto argv = testing::nodeproxy_argv({PODID_NODEPROXY_BIN, cp.info().kubeconfig_path, node, nmi_port,
                                       probe_port, replication_port, imds_port, ca_file, token_file});
  for (auto& arg : argv)
    if (arg.starts_with("--replica-file=")) arg = "--replica-file=" + replica_file;
  argv.insert(argv.end(), extra.begin(), extra.end());
  nodeproxy.reset();
  spawner.run([&] {
    nodeproxy = std::make_unique<ChildProcess>("podid-nodeproxy", argv, dir.path() + "/" + log_name);
  });
}

Reply Mains::get_token(const std::string& source_ip) const {
  return http_get(nmi_port, token_target(), source_ip);
}

std::string Mains::token_target() {
  return testing::kTokenTarget;
}

std::string Mains::logs() const {
  return "controller:\n" + (controller ? controller->log_tail(6000) : std::string()) + "\nnodeproxy:\n" +
         (nodeproxy ? nodeproxy->log_tail(6000) : std::string());
}

}  // namespace podid::mains_test
