#pragma once
// Network-namespace harness for root tests: a "node" namespace and per-pod namespaces in the routed layout
// of kubenet / Azure CNI in routed mode (no bridge):
//
//   pod netns                         node netns
//   eth0 10.200.0.<10+i>/32  <-veth->  vethpod<i> (no address), route 10.200.0.<10+i>/32 dev vethpod<i>
//   default via 10.255.0.1 (onlink)    node0 (dummy) 10.255.0.1/32  -- the node's address, node proxy here
//                                      imds0 (dummy) 169.254.169.254/32 -- optional fake IMDS
//                                      (both on lo instead when the kernel lacks the dummy driver)
//
// The bridged layout of kubenet (cbr0) / Azure CNI in bridge mode (azure0), beside the routed one:
//
//   pod netns                         node netns
//   eth0 10.201.0.<10+i>/24  <-veth->  vethbr<i> (no address), a port of podbr0
//   default via 10.201.0.1             podbr0 (bridge) 10.201.0.1/24, route 10.201.0.0/24 dev podbr0
//
// Bridged pods share one L2 segment: any of them can claim another's address and answer ARP for it.
//
// The node forwards, answers ARP for its own address on every veth (arp_ignore 0), and has rp_filter off,
// as loose CNIs do, so that anti-spoofing is shown to come from our rules rather than from the kernel.
//
// Names: every namespace is "podidt-<pid>-<n>-<role>", unique per process and per network. Destructors
// delete the namespaces (the veth pairs and dummies die with them); sweep_dead_runs() deletes leftovers
// of processes that no longer exist.
//
// Code "inside" a namespace runs on a thread that setns()es into it (a network namespace is per thread,
// so the rest of the process is unaffected); sockets created there stay in that namespace and may then be
// used from any thread. Commands run through `ip netns exec`.
// Thread-safety: create and destroy from one thread; run() and exec() may be called concurrently.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/result.hpp"
#include "nodeproxy/iptables/command_runner.hpp"

namespace podid::testing {

// One named network namespace, deleted on destruction.
class NetNamespace {
 public:
  // `ip netns add <name>` and `ip link set lo up` inside it.
  [[nodiscard]] static core::Result<std::unique_ptr<NetNamespace>> create(iptables::CommandRunner& runner,
                                                                          std::string name);
  ~NetNamespace();
  NetNamespace(const NetNamespace&) = delete;
  NetNamespace& operator=(const NetNamespace&) = delete;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }

  // Runs fn on a new thread that entered this namespace; joins it; rethrows what fn threw. A failure to
  // enter the namespace throws std::runtime_error.
  void run(const std::function<void()>& fn) const;

  // A long-lived thread in this namespace; the caller joins it.
  [[nodiscard]] std::thread start(std::function<void()> fn) const;

  // argv through `ip netns exec <name>`; a non-zero exit is returned, not an error.
  [[nodiscard]] core::Result<iptables::CommandOutput> exec(const std::vector<std::string>& argv,
                                                           std::string_view input = {}) const;
  // Like exec(), but a non-zero exit is an io error carrying stderr.
  [[nodiscard]] core::Status must(const std::vector<std::string>& argv) const;

 private:
  NetNamespace(iptables::CommandRunner& runner, std::string name) : runner_(runner), name_(std::move(name)) {}
  iptables::CommandRunner& runner_;
  std::string name_;
};

struct Pod {
  std::unique_ptr<NetNamespace> ns;
  std::string ip;              // eth0 address inside the pod
  std::string host_interface;  // the veth end in the node namespace; for a bridged pod, the bridge
  std::string bridge_port;     // a bridged pod's veth end (a port of the bridge); empty when routed
};

class NodeNetwork {
 public:
  static constexpr const char* kNodeAddress = "10.255.0.1";
  static constexpr const char* kMetadataAddress = "169.254.169.254";

  // Creates the node namespace with node0 and forwarding. Errors name the failed precondition.
  [[nodiscard]] static core::Result<std::unique_ptr<NodeNetwork>> create(iptables::CommandRunner& runner);
  ~NodeNetwork();  // pods first, then the node
  NodeNetwork(const NodeNetwork&) = delete;
  NodeNetwork& operator=(const NodeNetwork&) = delete;

  [[nodiscard]] const NetNamespace& node() const noexcept { return *node_; }
  // Adds pod number pods().size() + 1 with address 10.200.0.<10 + number>.
  [[nodiscard]] core::Result<Pod*> add_pod();
  // Adds bridged pod number pods().size() + 1 with address 10.201.0.<10 + number>/24 behind a port of
  // kBridge (created with the first bridged pod).
  [[nodiscard]] core::Result<Pod*> add_bridged_pod();
  static constexpr const char* kBridge = "podbr0";
  static constexpr const char* kBridgeAddress = "10.201.0.1";
  // Puts 169.254.169.254/32 on a dummy interface imds0 in the node namespace.
  [[nodiscard]] core::Status add_fake_imds();
  [[nodiscard]] const std::vector<std::unique_ptr<Pod>>& pods() const noexcept { return pods_; }

 private:
  // ip/32 on a new dummy interface, or on lo where the kernel has no dummy driver.
  [[nodiscard]] core::Status add_address(const std::string& dummy, const std::string& ip);
  NodeNetwork(iptables::CommandRunner& runner, std::string prefix)
      : runner_(runner), prefix_(std::move(prefix)) {}
  iptables::CommandRunner& runner_;
  std::string prefix_;  // podidt-<pid>-<n>
  std::unique_ptr<NetNamespace> node_;
  std::vector<std::unique_ptr<Pod>> pods_;
  bool bridge_{false};
};

// Deletes namespaces named podidt-<pid>-... whose process no longer exists. Returns how many it deleted.
std::size_t sweep_dead_runs(iptables::CommandRunner& runner);

// Root and a working `ip netns add`; empty when both hold, else the unmet precondition in words.
[[nodiscard]] std::string root_test_precondition(iptables::CommandRunner& runner);

}  // namespace podid::testing
