// Replay without the store: the same 1,000,000-event log as podid_bench_replay (the settled 10k-pod cluster,
// then churn), held in memory as encoded JSON lines. Timed separately: decoding the lines to core::Event, and
// applying the decoded events to an empty State; then both together. Isolates the projection's cost from
// RocksDB's, and (same source, built against an older core/) gives before/after ratios of one change. Each
// run labels the final state with an FNV-1a hash of its checkpoint JSON, so two builds can be checked to
// produce the same state. See docs/benchmarks.md.

#include <benchmark/benchmark.h>

#include <boost/json/serialize.hpp>
#include <cstdio>

#include "core/event_codec.hpp"
#include "core/projection.hpp"
#include "core/state_codec.hpp"
#include "tests/bench/bench_support.hpp"

namespace podid::bench {
namespace {

struct Log {
  std::vector<std::string> lines;
  std::vector<core::Event> events;
};

Log& the_log(const Options& o) {
  static Log log = [&] {
    const std::size_t n = o.events != 0 ? o.events : o.smoke ? 20'000 : 1'000'000;
    Workload w(cluster_shape(o));
    Log out;
    out.events = w.initial();
    for (auto& e : w.settle()) out.events.push_back(std::move(e));
    while (out.events.size() < n) out.events.push_back(w.next_churn());
    out.lines.reserve(out.events.size());
    for (const auto& e : out.events) out.lines.push_back(core::encode_line(e));
    return out;
  }();
  return log;
}

std::string state_hash(const core::State& s) {
  const auto json = boost::json::serialize(core::encode_state(s));
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : json) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "state:%016llx", static_cast<unsigned long long>(h));
  return buf;
}

void report(benchmark::State& st, double n) {
  st.SetItemsProcessed(static_cast<std::int64_t>(n));
  st.counters["events_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
}

void decode_only(benchmark::State& st, const Options& o) {
  const auto& log = the_log(o);
  double n = 0;
  for (auto _ : st) {
    for (const auto& line : log.lines) {
      auto e = core::decode_line(line);
      if (!e) throw std::runtime_error("decode failed: " + e.error().message);
      benchmark::DoNotOptimize(e);
    }
    n += static_cast<double>(log.lines.size());
  }
  report(st, n);
}

void apply_only(benchmark::State& st, const Options& o) {
  const auto& log = the_log(o);
  double n = 0;
  for (auto _ : st) {
    core::State s;
    core::replay(s, log.events);
    st.PauseTiming();  // neither hashing nor destroying the state is replay
    st.SetLabel(state_hash(s));
    s = {};
    st.ResumeTiming();
    n += static_cast<double>(log.events.size());
  }
  report(st, n);
}

void decode_apply(benchmark::State& st, const Options& o) {
  const auto& log = the_log(o);
  double n = 0;
  for (auto _ : st) {
    core::State s;
    core::Seq seq = 1;
    for (const auto& line : log.lines) {
      auto e = core::decode_line(line);
      if (!e) throw std::runtime_error("decode failed: " + e.error().message);
      (void)core::apply(s, *e, seq++);
    }
    st.PauseTiming();
    st.SetLabel(state_hash(s));
    s = {};
    st.ResumeTiming();
    n += static_cast<double>(log.lines.size());
  }
  report(st, n);
}

void register_all(const Options& o) {
  benchmark::RegisterBenchmark("replay_mem/decode", decode_only, o)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("replay_mem/apply", apply_only, o)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("replay_mem/decode_apply", decode_apply, o)->Unit(benchmark::kMillisecond);
}

}  // namespace
}  // namespace podid::bench

int main(int argc, char** argv) {
  return podid::bench::run_main(argc, argv, [](const podid::bench::Options& options) {
    podid::bench::register_all(options);
    return std::shared_ptr<void>();
  });
}
