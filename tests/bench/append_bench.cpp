// Appends per second to RocksEventStore: batches of 1, 100 and 1000 encoded PodObserved events, with the
// write-ahead log fsynced per append (the default) and without; the same through EventLog (JSON encoding
// included); and, in one run, batched against single appends as a ratio. See docs/benchmarks.md.

#include <benchmark/benchmark.h>

#include <vector>

#include "store/event_log.hpp"
#include "store/rocks_event_store.hpp"
#include "tests/bench/bench_support.hpp"

namespace podid::bench {
namespace {

constexpr std::size_t kDistinctRecords = 10'000;

std::vector<store::NewEvent> pod_records(const Options& o) {
  Workload w(cluster_shape(o));
  std::vector<store::NewEvent> out;
  out.reserve(kDistinctRecords);
  for (std::size_t i = 0; i < kDistinctRecords; ++i) out.push_back(store::to_record(w.pod_event(i)));
  return out;
}

std::unique_ptr<store::RocksEventStore> open_store(const ScratchDir& dir, bool sync) {
  auto opened = store::RocksEventStore::open(dir.store_path(), {.sync_writes = sync});
  if (!opened) throw std::runtime_error("opening the store: " + opened.error().message);
  return std::move(opened).value();
}

// Appends records[pos, pos + batch), wrapping around; returns the payload bytes written.
std::size_t append_next(store::EventStore& s, const std::vector<store::NewEvent>& records, std::size_t& pos,
                        std::size_t batch) {
  if (pos + batch > records.size()) pos = 0;
  const std::span<const store::NewEvent> span(records.data() + pos, batch);
  if (!s.append(span)) throw std::runtime_error("append failed");
  std::size_t bytes = 0;
  for (const auto& r : span) bytes += r.payload.size();
  pos += batch;
  return bytes;
}

void append_records(benchmark::State& st, const Options& o, std::size_t batch, bool sync) {
  const auto records = pod_records(o);
  ScratchDir dir(o);
  auto s = open_store(dir, sync);
  std::size_t pos = 0;
  std::size_t bytes = 0;
  for (auto _ : st) bytes += append_next(*s, records, pos, batch);
  const auto events = static_cast<double>(st.iterations()) * static_cast<double>(batch);
  st.SetItemsProcessed(static_cast<std::int64_t>(events));
  st.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  st.counters["appends_per_s"] = benchmark::Counter(events, benchmark::Counter::kIsRate);
  st.counters["payload_bytes"] = static_cast<double>(bytes) / events;
}

// The typed face: core events in, JSON-encoded and indexed by EventLog, then appended.
void append_typed(benchmark::State& st, const Options& o, std::size_t batch) {
  Workload w(cluster_shape(o));
  std::vector<core::Event> events;
  for (std::size_t i = 0; i < batch; ++i) events.emplace_back(w.pod_event(i));
  ScratchDir dir(o);
  auto s = open_store(dir, false);
  store::EventLog log(*s);
  for (auto _ : st)
    if (!log.append(events)) throw std::runtime_error("append failed");
  const auto n = static_cast<double>(st.iterations()) * static_cast<double>(batch);
  st.SetItemsProcessed(static_cast<std::int64_t>(n));
  st.counters["appends_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
}

// The same events appended one per append, then in batches, in one run: the ratio is robust to a noisy
// machine where the absolute figures are not.
void batched_vs_single(benchmark::State& st, const Options& o, bool sync) {
  const auto records = pod_records(o);
  const std::size_t n = sync ? 300 : 3000;
  constexpr std::size_t kBatch = 100;
  double single_s = 0;
  double batched_s = 0;
  for (auto _ : st) {
    ScratchDir dir(o);
    auto s = open_store(dir, sync);
    std::size_t pos = 0;
    const Stopwatch single;
    for (std::size_t i = 0; i < n; ++i) (void)append_next(*s, records, pos, 1);
    single_s += single.seconds();
    const Stopwatch batched;
    for (std::size_t i = 0; i < n; i += kBatch) (void)append_next(*s, records, pos, kBatch);
    batched_s += batched.seconds();
  }
  const auto total = static_cast<double>(n) * static_cast<double>(st.iterations());
  st.counters["single_per_s"] = total / single_s;
  st.counters["batched100_per_s"] = total / batched_s;
  st.counters["ratio_batched_over_single"] = single_s / batched_s;
}

void register_all(const Options& o) {
  for (const bool sync : {false, true}) {
    for (const std::size_t batch : {std::size_t{1}, std::size_t{100}, std::size_t{1000}}) {
      const auto name = "append/batch:" + std::to_string(batch) + "/sync:" + (sync ? "on" : "off");
      benchmark::RegisterBenchmark(name.c_str(), append_records, o, batch, sync)->UseRealTime();
    }
  }
  benchmark::RegisterBenchmark("append_typed/batch:1000/sync:off", append_typed, o, std::size_t{1000})
      ->UseRealTime();
  for (const bool sync : {false, true}) {
    const auto name = std::string("ratio/batched100_vs_single/sync:") + (sync ? "on" : "off");
    benchmark::RegisterBenchmark(name.c_str(), batched_vs_single, o, sync)->UseRealTime()->Iterations(1);
  }
}

}  // namespace
}  // namespace podid::bench

int main(int argc, char** argv) {
  return podid::bench::run_main(argc, argv, [](const podid::bench::Options& options) {
    podid::bench::register_all(options);
    return std::shared_ptr<void>();
  });
}
