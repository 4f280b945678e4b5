// The controller's memory as its own process (issue 5: "memory under 150 MiB at 10,000 pods"). The
// end-to-end benchmark runs cli::Controller inside the bench's process, beside the emulator and the pod
// workers, so its figure is the sum of all three; here podid-controller is a child process started with the
// flags a Deployment passes (tests/integration/mains/cluster_world.hpp), against the real kube-apiserver and
// the same emulated cloud (e2e_cluster.hpp: 5 scale sets x 10 nodes, 10 VMs, 100 identities, a tenth of
// Azure's operation latency). A burst of pods (10,000 by default) is created by four threads; once the
// controller's metrics count every pod's assignment Assigned and every AzureAssignedIdentity in the API
// server says Assigned, the child's /proc/<pid>/status is read; then churn rounds (10% of the pods replaced)
// and the same figures. Prints figures and never judges them; exits 1 when a phase did not settle within the
// size's limit or set-up failed. `--podid_smoke`: a tiny cluster; `--podid_pods=N`: N pods;
// PODID_BENCH_CONTROLLER_FLAGS: extra podid-controller flags.

#include <boost/json/parse.hpp>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <sstream>
#include <thread>

#include "integration/mains/cluster_world.hpp"
#include "support/child_process.hpp"
#include "support/proc_status.hpp"
#include "tests/bench/bench_support.hpp"
#include "tests/bench/e2e_cluster.hpp"
#include "unit/http/test_pki.hpp"

namespace podid::bench {
namespace {

namespace t = podid::testing;
namespace json = boost::json;
constexpr std::size_t kWorkers = 4;
constexpr int kChurnRounds = 2;

class World {
 public:
  World(t::ControlPlane& cp, const E2eSize& size) : cp_(cp), size_(size), cluster_(cp, size, "memory") {
    const auto leaf = pki_.issue("controller", {"localhost"}, {"127.0.0.1"});
    auto argv =
        t::controller_argv({PODID_CONTROLLER_BIN, cp.info().kubeconfig_path, dir_.path() + "/store",
                            cluster_.ns(), dir_.file("azure.json", t::emulator_azure_json(cluster_.azure())),
                            dir_.file("azure-ca.crt", cluster_.azure().ca_pem()), t::free_port(),
                            dir_.file("tls.crt", leaf.cert_pem), dir_.file("tls.key", leaf.key_pem)});
    argv.emplace_back("--log-level=info");
    // PODID_BENCH_CONTROLLER_FLAGS: extra flags, separated by spaces (to compare settings' memory).
    if (const char* extra = std::getenv("PODID_BENCH_CONTROLLER_FLAGS"); extra != nullptr) {
      std::istringstream words(extra);
      for (std::string w; words >> w;) argv.push_back(w);
    }
    std::printf("  %s\n",
                [&argv] {
                  std::string line;
                  for (std::size_t i = 1; i < argv.size(); ++i) line += (i > 1 ? " " : "") + argv[i];
                  return line;
                }()
                    .c_str());
    const std::string port_flag = "--prometheus-port=";
    for (const auto& a : argv)
      if (a.starts_with(port_flag))
        metrics_port_ = static_cast<std::uint16_t>(std::stoi(a.substr(port_flag.size())));
    log_ = dir_.path() + "/controller.log";
    spawner_.run([&] { controller_ = std::make_unique<t::ChildProcess>("podid-controller", argv, log_); });
  }
  ~World() {
    if (controller_) controller_->stop();
    static_cast<void>(cp_.request("DELETE", "/api/v1/namespaces/" + cluster_.ns() + "/pods"));
  }
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  bool run() {
    if (!t::eventually([this] { return metric("aadpodidentity_leader") == 1; }, size_.limit)) {
      std::printf("  the controller did not become leader; its log:\n%s\n",
                  controller_->log_tail(4000).c_str());
      return false;
    }
    print("started, no pods");
    const auto pods = cluster_.make_pods(static_cast<std::size_t>(size_.pods));
    cluster_.add_live(pods);
    const Stopwatch sw;
    if (!replace({}, pods)) return false;
    std::printf(
        "  burst: %d pods, every one Assigned (metrics, and AAIs listed every 2 s) %.1f s after the first "
        "create\n",
        size_.pods, sw.seconds());
    print("after the burst");
    const auto k = static_cast<std::size_t>(static_cast<double>(size_.pods) * size_.churn_share);
    for (int r = 0; r < kChurnRounds; ++r) {
      auto gone = cluster_.take_oldest(k);
      const auto fresh = cluster_.make_pods(k, &gone);
      cluster_.add_live(fresh);
      if (!replace(gone, fresh)) return false;
      print(("after churn round " + std::to_string(r + 1) + " (" + std::to_string(k) + " pods replaced)")
                .c_str());
    }
    if (cluster_.failures() > 0) {
      std::printf("  %d Kubernetes requests of the bench failed\n", cluster_.failures());
      return false;
    }
    if (!controller_->running()) {
      std::printf("  the controller exited: %s\n", controller_->exit_description().c_str());
      return false;
    }
    return true;
  }

 private:
  // -1 when the page or the series is absent.
  double metric(const std::string& series) const {
    const auto reply = t::loopback_get(metrics_port_, "/metrics", "", false);
    if (reply.status != 200) return -1;
    const auto at = reply.body.find("\n" + series + " ");
    return at == std::string::npos ? -1 : std::stod(reply.body.substr(at + series.size() + 2));
  }

