// Start, readiness and stop of the shared control plane. Requests and apply: control_plane_api.cpp.
#include "support/control_plane.hpp"

#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "support/child_process.hpp"
#include "support/control_plane_certs.hpp"
#include "support/curl_client.hpp"

#ifndef PODID_SOURCE_DIR_DEFAULT
#define PODID_SOURCE_DIR_DEFAULT ""
#endif

namespace podid::testing {

void stop_shared_control_plane();

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kVersionDir = "v1.37.2-etcdv3.7.3";  // tests/controlplane/build.sh K8S + ETCD

struct SharedState {
  std::mutex mutex;
  bool attempted = false;
  bool missing = false;
  std::string reason;
  std::unique_ptr<ControlPlane> instance;  // the static destructor stops the children
};
SharedState& shared_state() {
  static SharedState state;
  return state;
}

std::string env_or(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::move(fallback);
}

std::string default_bin_dir() {
  std::string cache = env_or("XDG_CACHE_HOME", env_or("HOME", "/root") + "/.cache");
  return cache + "/podid/controlplane/" + kVersionDir;
}

void log_line(const std::string& message) {
  std::cerr << "[control-plane] " << message << std::endl;
}

// Free loopback ports: bind :0 on all at once (so they differ), read them, release them.
std::array<int, 3> free_ports() {
  std::array<int, 3> fds{-1, -1, -1};
  std::array<int, 3> ports{0, 0, 0};
  for (size_t i = 0; i < fds.size(); ++i) {
    fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fds[i] < 0 || bind(fds[i], reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fds[i], reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot pick a free loopback port");
    }
    ports[i] = ntohs(addr.sin_port);
  }
  for (int fd : fds) close(fd);
  return ports;
}

bool etcd_has_flag(const std::string& etcd, const std::string& flag) {
  std::string command = "'" + etcd + "' --help 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return false;
  std::string out;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  pclose(pipe);
  return out.find(flag) != std::string::npos;
}

bool is_executable(const std::string& path) {
  return access(path.c_str(), X_OK) == 0;
}

// A test binary killed by a signal cannot remove its dir (its children die with it). Remove the dirs
// whose recorded owner process is gone; dirs without owner.pid or kept on purpose ("kept") stay.
void remove_stale_dirs(const fs::path& parent) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("podid-controlplane-", 0) != 0 || fs::exists(entry.path() / "kept", ec)) continue;
    std::ifstream owner_file(entry.path() / "owner.pid");
    pid_t owner = 0;
    if ((owner_file >> owner) && owner > 0 && kill(owner, 0) != 0 && errno == ESRCH) {
      fs::remove_all(entry.path(), ec);
    }
  }
}

}  // namespace

void stop_shared_control_plane() {
  auto& state = shared_state();
  if (state.instance) state.instance->stop();
}

ControlPlane* ControlPlane::shared_or_skip(int& exit_code) {
  auto* cp = shared();
  if (cp == nullptr) {
    std::printf("SKIPPED: %s\n", unavailable_reason().c_str());
    exit_code = binaries_missing() ? 0 : 1;
  }
  return cp;
}

ControlPlane* ControlPlane::shared() {
  auto& state = shared_state();
  std::lock_guard lock(state.mutex);
  install_kill_handlers();
  if (state.attempted) return state.instance.get();
  state.attempted = true;
  curl_global_init(CURL_GLOBAL_DEFAULT);

  const std::string bin_dir = env_or("PODID_CONTROLPLANE_DIR", default_bin_dir());
  for (const char* binary : {"etcd", "kube-apiserver"}) {
    if (!is_executable(bin_dir + "/" + binary)) {
      state.missing = true;
      state.reason = "control plane binaries missing: no executable " + bin_dir + "/" + binary +
                     " (run tests/controlplane/build.sh or set PODID_CONTROLPLANE_DIR)";
      log_line("PODID-SKIP: " + state.reason);
      return nullptr;
    }
  }
  const std::string source_dir = env_or("PODID_SOURCE_DIR", PODID_SOURCE_DIR_DEFAULT);
  state.instance.reset(new ControlPlane(bin_dir, source_dir));
  std::atexit(&stop_shared_control_plane);
  std::string error;
  try {
    error = state.instance->start();
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!error.empty()) {
    state.reason = "control plane failed to start: " + error;
    log_line(state.reason);
    state.instance.reset();
    return nullptr;
  }
  return state.instance.get();
}

std::string ControlPlane::unavailable_reason() {
  auto& state = shared_state();
  std::lock_guard lock(state.mutex);
  return state.reason;
}

bool ControlPlane::binaries_missing() {
  auto& state = shared_state();
  std::lock_guard lock(state.mutex);
  return state.missing;
}

