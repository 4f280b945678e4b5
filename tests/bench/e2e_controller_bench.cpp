// End-to-end benchmark of the controller (issue 5, "Benchmark"): cli::Controller in-process against the
// real kube-apiserver (tests/support) and the Azure emulator with Azure's ARM budgets and a tenth of its
// operation latency (e2e_cluster.hpp). Three phases: a burst (every pod created by two threads while the
// controller runs), churn (a share of the pods replaced each period, same identities, random nodes) and an
// idle stretch of a few drift intervals. Run twice: ours (default ActuatorOptions: VMs and scale sets in
// parallel, one batched PATCH each) and the original MIC's strategy (PerNodeArmClient: one GET + PATCH per
// node, max_concurrent = 1). Prints figures and never judges a time; exits 1 only when a phase did not
// settle at all (every live pod Assigned, its AAI observed Assigned, no AAI of a deleted pod left) within
// the size's limit, or set-up failed. `--podid_smoke`: a tiny cluster (the CTest smoke test);
// `--podid_pods=N`: N pods instead of 2,000; `--podid_ours_only`: no baseline run.

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <thread>

#include "tests/bench/bench_support.hpp"
#include "tests/bench/e2e_cluster.hpp"

namespace podid::bench {
namespace {

namespace t = podid::testing;
using Counters = std::map<std::string, std::uint64_t>;
constexpr std::size_t kWorkers = 4;  // threads creating and deleting pods

struct Snapshot {
  Counters arm;  // the emulator's "arm.*" counters
  watch::AaiWriterCounters aai;
  watch::EventRecorderCounters recorder;
  std::uint64_t observes{0};
};

Snapshot snapshot(E2eCluster& c, const E2eController& r) {
  Snapshot s;
  for (const auto& [k, v] : c.azure().counters())
    if (k.rfind("arm.", 0) == 0) s.arm[k] = v;
  s.aai = r.controller.writer().counters();
  s.recorder = r.controller.recorder().counters();
  s.observes = r.controller.counters().observes_started;
  return s;
}

struct Delta {
  Counters arm;
  std::uint64_t aai_created{0}, aai_updated{0}, aai_status{0}, aai_deleted{0}, events{0}, conditions{0};
  [[nodiscard]] std::uint64_t at(const std::string& k) const {
    const auto it = arm.find(k);
    return it == arm.end() ? 0 : it->second;
  }
  [[nodiscard]] std::uint64_t aai_writes() const {
    return aai_created + aai_updated + aai_status + aai_deleted;
  }
};

Delta operator-(const Snapshot& after, const Snapshot& before) {
  Delta d;
  for (const auto& [k, v] : after.arm) {
    const auto b = before.arm.find(k);
    const std::uint64_t diff = v - (b == before.arm.end() ? 0 : b->second);
    if (diff != 0) d.arm[k] = diff;
  }
  d.aai_created = after.aai.created - before.aai.created;
  d.aai_updated = after.aai.updated - before.aai.updated;
  d.aai_status = after.aai.status_writes - before.aai.status_writes;
  d.aai_deleted = after.aai.deleted - before.aai.deleted;
  d.events = (after.recorder.created + after.recorder.aggregated) -
             (before.recorder.created + before.recorder.aggregated);
  d.conditions = after.recorder.conditions - before.recorder.conditions;
  return d;
}

// Every live pod has its one assignment, Assigned, and the AAI the controller observed says so; no AAI of
// a deleted pod is left.
bool settled(const cli::Controller& c, std::size_t live) {
  const auto& s = c.state();
  if (s.assignments.size() != live || s.assigned.size() != live) return false;
  for (const auto& [key, a] : s.assignments) {
    if (a.phase != core::Phase::assigned) return false;
    const auto aai = s.assigned.find(a.aai);
    if (aai == s.assigned.end() || aai->second.status != "Assigned") return false;
  }
  return true;
}

struct Progress {
  std::size_t assigned{0};  // assignments in phase Assigned (their ARM operation completed)
  std::size_t recorded{0};  // ... whose AAI the controller observed with status Assigned
  std::size_t aais{0};      // AAIs the controller observes
};

Progress progress(const cli::Controller& c) {
  Progress p;
  const auto& s = c.state();
  p.aais = s.assigned.size();
  for (const auto& [key, a] : s.assignments) {
    if (a.phase != core::Phase::assigned) continue;
    ++p.assigned;
    const auto aai = s.assigned.find(a.aai);
    if (aai != s.assigned.end() && aai->second.status == "Assigned") ++p.recorded;
  }
  return p;
}

void print_delta(const char* phase, const Delta& d) {
  std::printf("  %s ARM:", phase);
  for (const auto& [k, v] : d.arm) std::printf(" %s=%llu", k.c_str(), static_cast<unsigned long long>(v));
  std::printf(
      "\n  %s Kubernetes writes: AAI create=%llu update=%llu status=%llu delete=%llu; Events=%llu; "
      "AzureIdentity conditions=%llu\n",
      phase, static_cast<unsigned long long>(d.aai_created), static_cast<unsigned long long>(d.aai_updated),
      static_cast<unsigned long long>(d.aai_status), static_cast<unsigned long long>(d.aai_deleted),
      static_cast<unsigned long long>(d.events), static_cast<unsigned long long>(d.conditions));
}

double mib(std::uint64_t kib) {
  return static_cast<double>(kib) / 1024.0;
}

struct Figures {
  bool ok{true};
  double burst_s{0};
  double burst_after_created_s{0};
  Delta burst;
  double churn_worst_s{0};
  int churn_rounds_settled{0};
  double churn_settled_s{0};
  Delta churn;
  Delta idle;
  double idle_reads_per_target_interval{0};
  double idle_writes_per_target_interval{0};
  Rss rss_before, rss_after_burst, rss_end;
  double heap_growth_mib{0};
};

class Scenario {
 public:
  Scenario(t::ControlPlane& cp, const E2eSize& size, bool baseline)
      : size_(size), baseline_(baseline), cluster_(cp, size, baseline ? "e2e-orig" : "e2e-ours") {
    figures_.rss_before = read_rss();
    heap_before_ = heap_in_use();
    auto o = t::controller_options(cluster_.ns());
    const cli::ControllerOptions defaults;
    o.settings.retry = defaults.settings.retry;  // production retry policy, not the tests' fast one
    o.retry_initial = defaults.retry_initial;
    o.drift_interval = size.drift;
    o.events.instance = "e2e-bench";
    if (baseline) o.actuator.max_concurrent = 1;
    replica_ = std::make_unique<E2eController>(io_, cp, cluster_.azure(), std::move(o),
                                               baseline ? &cluster_.placement() : nullptr);
  }

