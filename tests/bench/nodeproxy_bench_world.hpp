#pragma once
// The node-proxy benchmark's world (issue 6, "Benchmark"): the real API server, the Azure emulator in-process
// (scale set ss-0, instance 0 is the node, its IMDS on loopback with the limits the caller chooses), and
// podid-controller and podid-nodeproxy as child processes with the flags a deployment passes
// (--interception=none: a pod is a loopback source address). Composed from tests/integration/mains'
// ClusterObjects and command lines, as the fault tests' ProcessWorld is; what differs: several identities,
// IMDS limits and node-proxy flags per run, the node proxy at the default log level with its /metrics port,
// and pods in bulk. wrk cannot choose its source address, so the pod it plays has IP 127.0.0.1 (no other
// pod of this world uses it; the node proxy's own pod has no IP).

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "integration/mains/cluster_world.hpp"
#include "support/child_process.hpp"
#include "support/control_plane.hpp"
#include "tests/emulator/emulator.hpp"
#include "unit/http/test_pki.hpp"

namespace podid::bench {

struct NodeProxyWorldOptions {
  std::vector<std::string> identities;  // emulated identities, each with an AzureIdentity and binding
  emulator::Budget imds_rate{20, 20};   // the emulator's defaults: Azure's IMDS limits
  int imds_max_concurrent{5};
};

// A pod of the node: its name, IP and the identity (selector) it is bound to.
struct BenchPod {
  std::string name, ip, identity;
};

class NodeProxyWorld : public testing::ClusterObjects {
 public:
  NodeProxyWorld(testing::ControlPlane& control, const NodeProxyWorldOptions& options);
  ~NodeProxyWorld();
  NodeProxyWorld(const NodeProxyWorld&) = delete;
  NodeProxyWorld& operator=(const NodeProxyWorld&) = delete;

  void create_pods(const std::vector<BenchPod>& pods);
  void start_controller();
  // `extra` flags are appended to the deployment's (e.g. --token-cache-size=0).
  void start_nodeproxy(const std::vector<std::string>& extra = {});
  // Until the node proxy is ready and `pods` AzureAssignedIdentities of this namespace are Assigned and its
  // replica has stopped moving; false (with the reason in `why`) when that does not happen within `limit`.
  [[nodiscard]] bool wait_settled(std::size_t pods, std::chrono::milliseconds limit, std::string& why);

  [[nodiscard]] std::uint16_t nmi_port() const { return nmi_port_; }
  [[nodiscard]] pid_t nodeproxy_pid() const { return nodeproxy_ ? nodeproxy_->pid() : -1; }
  [[nodiscard]] std::uint64_t emulator_counter(const std::string& name) const { return emu_->counter(name); }
  // One sample of the node proxy's /metrics page (-1 when absent), e.g.
  // aadpodidentity_nmi_token_cache_requests_total{result="hit"}.
  [[nodiscard]] double nodeproxy_metric(const std::string& series) const;
  [[nodiscard]] std::string logs() const;

 private:
  // AzureAssignedIdentities of this namespace's pods (only those Assigned, or all).
  [[nodiscard]] std::size_t aai_count(bool assigned_only) const;

  testing::ScratchDir dir_{"podid-bench-nodeproxy"};
  testing::TestPki pki_;
  std::unique_ptr<emulator::Emulator> emu_;
  std::string imds_port_, cert_file_, key_file_, ca_file_, azure_json_file_, azure_ca_file_, token_file_;
  std::uint16_t nmi_port_{0}, probe_port_{0}, metrics_port_{0}, replication_port_{0};
  testing::SpawnThread spawner_;  // outlives the children (they get PR_SET_PDEATHSIG for its thread)
  std::unique_ptr<testing::ChildProcess> controller_;
  std::unique_ptr<testing::ChildProcess> nodeproxy_;
};

}  // namespace podid::bench
