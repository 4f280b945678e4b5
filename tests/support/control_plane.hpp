// A real Kubernetes control plane (etcd + kube-apiserver as child processes) for integration tests.
// One per test binary, started on the first call to ControlPlane::shared() and stopped at exit.
// Thread-safety: shared(), request(), create_namespace() and apply_*() may be called from any thread.
// Failures of the set-up helpers (create_namespace, apply_*) throw std::runtime_error naming the reply.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace podid::testing {

struct ControlPlaneInfo {
  std::string server;           // https://127.0.0.1:<port>
  std::string dir;              // temp dir with certs, kubeconfig, logs
  std::string kubeconfig_path;  // admin kubeconfig (client cert, system:masters), cluster CA embedded as data
  std::string ca_file;          // PEM of the CA that signed the serving cert
  std::string client_cert_file, client_key_file;  // admin client cert/key PEM files
  std::string token;     // a bearer token for user "tester" in group system:masters (--token-auth-file)
  std::string etcd_url;  // http://127.0.0.1:<port>
  std::string sa_signing_key_file;
};

struct HttpReply {
  long status;
  std::string body;
};

class ChildProcess;
class SpawnThread;

class ControlPlane {
 public:
  // Starts once per test binary on first call. nullptr when it cannot run; unavailable_reason() says why.
  static ControlPlane* shared();
  // For executables that are not Catch tests (benchmarks, the soak): shared(), or nullptr after printing
  // "SKIPPED: <why>" with `exit_code` 0 when the binaries are missing (a skip) and 1 when it failed to start.
  static ControlPlane* shared_or_skip(int& exit_code);
  static std::string unavailable_reason();
  // True when shared() returned nullptr because the binaries are not built (a skip, not a failure).
  static bool binaries_missing();

  const ControlPlaneInfo& info() const;
  // Seconds the last start took, from the first fork to the CRDs being served.
  double start_seconds() const { return start_seconds_; }

  // Creates a namespace whose name starts with (a sanitised) prefix, unique per call, and returns the name.
  std::string create_namespace(std::string_view prefix);

  // Blocking admin requests for test set-up and assertions (libcurl, verifies the CA, admin client cert).
  // Transport failures come back as status 0 with the curl error in body.
  HttpReply request(std::string_view method, std::string_view path, std::string_view body = {},
                    std::string_view content_type = "application/json");
  // As above with extra request headers ("Name: value"); an Accept header here replaces the JSON default.
  HttpReply request(std::string_view method, std::string_view path, std::string_view body,
                    std::string_view content_type, const std::vector<std::string>& headers);

  // Create-or-update of each YAML document (POST; on AlreadyExists GET + PUT with the resourceVersion).
  // Namespaced objects without metadata.namespace go to "default" or to default_namespace.
  void apply_yaml_file(const std::string& path);
  void apply_yaml_file(const std::string& path, std::string_view default_namespace);
  void apply_yaml(std::string_view yaml_text, std::string_view default_namespace = "default");

  // Stops kube-apiserver (SIGTERM, graceful as in a rolling update) and starts it again with the same flags,
  // port, etcd and certificates; returns once /readyz is ok and every CRD is served again. etcd keeps
  // running, so objects and resourceVersions survive. Throws std::runtime_error naming the log on failure.
  // Blocking; call it from a thread that does not serve the test's clients (requests from other threads
  // meanwhile fail with a transport error, as against a real restarting server). `while_down`, when given,
  // runs on the calling thread after the stop and before the start: an outage as long as it takes.
  void restart_apiserver(const std::function<void()>& while_down = {});

  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;
  ~ControlPlane();

 private:
  struct ResourceInfo {
    std::string plural;
    bool namespaced = false;
  };

  ControlPlane(std::string bin_dir, std::string source_dir);
  [[nodiscard]] std::string start();  // empty on success, else the reason
  [[nodiscard]] std::string start_once(int attempt, bool& retry);
  [[nodiscard]] std::string poll_ready(const std::string& what, std::chrono::seconds timeout, bool& retry,
                                       const std::function<bool()>& ready);
  [[nodiscard]] std::string install_crds();
  void apply_json_document(std::string_view json_text, std::string_view default_namespace);
  ResourceInfo resource_for(const std::string& api_version, const std::string& kind);
  [[nodiscard]] std::string children_exited() const;
  void stop();

  std::string bin_dir_;
  std::string source_dir_;
  ControlPlaneInfo info_;
  double start_seconds_ = 0;
  std::unique_ptr<SpawnThread> spawner_;
  std::unique_ptr<ChildProcess> etcd_;
  std::unique_ptr<ChildProcess> apiserver_;
  std::vector<std::string> apiserver_args_;  // argv of the last start, reused by restart_apiserver()
  std::mutex discovery_mutex_;
  std::unordered_map<std::string, ResourceInfo> discovery_;  // "apiVersion/kind" -> resource
  bool stopped_ = false;

  friend void stop_shared_control_plane();
};

}  // namespace podid::testing
