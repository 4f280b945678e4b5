#pragma once
// What the process tests of both mains share (tests/integration/mains on loopback, tests/root with real
// interception in a node namespace): the Kubernetes objects one node needs, created through the real API
// server in the test's own namespace, and the controller's command line as a deployment passes it.

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "support/control_plane.hpp"
#include "tests/emulator/emulator.hpp"

namespace podid::testing {

inline constexpr const char* kReadyTaint = "aadpodidentity.k8s.io/nodeproxy-not-ready";
inline constexpr const char* kOtherTaint = "example.com/keep-me";

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

// A loopback port nothing listens on right now (bound to 0 and released; a child binds it a moment later).
[[nodiscard]] std::uint16_t free_port();

// The reply's body when its status is `want`; otherwise throws naming `what`.
std::string must_status(const HttpReply& reply, long want, const std::string& what);

// A temporary directory (removed with everything in it at the end) and files written into it.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] std::string file(const std::string& name, const std::string& text) const;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One node (scale set ss-0, instance 0 of the emulator's small cloud) and what runs on it, in namespace `ns`.
class ClusterObjects {
 public:
  ClusterObjects(ControlPlane& control, const std::string& namespace_prefix);

  void post(const std::string& path, const boost::json::object& object);

  // The Node, registered with the node proxy's ready taint and one unrelated taint that must stay.
  void create_node();

  // A pod on the node; with `ip`, running with that IP (written through the status subresource).
  void create_pod(const std::string& name, const std::string& selector, const std::string& ip,
                  const std::string& service_account = "default");

  // AzureIdentity `name` (type 0) for `id` and AzureIdentityBinding "<name>-binding" selecting `selector`.
  void create_identity(const emulator::ManagedIdentity& id, const std::string& selector,
                       const std::string& name = "demo");
  void create_binding(const std::string& selector, const std::string& identity = "demo");
  void delete_binding(const std::string& identity = "demo");

  // The node proxy's own service account and pod, and a token bound to that pod with the audience the
  // controller's TokenReview names (its --replication-token-audience default), as a projected volume has.
  [[nodiscard]] std::string nodeproxy_token();

  [[nodiscard]] bool node_has_taint(const std::string& key) const;

  ControlPlane& cp;
  std::string ns;
  std::string node;
  std::map<std::string, std::string> pod_uids;
};

// A reply to loopback_get: status 0 when there was no HTTP answer (error says why).
struct LoopbackReply {
  long status{0};
  std::string body;
  std::string error;
  std::string retry_after;  // the Retry-After header's value; empty when absent
  // A string field of the JSON body; empty when absent or not JSON.
  [[nodiscard]] std::string field(const char* name) const;
};

// GET http://127.0.0.1:<port><target> from `source_ip` (any 127.0.0.0/8 address works on loopback), so a
// node proxy sees that address as the calling pod; empty: the kernel's choice. One request per connection.
[[nodiscard]] LoopbackReply loopback_get(std::uint16_t port, const std::string& target,
                                         const std::string& source_ip, bool metadata = true);

// The IMDS token request a pod sends for ARM.
inline constexpr const char* kTokenTarget =
    "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F";

// The controller's files and ports, as a Deployment mounts and passes them.
struct ControllerSetup {
  std::string binary;
  std::string kubeconfig;
  std::string store;
  std::string ns;
  std::string cloudconfig;    // azure.json; empty: managed mode (no ARM at all)
  std::string azure_ca_file;  // the emulator's CA
  std::uint16_t replication_port{0};
  std::string cert_file, key_file;
};

// azure.json for the emulator's cloud: its AAD and ARM endpoints, the small cloud's service principal.
[[nodiscard]] std::string emulator_azure_json(const emulator::Emulator& emu);

// podid-controller's argv: the setup, fresh probe and metrics ports, replication on 127.0.0.1 for the
// namespace's podid-nodeproxy service account only.
[[nodiscard]] std::vector<std::string> controller_argv(const ControllerSetup& setup);

// podid-nodeproxy on loopback with --interception=none: pods are 127.0.0.N source addresses, the node's IMDS
// is the emulator's on 127.0.0.1:<imds_port>, the controller's replication on 127.0.0.1; no replica file
// (`--replica-file=`: never the node's default path from a test; replace that element to use one).
struct LoopbackNodeProxySetup {
  std::string binary;
  std::string kubeconfig;
  std::string node;
  std::uint16_t nmi_port{0}, probe_port{0}, replication_port{0};
  std::string imds_port;
  std::string controller_ca_file, token_file;
};
[[nodiscard]] std::vector<std::string> nodeproxy_argv(const LoopbackNodeProxySetup& setup);

}  // namespace podid::testing
