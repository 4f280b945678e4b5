// The controller's planning for a burst: 2,000 pods / 100 identities / 200 nodes (100 VMs, and 100 instances
// of 50 scale sets), every assignment Created. Our planner (one change per VM or scale set, ≤150 identities
// per PATCH) against two models of the original MIC: per node (one GET + PATCH per node, scale-set instances
// each on their own, served one after another: issue 5's baseline), and one at a time (one GET + PATCH per
// node and identity). Counters: ARM requests of each, their ratio, planning time, and the burst's modelled
// duration at a tenth of Azure's operation latency (VMSS 4 s, VM 1.5 s; ours 16 operations in parallel).
// Planning only: no store, no network. See docs/benchmarks.md.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/plan.hpp"
#include "core/projection.hpp"
#include "tests/bench/bench_support.hpp"

namespace podid::bench {
namespace {

constexpr double kVmssSeconds = 4.0;
constexpr double kVmSeconds = 1.5;
constexpr std::size_t kParallel = 16;  // arm::ActuatorOptions::max_concurrent

ClusterShape shape(const Options& o) {
  if (o.smoke)
    return ClusterShape{.pods = 200, .identities = 20, .nodes = 20, .namespaces = 4, .scale_sets = 5};
  return ClusterShape{.pods = 2'000, .identities = 100, .nodes = 200, .namespaces = 10, .scale_sets = 50};
}

core::State burst(const Options& o) {
  core::State s;
  core::replay(s, Workload(shape(o)).initial());
  return s;
}

double latency(const core::ArmTarget& t) {
  return t.kind == core::VmKind::vmss ? kVmssSeconds : kVmSeconds;
}

struct Requests {
  std::size_t gets{0};
  std::size_t patches{0};
  double modelled_seconds{0};
  [[nodiscard]] std::size_t total() const { return gets + patches; }
};

// Ours: the actuator reads then patches once per part; targets run in parallel, kParallel at a time.
Requests ours(const core::Plan& plan) {
  Requests r;
  std::vector<double> per_target;
  for (const auto& c : plan.identity_changes) {
    r.gets += c.parts;  // each part is planned (and read) once the previous one was applied
    r.patches += c.parts;
    if (c.part == 0) per_target.push_back(latency(c.target) * static_cast<double>(c.parts));
  }
  std::sort(per_target.rbegin(), per_target.rend());
  std::vector<double> lanes(kParallel, 0);
  for (const double d : per_target) *std::min_element(lanes.begin(), lanes.end()) += d;
  r.modelled_seconds = *std::max_element(lanes.begin(), lanes.end());
  return r;
}

// The original's units of work: what each node (or node and identity) needs attached, one after another.
Requests original(const core::State& s, bool one_identity_per_request) {
  std::map<std::string, std::set<std::string>> per_node;
  std::map<std::string, core::ArmTarget> target_of_node;
  for (const auto& [key, a] : s.assignments) {
    if (a.phase != core::Phase::created || a.type != core::IdentityType::user_assigned_msi || !a.target)
      continue;
    per_node[a.node].insert(a.resource_id);
    target_of_node.emplace(a.node, *a.target);
  }
  Requests r;
  for (const auto& [node, ids] : per_node) {
    const std::size_t calls = one_identity_per_request ? ids.size() : 1;
    r.gets += calls;
    r.patches += calls;
    r.modelled_seconds += latency(target_of_node.at(node)) * static_cast<double>(calls);
  }
  return r;
}

void report(benchmark::State& st, const Requests& r, const Requests& baseline) {
  st.counters["arm_gets"] = static_cast<double>(r.gets);
  st.counters["arm_patches"] = static_cast<double>(r.patches);
  st.counters["arm_requests"] = static_cast<double>(r.total());
  st.counters["modelled_burst_s"] = r.modelled_seconds;
  st.counters["requests_vs_ours"] = static_cast<double>(r.total()) / static_cast<double>(baseline.total());
  st.counters["burst_vs_ours"] = r.modelled_seconds / baseline.modelled_seconds;
}

void plan_ours(benchmark::State& st, const Options& o) {
  const auto s = burst(o);
  core::Plan plan;
  for (auto _ : st) {
    plan = core::plan(s, 1'700'000'000'000);
    benchmark::DoNotOptimize(plan);
  }
  const auto r = ours(plan);
  report(st, r, r);
  st.counters["assignments"] = static_cast<double>(s.assignments.size());
  st.counters["targets"] = static_cast<double>(plan.identity_changes.size());
}

void plan_original(benchmark::State& st, const Options& o, bool one_at_a_time) {
  const auto s = burst(o);
  Requests r;
  for (auto _ : st) {
    r = original(s, one_at_a_time);
    benchmark::DoNotOptimize(r);
  }
  report(st, r, ours(core::plan(s, 1'700'000'000'000)));
}

void register_all(const Options& o) {
  benchmark::RegisterBenchmark("plan/ours_batched", plan_ours, o)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("plan/original_per_node", plan_original, o, false)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("plan/original_one_at_a_time", plan_original, o, true)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace
}  // namespace podid::bench

int main(int argc, char** argv) {
  return podid::bench::run_main(argc, argv, [](const podid::bench::Options& options) {
    podid::bench::register_all(options);
    return std::shared_ptr<void>();
  });
}