  // Every live pod's assignment Assigned in the controller's metrics (no other phase), and exactly one
  // AzureAssignedIdentity per live pod in the API server, each with status Assigned.
  bool settled() const {
    const auto live = static_cast<double>(cluster_.live().size());
    if (metric("aadpodidentity_assignments{state=\"Assigned\"}") != live) return false;
    for (const char* other : {"Created", "Unassigned", "Quarantined", "RetryScheduled"}) {
      const auto v = metric(std::string("aadpodidentity_assignments{state=\"") + other + "\"}");
      if (v > 0) return false;
    }
    // Without --forceNamespaced they live in the controller's namespace, not the pods': list them all,
    // at most every 2 s (the list of 10,000 AAIs is 15 MB; polled every 50 ms it would load the API server).
    const auto now = std::chrono::steady_clock::now();
    if (now - listed_at_ < std::chrono::seconds(2)) return false;
    listed_at_ = now;
    const auto reply = cp_.request("GET", "/apis/aadpodidentity.k8s.io/v1/azureassignedidentities");
    if (reply.status != 200) return false;
    const auto list = json::parse(reply.body);
    std::size_t ours = 0;
    for (const auto& item : list.at("items").as_array()) {
      const auto* pod_ns = item.at("spec").as_object().if_contains("podNamespace");
      if (pod_ns == nullptr || !pod_ns->is_string() || pod_ns->as_string() != cluster_.ns()) continue;
      ++ours;
      const auto* status = item.as_object().if_contains("status");
      const auto* phase =
          status != nullptr && status->is_object() ? status->as_object().if_contains("status") : nullptr;
      if (phase == nullptr || !phase->is_string() || phase->as_string() != "Assigned") return false;
    }
    return ours == cluster_.live().size();
  }

  // Deletes `gone` and creates `fresh` on kWorkers threads, then waits until settled.
  bool replace(const std::vector<E2ePod>& gone, const std::vector<E2ePod>& fresh) {
    {
      std::vector<std::jthread> workers;
      for (std::size_t w = 0; w < kWorkers; ++w)
        workers.emplace_back([this, &gone, &fresh, w] {
          cluster_.remove(gone, w, kWorkers);
          cluster_.create(fresh, w, kWorkers);
        });
    }
    // The AAI list is large at 10,000 pods: poll the metrics first, the list only once they agree.
    if (!t::eventually([this] { return settled(); }, size_.limit)) {
      const auto page = t::loopback_get(metrics_port_, "/metrics", "", false).body;
      std::printf("  its metrics:\n");
      for (std::size_t at = 0, end = 0; at < page.size(); at = end + 1) {
        end = page.find('\n', at);
        if (end == std::string::npos) end = page.size();
        const auto line = page.substr(at, end - at);
        if (line.starts_with("aadpodidentity_assignments") || line.starts_with("aadpodidentity_aai_writes") ||
            line.starts_with("aadpodidentity_arm_requests_total"))
          std::printf("    %s\n", line.c_str());
      }
      std::printf(
          "  NOT settled within %lld s; the controller's log:\n%s\n",
          static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(size_.limit).count()),
          controller_->log_tail(4000).c_str());
      return false;
    }
    return true;
  }

  void print(const char* when) const {
    const auto s = t::read_proc_status(controller_->pid());
    std::printf(
        "  podid-controller %s: VmRSS %.1f MiB (anonymous %.1f, file-backed %.1f), VmHWM %.1f MiB, %d "
        "threads; "
        "event log head %.0f\n",
        when, t::kib_to_mib(s.rss_kib), t::kib_to_mib(s.rss_anon_kib), t::kib_to_mib(s.rss_file_kib),
        t::kib_to_mib(s.hwm_kib), s.threads, metric("aadpodidentity_event_log_head_seq"));
  }

  t::ControlPlane& cp_;
  E2eSize size_;
  E2eCluster cluster_;
  t::ScratchDir dir_{"podid-memory-bench"};
  t::TestPki pki_{"memory-bench-ca"};
  std::uint16_t metrics_port_{0};
  mutable std::chrono::steady_clock::time_point listed_at_{};
  std::string log_;
  t::SpawnThread spawner_;  // outlives the child (PR_SET_PDEATHSIG is tied to its thread)
  std::unique_ptr<t::ChildProcess> controller_;
};

int run(const Options& o) {
  int skipped = 0;
  auto* cp = t::ControlPlane::shared_or_skip(skipped);
  if (cp == nullptr) return skipped;
  E2eSize size = o.smoke ? smoke_size() : full_size();
  size.pods = o.pods != 0 ? static_cast<int>(o.pods) : (o.smoke ? size.pods : 10'000);
  std::printf("podid-controller as a process: %d pods, %d identities, %d scale sets x %d nodes, %d VMs\n",
              size.pods, size.identities, size.scale_sets, size.instances, size.vms);
  World world(*cp, size);
  return world.run() ? 0 : 1;
}

}  // namespace
}  // namespace podid::bench

int main(int argc, char** argv) {
  const auto options = podid::bench::parse_options(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  return podid::bench::run(options);
}
