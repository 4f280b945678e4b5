#include "tests/bench/nodeproxy_bench_world.hpp"

#include <boost/json/parse.hpp>
#include <stdexcept>

#include "tests/emulator/tests/test_client.hpp"

namespace podid::bench {
namespace json = boost::json;
namespace et = emulator::testing;
namespace t = podid::testing;

NodeProxyWorld::NodeProxyWorld(t::ControlPlane& control, const NodeProxyWorldOptions& options)
    : ClusterObjects(control, "bench-nodeproxy"), pki_("bench-nodeproxy-ca") {
  auto config = et::small_cloud();
  for (const auto& name : options.identities)
    config.identities.push_back(emulator::IdentityConfig{et::kSub, "ids", name, "eastus", {}});
  config.imds_rate = options.imds_rate;
  config.imds_max_concurrent = options.imds_max_concurrent;
  emu_ = std::make_unique<emulator::Emulator>(config);
  if (!emu_->start()) throw std::runtime_error("emulator did not start");
  const auto imds = emu_->serve_imds(et::vmss_id("ss-0"), 0);
  if (!imds) throw std::runtime_error("IMDS did not start");
  imds_port_ = imds->substr(imds->rfind(':') + 1);
  const auto leaf = pki_.issue("controller", {"localhost"}, {"127.0.0.1"});
  cert_file_ = dir_.file("tls.crt", leaf.cert_pem);
  key_file_ = dir_.file("tls.key", leaf.key_pem);
  ca_file_ = dir_.file("ca.crt", pki_.ca().cert_pem);
  azure_ca_file_ = dir_.file("azure-ca.crt", emu_->ca_pem());
  azure_json_file_ = dir_.file("azure.json", t::emulator_azure_json(*emu_));
  nmi_port_ = t::free_port();
  probe_port_ = t::free_port();
  metrics_port_ = t::free_port();
  replication_port_ = t::free_port();
  create_node();
  for (const auto& name : options.identities) {
    const auto id = emu_->identity(et::identity_id(name));
    if (!id) throw std::runtime_error("no emulated identity " + name);
    create_identity(*id, name, name);
  }
  token_file_ = dir_.file("token", nodeproxy_token());
}

NodeProxyWorld::~NodeProxyWorld() {
  // The controller watches every namespace: leave nothing a later world's controller would act on (pods
  // on a node of the same scale-set instance, identities with the same resource IDs). The pods go at once
  // (no kubelet to wait for), and this world's controller removes their assignments before it stops.
  const std::string group = "/apis/aadpodidentity.k8s.io/v1/namespaces/" + ns;
  static_cast<void>(cp.request("DELETE", "/api/v1/namespaces/" + ns + "/pods?gracePeriodSeconds=0"));
  static_cast<void>(cp.request("DELETE", group + "/azureidentitybindings"));
  static_cast<void>(cp.request("DELETE", group + "/azureidentities"));
  if (controller_)
    static_cast<void>(t::eventually([&] { return aai_count(false) == 0; }, std::chrono::seconds(30)));
  if (nodeproxy_) nodeproxy_->stop();
  if (controller_) controller_->stop();
  static_cast<void>(cp.request("DELETE", "/api/v1/nodes/" + node));
}

void NodeProxyWorld::create_pods(const std::vector<BenchPod>& pods) {
  for (const auto& p : pods) create_pod(p.name, p.identity, p.ip);
}

void NodeProxyWorld::start_controller() {
  const auto argv =
      t::controller_argv({PODID_CONTROLLER_BIN, cp.info().kubeconfig_path, dir_.path() + "/store", ns,
                          azure_json_file_, azure_ca_file_, replication_port_, cert_file_, key_file_});
  const auto log = dir_.path() + "/controller.log";
  spawner_.run([&] { controller_ = std::make_unique<t::ChildProcess>("podid-controller", argv, log); });
}

void NodeProxyWorld::start_nodeproxy(const std::vector<std::string>& extra) {
  auto argv = t::nodeproxy_argv({PODID_NODEPROXY_BIN, cp.info().kubeconfig_path, node, nmi_port_, probe_port_,
                                 replication_port_, imds_port_, ca_file_, token_file_});
  // The deployment's level, not the tests' debug: what is measured is what a node runs.
  for (auto& a : argv)
    if (a == "--log-level=debug") a = "--log-level=info";
  argv.push_back("--prometheus-port=" + std::to_string(metrics_port_));
  argv.insert(argv.end(), extra.begin(), extra.end());
  const auto log = dir_.path() + "/nodeproxy.log";
  if (nodeproxy_) nodeproxy_->stop();
  spawner_.run([&] { nodeproxy_ = std::make_unique<t::ChildProcess>("podid-nodeproxy", argv, log); });
}

std::size_t NodeProxyWorld::aai_count(bool assigned_only) const {
  const auto reply = cp.request("GET", "/apis/aadpodidentity.k8s.io/v1/azureassignedidentities");
  if (reply.status != 200) return 0;
  std::size_t n = 0;
  const auto list = json::parse(reply.body);
  for (const auto& item : list.at("items").as_array()) {
    const auto& o = item.as_object();
    const auto* p_ns = o.at("spec").as_object().if_contains("podNamespace");
    const auto* status = o.if_contains("status");
    const auto* phase =
        status != nullptr && status->is_object() ? status->as_object().if_contains("status") : nullptr;
    const bool assigned = phase != nullptr && phase->is_string() && phase->as_string() == "Assigned";
    if (p_ns != nullptr && p_ns->is_string() && p_ns->as_string() == ns && (assigned || !assigned_only)) ++n;
  }
  return n;
}

bool NodeProxyWorld::wait_settled(std::size_t pods, std::chrono::milliseconds limit, std::string& why) {
  const auto ready = [&] { return t::loopback_get(probe_port_, "/readyz", "", false).status == 200; };
  if (!t::eventually(ready, limit)) {
    why = "the node proxy never became ready";
    return false;
  }
  if (!t::eventually([&] { return aai_count(true) >= pods; }, limit)) {
    why = std::to_string(aai_count(true)) + " of " + std::to_string(pods) + " assignments Assigned";
    return false;
  }
  // The controller streams each change to the node proxy as it happens: wait until the replica's sequence
  // number has not moved for a second.
  double seq = -2;
  int still = 0;
  const bool stable = t::eventually(
      [&] {
        const double now = nodeproxy_metric("aadpodidentity_nmi_replica_seq");
        still = now == seq && now >= 0 ? still + 1 : 0;
        seq = now;
        return still >= 20;
      },
      limit);
  if (!stable) why = "the node proxy's replica never settled";
  return stable;
}

double NodeProxyWorld::nodeproxy_metric(const std::string& series) const {
  const auto reply = t::loopback_get(metrics_port_, "/metrics", "", false);
  if (reply.status != 200) return -1;
  const auto at = reply.body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(reply.body.substr(at + series.size() + 2));
}

std::string NodeProxyWorld::logs() const {
  return "controller:\n" + (controller_ ? controller_->log_tail(4000) : std::string()) + "\nnodeproxy:\n" +
         (nodeproxy_ ? nodeproxy_->log_tail(4000) : std::string());
}

}  // namespace podid::bench
