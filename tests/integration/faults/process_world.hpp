#pragma once
// The fault tests' world of processes: the real API server, the Azure emulator (scale set ss-0, whose
// instance 0 is the node, its IMDS on loopback), and podid-controller and podid-nodeproxy started as child
// processes with the flags a deployment passes (--interception=none: a pod is a loopback source address).
// The objects and command lines are tests/integration/mains/cluster_world.hpp's; what is added here: the
// controller can be started again on the same store (as the kubelet restarts a container that exited), each
// start with its own instance name and log, and the Lease and AzureAssignedIdentities can be read.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration/mains/cluster_world.hpp"
#include "support/child_process.hpp"
#include "support/control_plane.hpp"
#include "tests/emulator/emulator.hpp"
#include "unit/http/test_pki.hpp"

namespace podid::faults_test {

using testing::ControlPlane;
using Reply = testing::LoopbackReply;

using testing::eventually;

struct ProcessWorld : testing::ClusterObjects {
  explicit ProcessWorld(ControlPlane& control);
  ~ProcessWorld();
  ProcessWorld(const ProcessWorld&) = delete;
  ProcessWorld& operator=(const ProcessWorld&) = delete;

  // AzureIdentity `name` for the emulator's identity of that name, and its binding with selector = name.
  void create_identity(const std::string& name);
  // The node proxy's service account, pod and bound token, in a file.
  [[nodiscard]] std::string nodeproxy_token_file() { return dir.file("token", nodeproxy_token()); }

  // Each start is a new process (and log file) named by its instance, on the same store; `extra` flags are
  // appended to the deployment's.
  void start_controller(const std::vector<std::string>& extra = {});
  [[nodiscard]] std::string store_path() const { return dir.path() + "/store"; }
  // The controller's /metrics page ("" when it does not answer), and one sample's value (-1 when absent):
  // `series` is the name with its labels as exposed, e.g. aadpodidentity_assignments{state="Assigned"}.
  [[nodiscard]] std::string metrics() const;
  [[nodiscard]] double metric(const std::string& series) const;
  void start_nodeproxy(const std::string& token_file);

  // A token request to the node proxy from `source_ip`, as a pod with that IP would send it.
  [[nodiscard]] Reply get_token(const std::string& source_ip) const;
  // The Lease's holderIdentity ("" when it cannot be read).
  [[nodiscard]] std::string lease_holder() const;
  // The AzureAssignedIdentity of (pod, identity) exists.
  [[nodiscard]] bool assigned_identity_exists(const std::string& pod, const std::string& identity) const;
  // Its status.status ("" when it does not exist or has none).
  [[nodiscard]] std::string assigned_identity_status(const std::string& pod,
                                                     const std::string& identity) const;
  [[nodiscard]] std::string logs() const;

  testing::ScratchDir dir{"podid-faults"};
  testing::TestPki pki;
  std::unique_ptr<emulator::Emulator> emu;
  std::string imds_port, cert_file, key_file, ca_file, azure_json_file, azure_ca_file;
  std::uint16_t nmi_port{0}, replication_port{0}, metrics_port{0};
  int controller_starts{0};
  std::string controller_instance;  // --leader-election-instance of the controller started last
  testing::SpawnThread spawner;     // outlives the children (they get PR_SET_PDEATHSIG for its thread)
  std::unique_ptr<testing::ChildProcess> controller;
  std::unique_ptr<testing::ChildProcess> nodeproxy;
};

}  // namespace podid::faults_test
