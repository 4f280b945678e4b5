// The projection at 10,000 pods / 1,000 identities / 500 nodes: the heap it occupies once every assignment
// is Assigned (glibc mallinfo2 before and after building it), how long building it takes (applying the
// cluster's events and its settling), and the checkpoint: its size, encoding and decoding. See
// docs/benchmarks.md.

#include <benchmark/benchmark.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>

#include "core/projection.hpp"
#include "core/state_codec.hpp"
#include "tests/bench/bench_support.hpp"

namespace podid::bench {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

std::vector<core::Event> cluster_log(const Options& o) {
  const Workload w(cluster_shape(o));
  auto events = w.initial();
  for (auto& e : w.settle()) events.push_back(std::move(e));
  return events;
}

core::State build(const std::vector<core::Event>& events) {
  core::State s;
  core::replay(s, events);
  return s;
}

void counts(benchmark::State& st, const core::State& s) {
  st.counters["pods"] = static_cast<double>(s.pods.size());
  st.counters["identities"] = static_cast<double>(s.identities.size());
  st.counters["nodes"] = static_cast<double>(s.nodes.size());
  st.counters["assignments"] = static_cast<double>(s.assignments.size());
}

void build_time(benchmark::State& st, const Options& o) {
  const auto events = cluster_log(o);
  for (auto _ : st) {
    auto s = build(events);
    benchmark::DoNotOptimize(s);
    st.PauseTiming();  // destroying the state is not part of building it
    counts(st, s);
    s = {};
    st.ResumeTiming();
  }
  const auto n = static_cast<double>(events.size()) * static_cast<double>(st.iterations());
  st.SetItemsProcessed(static_cast<std::int64_t>(n));
  st.counters["events_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
}

void memory(benchmark::State& st, const Options& o) {
  const auto events = cluster_log(o);
  double mib = 0;
  for (auto _ : st) {
    const auto before = heap_in_use();
    auto s = build(events);
    const auto after = heap_in_use();
    mib = static_cast<double>(after - std::min(after, before)) / kMiB;
    counts(st, s);
    st.counters["bytes_per_pod"] = mib * kMiB / static_cast<double>(std::max<std::size_t>(1, s.pods.size()));
  }
  st.counters["heap_MiB"] = mib;
}

void checkpoint_encode(benchmark::State& st, const Options& o) {
  const auto s = build(cluster_log(o));
  std::size_t bytes = 0;
  for (auto _ : st) {
    const auto text = boost::json::serialize(core::encode_state(s));
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  st.counters["checkpoint_MiB"] = static_cast<double>(bytes) / kMiB;
  st.SetBytesProcessed(static_cast<std::int64_t>(bytes) * st.iterations());
}

void checkpoint_decode(benchmark::State& st, const Options& o) {
  const auto text = boost::json::serialize(core::encode_state(build(cluster_log(o))));
  for (auto _ : st) {
    auto s = core::decode_state(boost::json::parse(text));
    if (!s || s->pods.empty()) throw std::runtime_error("checkpoint decode failed");
    benchmark::DoNotOptimize(s);
  }
  st.SetBytesProcessed(static_cast<std::int64_t>(text.size()) * st.iterations());
}

// Churn applied to the settled 10,000-pod state, one event at a time: the mean cost per event, and per
// kind (each apply timed on its own; the clock read costs tens of nanoseconds against microseconds).
void apply_churn(benchmark::State& st, const Options& o) {
  Workload w(cluster_shape(o));
  auto events = w.initial();
  for (auto& e : w.settle()) events.push_back(std::move(e));
  core::State s = build(events);
  std::map<std::string, std::pair<double, double>> per_kind;  // kind -> (seconds, count)
  double n = 0;
  for (auto _ : st) {
    st.PauseTiming();
    std::vector<core::Event> churn;
    for (int i = 0; i < 1000; ++i) churn.push_back(w.next_churn());
    st.ResumeTiming();
    for (const auto& e : churn) {
      const Stopwatch sw;
      (void)core::apply(s, e, s.last_seq + 1);
      auto& k = per_kind[std::string(core::kind_of(e))];
      k.first += sw.seconds();
      k.second += 1;
    }
    n += static_cast<double>(churn.size());
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(n));
  st.counters["events_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  for (const auto& [kind, v] : per_kind) st.counters["us_" + kind] = 1e6 * v.first / v.second;
}

void register_all(const Options& o) {
  benchmark::RegisterBenchmark("projection/build", build_time, o)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("projection/memory", memory, o)->Iterations(1)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("projection/apply_churn", apply_churn, o)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("checkpoint/encode", checkpoint_encode, o)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("checkpoint/decode", checkpoint_decode, o)->Unit(benchmark::kMillisecond);
}

}  // namespace
}  // namespace podid::bench

int main(int argc, char** argv) {
  return podid::bench::run_main(argc, argv, [](const podid::bench::Options& options) {
    podid::bench::register_all(options);
    return std::shared_ptr<void>();
  });
}
