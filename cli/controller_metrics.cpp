// The controller's /metrics page and the gauges measured only when it is asked for (cli/controller.hpp).
#include <malloc.h>

#include "cli/controller.hpp"

namespace podid::cli {

http::Response metrics_response(const core::MetricsRegistry& registry, const http::Request& r) {
  http::Response out;
  out.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  if (r.url != "/metrics" && !r.url.starts_with("/metrics?")) {
    out.status = 404;
    return out;
  }
  out.status = 200;
  out.body = registry.expose();
  return out;
}

void measure_memory(const store::RocksEventStore& store, core::MetricsRegistry& registry) {
  auto& bytes = registry.gauge("aadpodidentity_event_log_memory_bytes",
                               "Memory RocksDB holds for the event log, by kind.", {"kind"});
  auto& counts =
      registry.gauge("aadpodidentity_event_log_rocksdb",
                     "RocksDB's memtables waiting for a flush, live versions and table files.", {"what"});
  if (const auto m = store.memory()) {
    bytes.with({"memtables"}).set(static_cast<double>(m->memtables));
    bytes.with({"flushed_memtables"}).set(static_cast<double>(m->flushed_memtables));
    bytes.with({"table_readers"}).set(static_cast<double>(m->table_readers));
    bytes.with({"block_cache"}).set(static_cast<double>(m->block_cache));
    bytes.with({"block_cache_pinned"}).set(static_cast<double>(m->block_cache_pinned));
    counts.with({"immutable_memtables"}).set(static_cast<double>(m->immutable_memtables));
    counts.with({"live_versions"}).set(static_cast<double>(m->live_versions));
    counts.with({"sst_files"}).set(static_cast<double>(m->sst_files));
    counts.with({"sst_bytes"}).set(static_cast<double>(m->sst_bytes));
  }
  // glibc's view: what is allocated, and what it keeps free (fragmentation) or has mapped apart.
  const auto heap = mallinfo2();
  auto& h = registry.gauge("aadpodidentity_process_heap_bytes",
                           "The process heap (glibc mallinfo2), by kind.", {"kind"});
  h.with({"in_use"}).set(static_cast<double>(heap.uordblks));
  h.with({"free"}).set(static_cast<double>(heap.fordblks));
  h.with({"mmapped"}).set(static_cast<double>(heap.hblkhd));
}

}  // namespace podid::cli
