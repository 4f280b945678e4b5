#pragma once
// The mains test's world: the real API server, the Azure emulator (a scale set whose instance 0 is the node,
// its IMDS on loopback), TLS material for replication, and podid-controller and podid-nodeproxy started as
// child processes with the flags a deployment would pass. Files live in a temporary directory removed at
// the end.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.hpp"
#include "support/control_plane.hpp"
#include "tests/emulator/emulator.hpp"
#include "tests/emulator/jwt.hpp"
#include "tests/emulator/tests/test_client.hpp"
#include "unit/http/test_pki.hpp"

namespace podid::mains_test {
using testing::ChildProcess;
using testing::ControlPlane;
using testing::HttpReply;
using testing::SpawnThread;
using testing::TestPki;

inline constexpr const char* kReadyTaint = "aadpodidentity.k8s.io/nodeproxy-not-ready";
inline constexpr const char* kOtherTaint = "example.com/keep-me";

struct ScratchDir {
  ScratchDir() {
    char pattern[] = "/tmp/podid-mains-XXXXXX";
    if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~ScratchDir() { std::filesystem::remove_all(path); }
  [[nodiscard]] std::string file(const std::string& name, const std::string& text) const {
    const auto p = path + "/" + name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  std::string path;
};

// A port nothing listens on right now (bound to 0 and released; the child binds it a moment later).
[[nodiscard]] std::uint16_t free_port();

// Polls `done` every 50 ms until it holds or `timeout` passes (waiting for processes, not timing them).
template <class F>
bool eventually(F&& done, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

std::string must_status(const HttpReply& reply, long want, const std::string& what);

struct Reply {
  long status{0};  // 0: no HTTP answer (error says why)
  std::string body;
  std::string error;
};

// GET http://127.0.0.1:<port><target> from `source_ip` (any 127.0.0.0/8 address works on loopback), so
// the node proxy sees that address as the caller. One request per connection (Connection: close).
[[nodiscard]] Reply http_get(std::uint16_t port, const std::string& target, const std::string& source_ip,
                             bool metadata = true);

// The token parsed and its signature verified with the key its `kid` names in the tenant's JWKS.
[[nodiscard]] emulator::Result<emulator::Jwt> verified_jwt(const emulator::Emulator& emu,
                                                           const std::string& tenant,
                                                           const std::string& token);

struct Mains {
  explicit Mains(ControlPlane& control);

  void post(const std::string& path, const boost::json::object& object);

  // The Node (scale set ss-0, instance 0) registered with the ready taint and one taint that must stay.
  void create_node();

  // A pod on the node; with `ip`, running with that IP (written through the status subresource).
  void create_pod(const std::string& name, const std::string& selector, const std::string& ip,
                  const std::string& service_account = "default");

  // The node proxy's own pod and a service-account token bound to it with the audience the controller's
  // TokenReview names (its --replication-token-audience default), in a file (as a projected volume).
  std::string nodeproxy_token_file();

  void create_binding();

  void create_identity(const emulator::ManagedIdentity& id);

  // Managed mode: --operation-mode=managed and no azure.json at all (so no way to reach ARM).
  void start_controller(bool managed = false);

  void start_nodeproxy(const std::string& token_file, bool managed = false);

  // A token request to the node proxy from `source_ip`, as a pod with that IP would send it.
  [[nodiscard]] Reply get_token(const std::string& source_ip) const;

  [[nodiscard]] static std::string token_target();

  [[nodiscard]] bool node_has_taint(const std::string& key) const;

  [[nodiscard]] std::string logs() const;

  ControlPlane& cp;
  std::string ns;
  std::string node;
  ScratchDir dir;
  TestPki pki;
  std::unique_ptr<emulator::Emulator> emu;
  std::string imds_port, cert_file, key_file, ca_file;
  std::uint16_t nmi_port{0}, probe_port{0}, replication_port{0};
  std::map<std::string, std::string> pod_uids;
  SpawnThread spawner;  // outlives the children (they get PR_SET_PDEATHSIG for its thread)
  std::unique_ptr<ChildProcess> controller;
  std::unique_ptr<ChildProcess> nodeproxy;
};

}  // namespace podid::mains_test
