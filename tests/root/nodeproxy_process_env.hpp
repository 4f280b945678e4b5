#pragma once
// The world of the node proxy process test: the real API server and the Azure emulator on the host's
// loopback, podid-controller as a host process serving replication, and podid-nodeproxy started with
// `ip netns exec <node namespace>` with real interception. Inside the node namespace: the emulator's IMDS
// for scale set ss-0 instance 0 at 169.254.169.254:80, and loopback relays (loopback_relay.hpp) on the
// API server's and the controller's 127.0.0.1 ports, so the node proxy uses the same kubeconfig and TLS
// names as on the host while the host's network stays untouched.
// The Kubernetes objects and the controller's command line are tests/integration/mains/cluster_world.hpp's.

#include <boost/json/object.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration/mains/cluster_world.hpp"
#include "root/backends.hpp"
#include "root/loopback_relay.hpp"
#include "root/root_env.hpp"
#include "support/child_process.hpp"
#include "support/control_plane.hpp"
#include "tests/emulator/emulator.hpp"
#include "tests/emulator/jwt.hpp"
#include "unit/http/test_pki.hpp"

namespace podid::testing {

inline constexpr std::uint16_t kProbePort = 8085;  // inside the node namespace

inline const std::string kTokenUrl =
    "http://169.254.169.254/metadata/identity/oauth2/"
    "token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F";

// The backends as the node proxy's --interception=<kMode> names them.
struct LegacyProcess : LegacyBackend {
  static constexpr const char* kMode = "legacy";
};
struct NftProcess : NftBackend {
  static constexpr const char* kMode = "nft";
};

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
struct ProcessWorld : ClusterObjects {
  ProcessWorld(ControlPlane& control, RootEnv& env);
  ~ProcessWorld();

  // AzureIdentity "demo" for `id` and its binding, selector `ns` (unique per case: the controller watches
  // every namespace of the shared API server).
  void create_identity(const emulator::ManagedIdentity& id) { ClusterObjects::create_identity(id, ns); }
  std::string nodeproxy_token_file() { return dir.file("token", nodeproxy_token()); }
  void start_controller();
  // podid-nodeproxy in the node namespace, --interception=<mode>; log in nodeproxy-<run>.log.
  void start_nodeproxy(const std::string& mode, const std::string& token_file, int run);
  [[nodiscard]] int probe_status() const;  // GET /healthz inside the node namespace; 0: no answer
  [[nodiscard]] std::string logs() const;

  RootEnv& env;
  std::vector<std::string> nodeproxy_args;  // appended to podid-nodeproxy's command line
  ScratchDir dir{"podid-nodeproxy-process"};
  TestPki pki;
  std::unique_ptr<emulator::Emulator> emu;
  std::string cert_file, key_file, ca_file;
  std::uint16_t replication_port{0};
  std::vector<std::unique_ptr<LoopbackRelay>> relays;  // apiserver, controller
  SpawnThread spawner;  // outlives the children (PR_SET_PDEATHSIG fires when it exits)
  std::unique_ptr<ChildProcess> controller;
  std::unique_ptr<ChildProcess> nodeproxy;

 private:
  void relay(std::uint16_t port);
};

}  // namespace podid::testing