  Figures run() {
    if (!wait([this] { return replica_->controller.executing() && settled(replica_->controller, 0); },
              size_.limit)) {
      std::printf("  the controller did not start executing\n");
      figures_.ok = false;
      return figures_;
    }
    burst();
    if (figures_.ok) churn();
    if (figures_.ok) idle();
    figures_.rss_end = read_rss();
    if (cluster_.failures() > 0) {
      std::printf("  %d Kubernetes requests of the bench failed\n", cluster_.failures());
      figures_.ok = false;
    }
    return figures_;
  }

 private:
  bool wait(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto next_check = std::chrono::steady_clock::now();
    return t::run_until(
        io_,
        [&] {
          const auto now = std::chrono::steady_clock::now();
          if (now < next_check) return false;
          next_check = now + std::chrono::milliseconds(50);
          return done();
        },
        limit);
  }
  bool settled_now() const { return settled(replica_->controller, cluster_.live().size()); }

  // Creates `fresh` and deletes `gone` on kWorkers threads while the controller runs, until both are done
  // and the controller settled, or `limit`; false at the limit. `created_at`: seconds until the workers
  // were done.
  bool replace(const std::vector<E2ePod>& gone, const std::vector<E2ePod>& fresh,
               std::chrono::milliseconds limit, double& created_at, double& arm_done_at) {
    const Stopwatch sw;
    std::atomic<std::size_t> done{0};
    bool ok = false;
    {
      std::vector<std::jthread> workers;
      for (std::size_t w = 0; w < kWorkers; ++w)
        workers.emplace_back([this, &gone, &fresh, &done, w] {
          cluster_.remove(gone, w, kWorkers);
          cluster_.create(fresh, w, kWorkers);
          ++done;
        });
      created_at = -1;
      arm_done_at = -1;
      ok = wait(
          [&] {
            if (done.load() < kWorkers) return false;
            if (created_at < 0) created_at = sw.seconds();
            const auto& c = replica_->controller;
            if (arm_done_at < 0 && c.state().assignments.size() == cluster_.live().size() &&
                progress(c).assigned == cluster_.live().size())
              arm_done_at = sw.seconds();
            return settled_now();
          },
          limit);
      static_cast<void>(wait([&] { return done.load() == kWorkers; }, std::chrono::minutes(5)));
    }
    return ok;
  }

