// Replay and start-up: a log of 1,000,000 events (a 10,000-pod cluster, its settling, then churn) is written
// once per run; then timed: reading it, reading + decoding, and the full rebuild (read + decode + apply);
// start-up (open the store, load the newest checkpoint, catch up the last 1,000 events); and, in one run,
// start-up from the checkpoint against a full replay of the same log, as a ratio. See docs/benchmarks.md.

#include <benchmark/benchmark.h>

#include <optional>

#include "core/projection.hpp"
#include "store/event_log.hpp"
#include "store/rocks_event_store.hpp"
#include "tests/bench/bench_support.hpp"

namespace podid::bench {
namespace {

constexpr std::size_t kCatchUp = 1'000;  // events after the newest checkpoint

std::unique_ptr<store::RocksEventStore> open_store(const std::string& path) {
  auto opened = store::RocksEventStore::open(path, {.sync_writes = false});
  if (!opened) throw std::runtime_error("opening the store: " + opened.error().message);
  return std::move(opened).value();
}

// The log, written on first use (outside any timed region) and shared by every benchmark of the run.
class ReplayLog {
 public:
  explicit ReplayLog(const Options& o)
      : options_(o),
        events_(o.events != 0 ? o.events
                : o.smoke     ? 20'000
                              : 1'000'000) {}

  const std::string& path() {
    if (!dir_) build();
    return path_;
  }
  [[nodiscard]] std::size_t events() const { return events_; }

 private:
  void build() {
    dir_.emplace(options_);
    path_ = dir_->store_path();
    auto s = open_store(path_);
    store::EventLog log(*s);
    Workload w(cluster_shape(options_));
    core::State state;  // kept in step, to checkpoint it kCatchUp events before the end
    auto flush = [&](std::vector<core::Event>& batch) {
      const auto first = log.append(batch);
      if (!first) throw std::runtime_error("append failed: " + first.error().message);
      for (std::size_t i = 0; i < batch.size(); ++i) (void)core::apply(state, batch[i], *first + i);
      batch.clear();
      if (state.last_seq == events_ - kCatchUp && !log.checkpoint(state))
        throw std::runtime_error("checkpoint failed");
    };
    std::vector<core::Event> batch = w.initial();
    for (auto& e : w.settle()) batch.push_back(std::move(e));
    flush(batch);
    while (state.last_seq < events_) {
      const auto room = std::min<std::size_t>(1000, events_ - kCatchUp > state.last_seq
                                                        ? events_ - kCatchUp - state.last_seq
                                                        : events_ - state.last_seq);
      for (std::size_t i = 0; i < room; ++i) batch.push_back(w.next_churn());
      flush(batch);
    }
  }

  Options options_;
  std::size_t events_;
  std::optional<ScratchDir> dir_;
  std::string path_;
};

void report_rate(benchmark::State& st, double events) {
  st.SetItemsProcessed(static_cast<std::int64_t>(events));
  st.counters["events_per_s"] = benchmark::Counter(events, benchmark::Counter::kIsRate);
}

// Reading alone (RocksDB iteration + record decoding), pages of 4096 as EventLog reads.
void read_only(benchmark::State& st, ReplayLog& rl, bool decode) {
  auto s = open_store(rl.path());
  double n = 0;
  for (auto _ : st) {
    for (store::Seq next = 1; next <= s->last_seq();) {
      auto read = s->read(next, 4096);
      if (!read) throw std::runtime_error("read failed: " + read.error().message);
      const std::vector<store::EventRecord> page = std::move(read).value();
      if (page.empty()) throw std::runtime_error("read returned nothing at " + std::to_string(next));
      for (const auto& r : page) {
        if (decode && !store::from_record(r)) throw std::runtime_error("decode failed");
      }
      next += page.size();
      n += static_cast<double>(page.size());
    }
  }
  report_rate(st, n);
}

// The full replay: read + decode + apply, from the first event.
void full_replay(benchmark::State& st, ReplayLog& rl) {
  auto s = open_store(rl.path());
  store::EventLog log(*s);
  store::RebuildOptions no_checkpoint;
  no_checkpoint.use_checkpoint = false;
  double n = 0;
  for (auto _ : st) {
    const auto r = log.rebuild(no_checkpoint);
    if (!r || r->state.pods.empty()) throw std::runtime_error("replay failed");
    n += static_cast<double>(r->replayed);
    st.counters["pods"] = static_cast<double>(r->state.pods.size());
  }
  report_rate(st, n);
}

// Start-up: open the store, load the newest checkpoint, catch up. Closing is not timed.
double start_up(const std::string& path, std::uint64_t& replayed, std::size_t& pods) {
  const Stopwatch sw;
  auto s = open_store(path);
  store::EventLog log(*s);
  const auto r = log.rebuild();
  const double seconds = sw.seconds();
  if (!r || r->from_checkpoint == 0) throw std::runtime_error("start-up did not use a checkpoint");
  replayed = r->replayed;
  pods = r->state.pods.size();
  return seconds;
}

void start_up_from_checkpoint(benchmark::State& st, ReplayLog& rl) {
  const auto& path = rl.path();
  std::uint64_t replayed = 0;
  std::size_t pods = 0;
  for (auto _ : st) st.SetIterationTime(start_up(path, replayed, pods));
  st.counters["caught_up"] = static_cast<double>(replayed);
  st.counters["pods"] = static_cast<double>(pods);
}

void ratio_checkpoint_vs_full(benchmark::State& st, ReplayLog& rl) {
  const auto& path = rl.path();
  double from_checkpoint = 0;
  double full = 0;
  for (auto _ : st) {
    std::uint64_t replayed = 0;
    std::size_t pods = 0;
    from_checkpoint += start_up(path, replayed, pods);
    const Stopwatch sw;
    auto s = open_store(path);
    store::EventLog log(*s);
    store::RebuildOptions no_checkpoint;
    no_checkpoint.use_checkpoint = false;
    if (!log.rebuild(no_checkpoint)) throw std::runtime_error("replay failed");
    full += sw.seconds();
  }
  st.counters["checkpoint_s"] = from_checkpoint / static_cast<double>(st.iterations());
  st.counters["full_replay_s"] = full / static_cast<double>(st.iterations());
  st.counters["ratio_full_over_checkpoint"] = full / from_checkpoint;
}

void register_all(ReplayLog& rl) {
  const auto n = std::to_string(rl.events());
  benchmark::RegisterBenchmark(("replay/read/events:" + n).c_str(), read_only, std::ref(rl), false)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("replay/read_decode/events:" + n).c_str(), read_only, std::ref(rl), true)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  // CPU of the whole process: EventLog::catch_up reads and decodes on a helper thread while applying.
  benchmark::RegisterBenchmark(("replay/full/events:" + n).c_str(), full_replay, std::ref(rl))
      ->UseRealTime()
      ->MeasureProcessCPUTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("startup/from_checkpoint/catch_up:1000", start_up_from_checkpoint,
                               std::ref(rl))
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("ratio/full_replay_vs_checkpoint", ratio_checkpoint_vs_full, std::ref(rl))
      ->UseRealTime()
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace
}  // namespace podid::bench

int main(int argc, char** argv) {
  return podid::bench::run_main(argc, argv, [](const podid::bench::Options& options) {
    auto log = std::make_shared<podid::bench::ReplayLog>(options);
    podid::bench::register_all(*log);
    return std::shared_ptr<void>(log);
  });
}