ControlPlane::ControlPlane(std::string bin_dir, std::string source_dir)
    : bin_dir_(std::move(bin_dir)),
      source_dir_(std::move(source_dir)),
      spawner_(std::make_unique<SpawnThread>()) {}

ControlPlane::~ControlPlane() {
  stop();
}

const ControlPlaneInfo& ControlPlane::info() const {
  return info_;
}

std::string ControlPlane::start() {
  const auto t0 = Clock::now();
  remove_stale_dirs(fs::temp_directory_path());
  std::string tmpl = (fs::temp_directory_path() / "podid-controlplane-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return "mkdtemp failed for " + tmpl;
  info_.dir = tmpl;
  std::ofstream(info_.dir + "/owner.pid") << getpid() << "\n";
  const ControlPlaneCredentials creds = write_control_plane_credentials(info_.dir);
  info_.ca_file = creds.ca_file;
  info_.client_cert_file = creds.admin_cert_file;
  info_.client_key_file = creds.admin_key_file;
  info_.token = creds.token;
  info_.sa_signing_key_file = creds.sa_key_file;

  for (int attempt = 1;; ++attempt) {
    bool retry = false;
    std::string error = start_once(attempt, retry);
    if (error.empty()) break;
    apiserver_.reset();  // stops it
    etcd_.reset();
    if (!retry || attempt == 3) return error + " (logs in " + info_.dir + ")";
    log_line("attempt " + std::to_string(attempt) + " failed, retrying with new ports: " + error);
  }
  const auto t_api = Clock::now();

  info_.kubeconfig_path = info_.dir + "/kubeconfig";
  std::ofstream kc(info_.kubeconfig_path);
  kc << "apiVersion: v1\nkind: Config\nclusters:\n- name: podid-test\n  cluster:\n    server: "
     << info_.server << "\n    certificate-authority-data: " << base64_file(info_.ca_file)
     << "\nusers:\n- name: admin\n  user:\n    client-certificate-data: "
     << base64_file(info_.client_cert_file) << "\n    client-key-data: " << base64_file(info_.client_key_file)
     << "\ncontexts:\n- name: podid-test\n  context:\n    cluster: podid-test\n    user: admin\n"
     << "current-context: podid-test\n";
  if (!kc.flush()) return "cannot write " + info_.kubeconfig_path;

  std::string error = install_crds();
  if (!error.empty()) return error;
  const auto t_end = Clock::now();
  start_seconds_ = std::chrono::duration<double>(t_end - t0).count();
  const double api_seconds = std::chrono::duration<double>(t_api - t0).count();
  const double crd_seconds = std::chrono::duration<double>(t_end - t_api).count();
  char summary[160];
  std::snprintf(summary, sizeof summary, "started in %.1f s (etcd+apiserver ready %.1f s, CRDs %.1f s)",
                start_seconds_, api_seconds, crd_seconds);
  log_line(std::string(summary) + " at " + info_.server + ", dir " + info_.dir);
  return {};
}

std::string ControlPlane::children_exited() const {
  for (const auto* child : {etcd_.get(), apiserver_.get()}) {
    if (child != nullptr && !const_cast<ChildProcess*>(child)->running()) {
      return child->exit_description() + "; log tail:\n" + child->log_tail();
    }
  }
  return {};
}

std::string ControlPlane::start_once(int attempt, bool& retry) {
  const auto ports = free_ports();
  const std::string etcd_bin = bin_dir_ + "/etcd";
  const std::string peer = "http://127.0.0.1:" + std::to_string(ports[1]);
  info_.etcd_url = "http://127.0.0.1:" + std::to_string(ports[0]);
  info_.server = "https://127.0.0.1:" + std::to_string(ports[2]);
  std::vector<std::string> etcd_args = {etcd_bin,
                                        "--name=test",
                                        "--data-dir=" + info_.dir + "/etcd-data-" + std::to_string(attempt),
                                        "--listen-client-urls=" + info_.etcd_url,
                                        "--advertise-client-urls=" + info_.etcd_url,
                                        "--listen-peer-urls=" + peer,
                                        "--initial-advertise-peer-urls=" + peer,
                                        "--initial-cluster=test=" + peer,
                                        "--log-level=warn"};
  if (etcd_has_flag(etcd_bin, "--unsafe-no-fsync")) etcd_args.emplace_back("--unsafe-no-fsync=true");
  const std::string d = info_.dir;
  std::vector<std::string> api_args = {bin_dir_ + "/kube-apiserver",
                                       "--etcd-servers=" + info_.etcd_url,
                                       "--cert-dir=" + d,
                                       "--tls-cert-file=" + d + "/apiserver.crt",
                                       "--tls-private-key-file=" + d + "/apiserver.key",
                                       "--secure-port=" + std::to_string(ports[2]),
                                       "--bind-address=127.0.0.1",
                                       "--advertise-address=127.0.0.1",
                                       "--endpoint-reconciler-type=none",
                                       "--client-ca-file=" + d + "/client-ca.crt",
                                       "--token-auth-file=" + d + "/tokens.csv",
                                       "--service-account-issuer=" + info_.server + "/",
                                       "--service-account-key-file=" + d + "/sa.pub",
                                       "--service-account-signing-key-file=" + d + "/sa.key",
                                       "--authorization-mode=RBAC",
                                       "--service-cluster-ip-range=10.0.0.0/24",
                                       "--allow-privileged=true",
                                       "--disable-admission-plugins=ServiceAccount",
                                       "--v=1"};
  // Readiness in order: etcd /health, apiserver /readyz, the default namespace (kubernetes-api.md §1.3).
  spawner_->run([&] { etcd_ = std::make_unique<ChildProcess>("etcd", etcd_args, d + "/etcd.log"); });
  CurlRequest health;
  health.url = info_.etcd_url + "/health";
  health.timeout_ms = 2000;
  std::string error =
      poll_ready("etcd /health", seconds(60), retry, [&] { return curl_perform(health).status == 200; });
  if (!error.empty()) return error;

  apiserver_args_ = api_args;
  spawner_->run([&] {
    apiserver_ = std::make_unique<ChildProcess>("kube-apiserver", api_args, d + "/kube-apiserver.log");
  });
  error = poll_ready("kube-apiserver /readyz", seconds(120), retry, [&] {
    HttpReply r = request("GET", "/readyz");
    return r.status == 200 && r.body == "ok";
  });
  if (!error.empty()) {
    HttpReply verbose = request("GET", "/readyz?verbose");
    return error + "\n/readyz?verbose (" + std::to_string(verbose.status) + "):\n" + verbose.body;
  }
  return poll_ready("namespace default", seconds(30), retry,
                    [&] { return request("GET", "/api/v1/namespaces/default").status == 200; });
}

std::string ControlPlane::poll_ready(const std::string& what, std::chrono::seconds timeout, bool& retry,
                                     const std::function<bool()>& ready) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (ready()) return {};
    std::string exited = children_exited();
    if (!exited.empty()) {
      // A port taken between picking and binding is worth another attempt; anything else is not.
      retry = exited.find("address already in use") != std::string::npos;
      return "waiting for " + what + ": " + exited;
    }
    if (Clock::now() > deadline)
      return "timed out after " + std::to_string(timeout.count()) + " s waiting for " + what;
    std::this_thread::sleep_for(milliseconds(100));  // readiness polling interval, as envtest
  }
}

