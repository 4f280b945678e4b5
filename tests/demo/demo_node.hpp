#pragma once
// DemoNode: one node of the local demo, for real. A network namespace (tests/support/netns.hpp) holds the
// node's IMDS at 169.254.169.254:80 (the emulator's, for this scale-set instance), the node proxy at
// 10.255.0.1:2579 and the interception rules that send each pod's metadata traffic to the node proxy. Pods
// are network namespaces with real IPs behind veth links. An uplink (a veth pair to the host, masqueraded)
// lets the node and its pods reach the "cloud" address where the emulator's AAD and ARM listen, the way
// nodes reach Azure. The node proxy reads its NodeSnapshot from an in-process source that the demo
// publishes from the event log (standing in for replication from the controller).
//
// Two steps: create() builds the network (the cloud address exists once node 0 is created), start()
// brings up the IMDS, the node proxy and the rules once the emulator runs.

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <thread>

#include "core/clock.hpp"
#include "core/logger.hpp"
#include "core/result.hpp"
#include "core/state.hpp"
#include "nodeproxy/iptables/process_runner.hpp"
#include "nodeproxy/node_proxy.hpp"
#include "nodeproxy/secret_reader.hpp"
#include "nodeproxy/snapshot_source.hpp"
#include "support/netns.hpp"
#include "tests/emulator/emulator.hpp"

namespace podid::demo {

class DemoNode {
 public:
  // The address in the host's namespace (on node 0's uplink) where the emulator's AAD and ARM listen.
  static constexpr const char* kCloudAddress = "10.254.0.1";

  // Node number `index` (0, 1, ...): its network namespace and uplink.
  [[nodiscard]] static core::Result<std::unique_ptr<DemoNode>> create(iptables::CommandRunner& runner,
                                                                      std::string name, int index,
                                                                      const core::Clock& clock,
                                                                      core::Sink& sink);
  // machine_id: the scale set's ARM ID; instance: this node's instance number.
  [[nodiscard]] core::Status start(emulator::Emulator& cloud, const std::string& machine_id, int instance);
  ~DemoNode();
  DemoNode(const DemoNode&) = delete;
  DemoNode& operator=(const DemoNode&) = delete;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  // A pod network namespace with a real IP; the interception rules are updated to bind it.
  [[nodiscard]] core::Result<testing::Pod*> add_pod();
  // Publishes this node's part of the controller's state to the node proxy.
  void publish(const core::State& state);
  [[nodiscard]] const nodeproxy::PipelineCounters& counters() const { return proxy_->counters(); }

 private:
  DemoNode(iptables::CommandRunner& runner, std::string name, int index, const core::Clock& clock,
           core::Sink& sink)
      : runner_(runner), name_(std::move(name)), index_(index), clock_(clock), sink_(sink) {}
  [[nodiscard]] core::Status add_uplink();
  [[nodiscard]] core::Status update_rules();

  iptables::CommandRunner& runner_;
  std::string name_;
  int index_;
  std::string uplink_;  // host side of the uplink veth
  const core::Clock& clock_;
  core::Sink& sink_;
  std::unique_ptr<testing::NodeNetwork> net_;
  nodeproxy::MemorySnapshotSource snapshots_;
  nodeproxy::MemorySecretReader secrets_;
  boost::asio::io_context io_;
  std::unique_ptr<nodeproxy::NodeProxy> proxy_;
  std::thread thread_;
};

}  // namespace podid::demo