  void burst() {
    const auto pods = cluster_.make_pods(static_cast<std::size_t>(size_.pods));
    cluster_.add_live(pods);
    const auto before = snapshot(cluster_, *replica_);
    const Stopwatch sw;
    double created_at = 0;
    double arm_done_at = 0;
    figures_.ok = replace({}, pods, size_.limit, created_at, arm_done_at);
    figures_.burst_s = sw.seconds();
    figures_.burst_after_created_s = figures_.burst_s - created_at;
    figures_.burst = snapshot(cluster_, *replica_) - before;
    figures_.rss_after_burst = read_rss();
    const std::size_t heap = heap_in_use();
    figures_.heap_growth_mib = static_cast<double>(heap - std::min(heap, heap_before_)) / 1048576.0;
    std::printf(
        "  burst: %d pods created in %.1f s; all Assigned %.1f s after the first create, %.1f s after the "
        "last (%s)\n",
        size_.pods, created_at, figures_.burst_s, figures_.burst_after_created_s,
        figures_.ok ? "settled" : "NOT settled");
    std::printf(
        "  burst: every assignment Assigned in the controller's state %.1f s after the first create\n",
        arm_done_at);
    print_delta("burst", figures_.burst);
  }

  void churn() {
    const auto before = snapshot(cluster_, *replica_);
    const auto k = static_cast<std::size_t>(static_cast<double>(size_.pods) * size_.churn_share);
    for (int r = 0; r < size_.churn_rounds; ++r) {
      const Stopwatch round;
      last_round_ = std::chrono::steady_clock::now();
      auto gone = cluster_.take_oldest(k);
      const auto fresh = cluster_.make_pods(k, &gone);
      cluster_.add_live(fresh);
      double created_at = 0;
      double arm_done_at = 0;
      const bool in_time = replace(gone, fresh, size_.churn_period, created_at, arm_done_at);
      const double took = round.seconds();
      const auto p = progress(replica_->controller);
      if (in_time) {
        ++figures_.churn_rounds_settled;
        figures_.churn_worst_s = std::max(figures_.churn_worst_s, took);
      }
      std::printf(
          "  churn round %d: %zu pods replaced in %.1f s; %s %.1f s; then %zu of %zu live pods Assigned, "
          "%zu with the AAI observed Assigned, %zu AAIs\n",
          r + 1, k, created_at, in_time ? "settled after" : "NOT settled within the period,", took,
          p.assigned, cluster_.live().size(), p.recorded, p.aais);
      const auto rest = size_.churn_period - std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 std::chrono::duration<double>(round.seconds()));
      if (r + 1 < size_.churn_rounds && rest.count() > 0) static_cast<void>(wait([] { return false; }, rest));
    }
    if (!wait([this] { return settled_now(); }, size_.limit)) figures_.ok = false;
    figures_.churn_settled_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - last_round_).count();
    std::printf("  churn: settled %.1f s after the last round started\n", figures_.churn_settled_s);
    figures_.churn = snapshot(cluster_, *replica_) - before;
    print_delta("churn", figures_.churn);
  }

  void idle() {
    const auto before = snapshot(cluster_, *replica_);
    static_cast<void>(wait([] { return false; }, size_.drift * size_.idle_cycles));
    figures_.idle = snapshot(cluster_, *replica_) - before;
    if (!settled_now()) figures_.ok = false;
    const double per = static_cast<double>(cluster_.targets() * size_.idle_cycles);
    figures_.idle_reads_per_target_interval = static_cast<double>(figures_.idle.at("arm.reads")) / per;
    figures_.idle_writes_per_target_interval = static_cast<double>(figures_.idle.at("arm.writes")) / per;
    std::printf(
        "  idle %d drift intervals of %.0f s: ARM reads %.2f and writes %.2f per VM or scale set per "
        "interval\n",
        size_.idle_cycles, std::chrono::duration<double>(size_.drift).count(),
        figures_.idle_reads_per_target_interval, figures_.idle_writes_per_target_interval);
    print_delta("idle", figures_.idle);
  }

  E2eSize size_;
  bool baseline_;
  boost::asio::io_context io_;
  E2eCluster cluster_;
  std::unique_ptr<E2eController> replica_;
  Figures figures_;
  std::size_t heap_before_{0};
  std::chrono::steady_clock::time_point last_round_;
};

