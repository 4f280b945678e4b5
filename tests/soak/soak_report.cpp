#include "soak/soak_report.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>

namespace podid::soak {
namespace {

double mib(double kib) {
  return kib / 1024.0;
}
double kib(std::uint64_t bytes) {
  return static_cast<double>(bytes) / 1024.0;
}

struct Figure {
  const char* name;
  std::function<double(const Sample&)> value;
};

const std::vector<Figure>& figures() {
  static const std::vector<Figure> all{
      {"controller VmRSS (MiB)", [](const Sample& s) { return mib(s.controller.rss_kib); }},
      {"controller VmHWM (MiB)", [](const Sample& s) { return mib(s.controller.hwm_kib); }},
      {"controller open fds", [](const Sample& s) { return double(s.controller.fds); }},
      {"controller threads", [](const Sample& s) { return double(s.controller.threads); }},
      {"event store on disk (KiB)", [](const Sample& s) { return kib(s.store_bytes); }},
      {"event log head seq", [](const Sample& s) { return s.head_seq; }},
      {"events kept in the log", [](const Sample& s) { return s.kept_events(); }},
      {"events retired (exported)", [](const Sample& s) { return double(s.retired.count); }},
      {"retention exports (KiB)", [](const Sample& s) { return kib(s.retired_bytes); }},
      {"controller stderr log (KiB)", [](const Sample& s) { return kib(s.controller_log_bytes); }},
      {"ctl RocksDB memtables (KiB)", [](const Sample& s) { return s.memory.memtables / 1024; }},
      {"ctl RocksDB flushed memtables held (KiB)",
       [](const Sample& s) { return s.memory.flushed_memtables / 1024; }},
      {"ctl RocksDB table readers (KiB)", [](const Sample& s) { return s.memory.table_readers / 1024; }},
      {"ctl RocksDB block cache (KiB)", [](const Sample& s) { return s.memory.block_cache / 1024; }},
      {"ctl RocksDB block cache pinned (KiB)",
       [](const Sample& s) { return s.memory.block_cache_pinned / 1024; }},
      {"ctl RocksDB immutable memtables", [](const Sample& s) { return s.memory.immutable_memtables; }},
      {"ctl RocksDB live versions", [](const Sample& s) { return s.memory.live_versions; }},
      {"ctl RocksDB table files", [](const Sample& s) { return s.memory.sst_files; }},
      {"ctl RocksDB table files (KiB)", [](const Sample& s) { return s.memory.sst_bytes / 1024; }},
      {"ctl heap in use (KiB)", [](const Sample& s) { return s.memory.heap_in_use / 1024; }},
      {"ctl heap free, kept by glibc (KiB)", [](const Sample& s) { return s.memory.heap_free / 1024; }},
      {"ctl heap mmapped (KiB)", [](const Sample& s) { return s.memory.heap_mmapped / 1024; }},
      {"node proxy VmRSS (MiB)", [](const Sample& s) { return mib(s.nodeproxy.rss_kib); }},
      {"node proxy VmHWM (MiB)", [](const Sample& s) { return mib(s.nodeproxy.hwm_kib); }},
      {"node proxy open fds", [](const Sample& s) { return double(s.nodeproxy.fds); }},
      {"node proxy threads", [](const Sample& s) { return double(s.nodeproxy.threads); }},
      {"replica file (KiB)", [](const Sample& s) { return kib(s.replica_bytes); }},
      {"node proxy stderr log (KiB)", [](const Sample& s) { return kib(s.nodeproxy_log_bytes); }},
  };
  return all;
}

}  // namespace

void print_header() {
  std::printf("%7s | %7s %7s %4s %4s %8s %7s %6s %7s %8s | %7s %7s %4s %4s %7s %8s | %7s %6s %6s %5s\n",
              "t(s)", "ctlRSS", "ctlHWM", "fds", "thr", "storeKiB", "headSeq", "kept", "retired", "logKiB",
              "npRSS", "npHWM", "fds", "thr", "replKiB", "logKiB", "tok200", "tok503", "refuse", "churn");
  // The second line of a sample: the controller's memory in KiB (RocksDB's, then glibc's heap).
  std::printf("%7s | %8s %8s %8s %8s %8s | %4s %4s %4s %8s | %8s %8s %8s\n", "", "memtab", "flushed",
              "readers", "bcache", "bpinned", "imm", "vers", "ssts", "sstKiB", "heapUse", "heapFree",
              "heapMmap");
  std::fflush(stdout);
}

void print_row(const Sample& s) {
  std::printf(
      "%7.0f | %7.1f %7.1f %4d %4d %8.0f %7.0f %6.0f %7llu %8.0f | %7.1f %7.1f %4d %4d %7.1f %8.0f | %7llu "
      "%6llu %6llu %5llu\n",
      s.t_s, mib(s.controller.rss_kib), mib(s.controller.hwm_kib), s.controller.fds, s.controller.threads,
      kib(s.store_bytes), s.head_seq, s.kept_events(), static_cast<unsigned long long>(s.retired.count),
      kib(s.controller_log_bytes), mib(s.nodeproxy.rss_kib), mib(s.nodeproxy.hwm_kib), s.nodeproxy.fds,
      s.nodeproxy.threads, kib(s.replica_bytes), kib(s.nodeproxy_log_bytes),
      static_cast<unsigned long long>(s.tokens_ok), static_cast<unsigned long long>(s.tokens_pending),
      static_cast<unsigned long long>(s.refusals), static_cast<unsigned long long>(s.churn_ops));
  const auto& m = s.memory;
  std::printf("%7s | %8.0f %8.0f %8.0f %8.0f %8.0f | %4.0f %4.0f %4.0f %8.0f | %8.0f %8.0f %8.0f\n", "",
              m.memtables / 1024, m.flushed_memtables / 1024, m.table_readers / 1024, m.block_cache / 1024,
              m.block_cache_pinned / 1024, m.immutable_memtables, m.live_versions, m.sst_files,
              m.sst_bytes / 1024, m.heap_in_use / 1024, m.heap_free / 1024, m.heap_mmapped / 1024);
  std::fflush(stdout);
}

void print_summary(const std::vector<Sample>& samples, std::size_t first) {
  if (samples.empty() || first >= samples.size()) {
    std::printf("summary: no sample after the warm-up\n");
    return;
  }
  const auto& a = samples[first];
  const auto& b = samples.back();
  const double minutes = (b.t_s - a.t_s) / 60.0;
  std::printf("\nsummary: from t=%.0f s (first sample after the warm-up) to t=%.0f s\n", a.t_s, b.t_s);
  std::printf("| figure | after warm-up | last | max | growth per minute |\n|---|---|---|---|---|\n");
  for (const auto& f : figures()) {
    double max = f.value(samples.front());
    for (const auto& s : samples) max = std::max(max, f.value(s));
    const double growth = minutes > 0 ? (f.value(b) - f.value(a)) / minutes : 0.0;
    std::printf("| %s | %.1f | %.1f | %.1f | %+.2f |\n", f.name, f.value(a), f.value(b), max, growth);
  }
  std::fflush(stdout);
}

void print_counts(const std::map<std::string, std::uint64_t>& counts) {
  std::printf("\ncounts (token requests by kind and status, churn operations):\n");
  for (const auto& [key, n] : counts)
    std::printf("  %-40s %llu\n", key.c_str(), static_cast<unsigned long long>(n));
  std::fflush(stdout);
}

}  // namespace podid::soak
