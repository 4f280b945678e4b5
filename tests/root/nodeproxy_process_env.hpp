#pragma once
// The world of the node proxy process test: the real API server and the Azure emulator on the host's
// loopback, podid-controller as a host process serving replication, and podid-nodeproxy started with
// `ip netns exec <node namespace>` with real interception. Inside the node namespace: the emulator's IMDS
// for scale set ss-0 instance 0 at 169.254.169.254:80, and loopback relays (loopback_relay.hpp) on the
// API server's and the controller's 127.0.0.1 ports, so the node proxy uses the same kubeconfig and TLS
// names as on the host while the host's network stays untouched.
// Parts of tests/integration/mains/mains_env.* are copied here (that folder is not a library).

#include <boost/json/object.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "root/loopback_relay.hpp"
#include "root/root_env.hpp"
#include "support/child_process.hpp"
#include "support/control_plane.hpp"
#include "tests/emulator/emulator.hpp"
#include "tests/emulator/jwt.hpp"
#include "unit/http/test_pki.hpp"

namespace podid::testing {

inline constexpr const char* kReadyTaint = "aadpodidentity.k8s.io/nodeproxy-not-ready";
inline constexpr const char* kOtherTaint = "example.com/keep-me";
inline constexpr std::uint16_t kProbePort = 8085;  // inside the node namespace

// Polls `done` every 100 ms until it holds or `timeout` passes (waiting for processes, not timing them).
template <class F>
bool eventually(F&& done, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

struct CurlResult {
  int exit_code{0};  // 0 ok, 7 refused, 28 deadline
  int status{0};     // 0: no HTTP answer
  std::string body;
};

// `curl` in `ns` against `url` with `Metadata: true`; `source` binds the source address (--interface).
[[nodiscard]] CurlResult curl_in(const NetNamespace& ns, const std::string& url,
                                 const std::string& source = {}, int max_seconds = 10);
// A string field of a JSON body ("" when absent or not JSON).
[[nodiscard]] std::string json_field(const std::string& body, const char* name);
// The token parsed and its signature verified with the key its `kid` names in the tenant's JWKS.
[[nodiscard]] emulator::Result<emulator::Jwt> verified_jwt(const emulator::Emulator& emu,
                                                           const std::string& tenant,
                                                           const std::string& token);

struct ProcessWorld {
  ProcessWorld(ControlPlane& control, RootEnv& env);
  ~ProcessWorld();

  void create_node();  // registered with the ready taint and one taint that must stay
  void create_pod(const std::string& name, const std::string& selector, const std::string& ip,
                  const std::string& service_account = "default");
  void create_identity(const emulator::ManagedIdentity& id);  // AzureIdentity + binding, selector `ns`
  std::string nodeproxy_token_file();                         // its pod and a bound token, in a file
  void start_controller();
  // podid-nodeproxy in the node namespace, --interception=<mode>; log in nodeproxy-<run>.log.
  void start_nodeproxy(const std::string& mode, const std::string& token_file, int run);
  [[nodiscard]] bool node_has_taint(const std::string& key) const;
  [[nodiscard]] int probe_status() const;  // GET /healthz inside the node namespace; 0: no answer
  [[nodiscard]] std::string logs() const;

  ControlPlane& cp;
  RootEnv& env;
  std::string ns;
  std::string node;
  std::string dir;
  TestPki pki;
  std::unique_ptr<emulator::Emulator> emu;
  std::string cert_file, key_file, ca_file;
  std::uint16_t replication_port{0};
  std::map<std::string, std::string> pod_uids;
  std::vector<std::unique_ptr<LoopbackRelay>> relays;  // apiserver, controller
  SpawnThread spawner;  // outlives the children (PR_SET_PDEATHSIG fires when it exits)
  std::unique_ptr<ChildProcess> controller;
  std::unique_ptr<ChildProcess> nodeproxy;

 private:
  void post(const std::string& path, const boost::json::object& object);
  std::string file(const std::string& name, const std::string& text) const;
  void relay(std::uint16_t port);
};

}  // namespace podid::testing