void print_summary(const E2eSize& size, const Figures& ours, const Figures& orig) {
  const auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  const auto writes = [](const Delta& d) { return static_cast<double>(d.at("arm.writes")); };
  const auto reads = [](const Delta& d) { return static_cast<double>(d.at("arm.reads")); };
  std::printf("\n| burst | ours | original's strategy | original / ours |\n|---|---|---|---|\n");
  std::printf("| all Assigned, from the first create (s) | %.1f | %.1f | %.1f |\n", ours.burst_s,
              orig.burst_s, ratio(orig.burst_s, ours.burst_s));
  std::printf("| all Assigned, from the last create (s) | %.1f | %.1f | %.1f |\n", ours.burst_after_created_s,
              orig.burst_after_created_s, ratio(orig.burst_after_created_s, ours.burst_after_created_s));
  std::printf("| ARM writes | %.0f | %.0f | %.1f |\n", writes(ours.burst), writes(orig.burst),
              ratio(writes(orig.burst), writes(ours.burst)));
  std::printf("| ARM reads | %.0f | %.0f | %.1f |\n", reads(ours.burst), reads(orig.burst),
              ratio(reads(orig.burst), reads(ours.burst)));
  std::printf("| VMSS PATCHes per scale set | %.1f | %.1f | |\n",
              static_cast<double>(ours.burst.at("arm.vmss.patch")) / size.scale_sets,
              static_cast<double>(orig.burst.at("arm.vmss.patch")) / size.scale_sets);
  std::printf("| 429s | %llu | %llu | |\n", static_cast<unsigned long long>(ours.burst.at("arm.throttled")),
              static_cast<unsigned long long>(orig.burst.at("arm.throttled")));
  std::printf("| AAI writes | %llu | %llu | |\n", static_cast<unsigned long long>(ours.burst.aai_writes()),
              static_cast<unsigned long long>(orig.burst.aai_writes()));
  std::printf("| churn: rounds settled within the period | %d/%d | %d/%d | |\n", ours.churn_rounds_settled,
              size.churn_rounds, orig.churn_rounds_settled, size.churn_rounds);
  std::printf("| churn: settled after the last round started (s) | %.1f | %.1f | |\n", ours.churn_settled_s,
              orig.churn_settled_s);
  std::printf("| churn: ARM writes | %.0f | %.0f | |\n", writes(ours.churn), writes(orig.churn));
  std::printf("| churn: ARM reads | %.0f | %.0f | |\n", reads(ours.churn), reads(orig.churn));
  std::printf(
      "| idle: ARM reads, writes per VM or scale set per drift interval | %.2f, %.2f | %.2f, %.2f | |\n",
      ours.idle_reads_per_target_interval, ours.idle_writes_per_target_interval,
      orig.idle_reads_per_target_interval, orig.idle_writes_per_target_interval);
}

void print_memory(const Figures& f) {
  std::printf(
      "  memory: process VmRSS %.1f MiB before the controller started; VmHWM %.1f MiB after the burst, "
      "%.1f MiB at the end; heap growth over the burst %.1f MiB\n",
      mib(f.rss_before.rss_kib), mib(f.rss_after_burst.hwm_kib), mib(f.rss_end.hwm_kib), f.heap_growth_mib);
}

int run(const Options& o) {
  int skipped = 0;
  auto* cp = t::ControlPlane::shared_or_skip(skipped);
  if (cp == nullptr) return skipped;
  E2eSize size = o.smoke ? smoke_size() : full_size();
  if (o.pods != 0) size.pods = static_cast<int>(o.pods);
  std::printf(
      "cluster: %d pods, %d identities, %d scale sets x %d nodes, %d VMs; LRO latency VMSS %lld ms, "
      "VM %lld ms; churn %.0f%% every %lld ms x %d; drift interval %lld ms\n",
      size.pods, size.identities, size.scale_sets, size.instances, size.vms,
      static_cast<long long>(size.vmss_latency.count()), static_cast<long long>(size.vm_latency.count()),
      size.churn_share * 100, static_cast<long long>(size.churn_period.count()), size.churn_rounds,
      static_cast<long long>(size.drift.count()));
  std::printf("ours (max_concurrent 16, one batched PATCH per VM or scale set):\n");
  Figures ours = Scenario(*cp, size, false).run();
  print_memory(ours);
  if (o.ours_only) return ours.ok ? 0 : 1;
  std::printf("original's strategy (one GET + PATCH per node, one VM or scale set at a time):\n");
  Figures orig = Scenario(*cp, size, true).run();
  print_memory(orig);
  print_summary(size, ours, orig);
  return ours.ok && orig.ok ? 0 : 1;
}

}  // namespace
}  // namespace podid::bench

int main(int argc, char** argv) {
  const auto options = podid::bench::parse_options(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  return podid::bench::run(options);
}