void ControlPlane::restart_apiserver(const std::function<void()>& while_down) {
  if (!apiserver_ || stopped_)
    throw std::runtime_error("restart_apiserver: the control plane is not running");
  const auto t0 = Clock::now();
  apiserver_->stop();
  std::exception_ptr failed;  // a failed assertion while down still brings the server back, then propagates
  if (while_down) {
    try {
      while_down();
    } catch (...) {
      failed = std::current_exception();
    }
  }
  const std::string log_path = info_.dir + "/kube-apiserver.log";
  spawner_->run(
      [&] { apiserver_ = std::make_unique<ChildProcess>("kube-apiserver", apiserver_args_, log_path); });
  bool retry = false;  // the port was ours a moment ago; "address already in use" is reported, not retried
  std::string error = poll_ready("restarted kube-apiserver /readyz", seconds(120), retry, [&] {
    HttpReply r = request("GET", "/readyz");
    return r.status == 200 && r.body == "ok";
  });
  if (error.empty()) error = install_crds();  // idempotent; waits until every CRD lists again
  if (!error.empty()) throw std::runtime_error(error + " (logs in " + info_.dir + ")");
  char summary[96];
  std::snprintf(summary, sizeof summary, "kube-apiserver restarted in %.1f s",
                std::chrono::duration<double>(Clock::now() - t0).count());
  log_line(summary);
  if (failed) std::rethrow_exception(failed);
}

void ControlPlane::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (apiserver_) apiserver_->stop();
  if (etcd_) etcd_->stop();
  if (info_.dir.empty()) return;
  if (std::getenv("PODID_KEEP_CONTROLPLANE") != nullptr) {
    std::ofstream(info_.dir + "/kept") << "PODID_KEEP_CONTROLPLANE\n";
    log_line("kept " + info_.dir + " (PODID_KEEP_CONTROLPLANE is set)");
    return;
  }
  std::error_code ec;
  fs::remove_all(info_.dir, ec);
  if (ec) log_line("could not remove " + info_.dir + ": " + ec.message());
}

}  // namespace podid::testing
