#pragma once
// The mains test's world: the real API server, the Azure emulator (a scale set whose instance 0 is the node,
// its IMDS on loopback), TLS material for replication, and podid-controller and podid-nodeproxy started as
// child processes with the flags a deployment would pass. The Kubernetes objects and the controller's
// command line come from cluster_world.hpp (shared with tests/root). Files live in a temporary directory
// removed at the end.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "integration/mains/cluster_world.hpp"
#include "support/child_process.hpp"
#include "support/control_plane.hpp"
#include "tests/emulator/emulator.hpp"
#include "tests/emulator/tests/test_client.hpp"
#include "unit/http/test_pki.hpp"

namespace podid::mains_test {
using emulator::testing::verified_jwt;
using testing::ChildProcess;
using testing::ControlPlane;
using testing::free_port;
using testing::kOtherTaint;
using testing::kReadyTaint;
using testing::must_status;
using testing::SpawnThread;
using testing::TestPki;

using testing::eventually;

using Reply = testing::LoopbackReply;
inline Reply http_get(std::uint16_t port, const std::string& target, const std::string& source_ip,
                      bool metadata = true) {
  return testing::loopback_get(port, target, source_ip, metadata);
}

struct Mains : testing::ClusterObjects {
  explicit Mains(ControlPlane& control);

  // AzureIdentity "demo" for `id` and its binding, selector "demo".
  void create_identity(const emulator::ManagedIdentity& id) { ClusterObjects::create_identity(id, "demo"); }
  void create_binding() { ClusterObjects::create_binding("demo"); }

  // nodeproxy_token() in a file, as a projected volume holds it.
  std::string nodeproxy_token_file() { return dir.file("token", nodeproxy_token()); }

  // Managed mode: --operation-mode=managed and no azure.json at all (so no way to reach ARM).
  void start_controller(bool managed = false);

  void start_nodeproxy(const std::string& token_file, bool managed = false);
  // With a replica file, its own log file and more flags (none of nodeproxy_argv's), for tests that
  // restart the node proxy.
  void start_nodeproxy_with(const std::string& token_file, const std::string& replica_file,
                            const std::vector<std::string>& extra, const std::string& log_name);

  // A token request to the node proxy from `source_ip`, as a pod with that IP would send it.
  [[nodiscard]] Reply get_token(const std::string& source_ip) const;

  [[nodiscard]] static std::string token_target();

  [[nodiscard]] std::string logs() const;

  testing::ScratchDir dir{"podid-mains"};
  TestPki pki;
  std::unique_ptr<emulator::Emulator> emu;
  std::string imds_port, cert_file, key_file, ca_file;
  std::uint16_t nmi_port{0}, probe_port{0}, replication_port{0};
  SpawnThread spawner;  // outlives the children (they get PR_SET_PDEATHSIG for its thread)
  std::unique_ptr<ChildProcess> controller;
  std::unique_ptr<ChildProcess> nodeproxy;
};

}  // namespace podid::mains_test
