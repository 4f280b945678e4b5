#include "tests/demo/demo_node.hpp"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <future>

#include "nodeproxy/iptables/legacy_iptables_rules.hpp"
#include "nodeproxy/node_snapshot.hpp"

namespace podid::demo {
namespace {

constexpr std::uint16_t kProxyPort = 2579;

}  // namespace

core::Result<std::unique_ptr<DemoNode>> DemoNode::create(iptables::CommandRunner& runner, std::string name,
                                                         int index, const core::Clock& clock,
                                                         core::Sink& sink) {
  std::unique_ptr<DemoNode> node(new DemoNode(runner, std::move(name), index, clock, sink));
  node->net_ = PODID_TRY(testing::NodeNetwork::create(runner));
  PODID_TRY(node->net_->add_fake_imds());
  PODID_TRY(node->add_uplink());
  return node;
}

// host podidd<pid>h<i> 10.254.<i>.1/30 <-> node podidd<pid>n<i> 10.254.<i>.2/30; the node routes the cloud
// address through it and masquerades, so replies find their way back to pods whose IPs repeat across nodes.
core::Status DemoNode::add_uplink() {
  const auto i = std::to_string(index_);
  const auto tag = std::to_string(getpid() % 100000);
  uplink_ = "podidd" + tag + "h" + i;
  const auto inner = "podidd" + tag + "n" + i;
  auto run = [&](std::vector<std::string> argv) -> core::Status {
    auto out = PODID_TRY(runner_.run(argv, {}));
    if (out.exit_code != 0)
      return core::make_error(core::ErrorCode::io,
                              "command failed: " + argv[0] + " " + argv[1] + ": " + out.err);
    return core::ok();
  };
  const auto& ns = net_->node().name();
  PODID_TRY(run({"ip", "link", "add", uplink_, "type", "veth", "peer", "name", inner}));
  PODID_TRY(run({"ip", "link", "set", inner, "netns", ns}));
  PODID_TRY(run({"ip", "addr", "add", "10.254." + i + ".1/30", "dev", uplink_}));
  PODID_TRY(run({"ip", "link", "set", uplink_, "up"}));
  PODID_TRY(net_->node().must({"ip", "addr", "add", "10.254." + i + ".2/30", "dev", inner}));
  PODID_TRY(net_->node().must({"ip", "link", "set", inner, "up"}));
  if (index_ != 0)
    PODID_TRY(net_->node().must(
        {"ip", "route", "add", std::string(kCloudAddress) + "/32", "via", "10.254." + i + ".1"}));
  PODID_TRY(net_->node().must(
      {"iptables-legacy", "-t", "nat", "-A", "POSTROUTING", "-o", inner, "-j", "MASQUERADE"}));
  return core::ok();
}

core::Status DemoNode::start(emulator::Emulator& cloud, const std::string& machine_id, int instance) {
  DemoNode* node = this;
  // The node's IMDS: the emulator's, for this instance, bound inside the node's namespace.
  core::Result<std::string> imds = core::make_error(core::ErrorCode::io, "not started");
  net_->node().run([&] {
    imds = cloud.serve_imds(machine_id, instance, emulator::Bind{testing::NodeNetwork::kMetadataAddress, 80});
  });
  PODID_TRY(imds);

  // The node proxy, listening in the node's namespace on its own thread.
  nodeproxy::NodeProxyOptions options;
  options.listen_address = testing::NodeNetwork::kNodeAddress;
  options.port = kProxyPort;
  options.imds_url = std::string("http://") + testing::NodeNetwork::kMetadataAddress;
  options.authority_host = cloud.authority_host();
  options.aad_tls.ca.file = cloud.ca_file();
  auto proxy =
      nodeproxy::NodeProxy::create(node->io_.get_executor(), options, node->snapshots_, node->secrets_,
                                   clock_, core::Logger(sink_, clock_, "nodeproxy/" + name_));
  if (!proxy) return proxy.error();
  node->proxy_ = std::move(*proxy);
  std::promise<core::Status> started;
  auto ready = started.get_future();
  thread_ = net_->node().start([node, &started] {
    auto work = boost::asio::make_work_guard(node->io_);
    started.set_value(node->proxy_->start());
    node->io_.run();
  });
  PODID_TRY(ready.get());
  return update_rules();
}

DemoNode::~DemoNode() {
  if (thread_.joinable()) {
    boost::asio::co_spawn(io_, proxy_->stop(), [this](std::exception_ptr) { io_.stop(); });
    thread_.join();
  }
  if (net_) {
    net_->node().run([] {
      iptables::LegacyIptablesRules rules({std::string(iptables::kDefaultChain), ""});
      static_cast<void>(rules.remove());
    });
  }
}

core::Result<testing::Pod*> DemoNode::add_pod() {
  auto* pod = PODID_TRY(net_->add_pod());
  PODID_TRY(update_rules());
  return pod;
}

core::Status DemoNode::update_rules() {
  iptables::RuleSpec spec;
  spec.proxy.address = PODID_TRY(iptables::Ipv4Address::parse(testing::NodeNetwork::kNodeAddress));
  spec.proxy.port = kProxyPort;
  for (const auto& pod : net_->pods()) {
    spec.bindings.push_back({PODID_TRY(iptables::Ipv4Address::parse(pod->ip)), pod->host_interface});
  }
  core::Status result = core::ok();
  net_->node().run([&] {
    iptables::LegacyIptablesRules rules({std::string(iptables::kDefaultChain), ""});
    auto changed = rules.ensure(spec);
    if (!changed) result = changed.error();
  });
  return result;
}

void DemoNode::publish(const core::State& state) {
  snapshots_.publish(nodeproxy::node_snapshot(state, name_));
}

}  // namespace podid::demo
