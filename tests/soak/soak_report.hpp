#pragma once
// The soak's figures: one sample of both processes, printed as one table row as it is taken, and the
// summary at the end (first sample after the warm-up vs the last, the maximum, growth per minute). Growth
// is reported, never asserted: the lead reads it (docs/benchmarks.md).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "soak/proc_sample.hpp"

namespace podid::soak {

// The controller's own view of its memory, from its /metrics page (-1: absent): RocksDB's
// (aadpodidentity_event_log_memory_bytes, aadpodidentity_event_log_rocksdb) and glibc's heap
// (aadpodidentity_process_heap_bytes). Bytes, or counts.
struct MemoryFigures {
  double memtables{-1}, flushed_memtables{-1}, table_readers{-1}, block_cache{-1}, block_cache_pinned{-1};
  double immutable_memtables{-1}, live_versions{-1}, sst_files{-1}, sst_bytes{-1};
  double heap_in_use{-1}, heap_free{-1}, heap_mmapped{-1};
};

struct Sample {
  double t_s{0};  // since the traffic started
  ProcFigures controller, nodeproxy;
  std::uint64_t store_bytes{0};    // every file under the controller's store directory
  double head_seq{-1};             // aadpodidentity_event_log_head_seq (-1: unreadable)
  RetiredEvents retired;           // what retention exported (and dropped from the log)
  std::uint64_t retired_bytes{0};  // the export directory (outside the store: it grows by design)
  std::uint64_t controller_log_bytes{0}, nodeproxy_log_bytes{0};  // their stderr, JSON lines
  std::uint64_t replica_bytes{0};                                 // the node proxy's --replica-file
  std::uint64_t tokens_ok{0}, tokens_pending{0}, refusals{0}, churn_ops{0};
  MemoryFigures memory;  // the controller's

  // Events the log still holds: those after the newest retired one (-1 when head_seq is unreadable).
  [[nodiscard]] double kept_events() const {
    return head_seq < 0 ? -1 : head_seq - static_cast<double>(retired.through);
  }
};

void print_header();
// Each sample is two lines: the processes and counts, then (indented) the controller's memory figures.
void print_row(const Sample& s);
// `first` is the index of the first sample at or after the warm-up.
void print_summary(const std::vector<Sample>& samples, std::size_t first);
void print_counts(const std::map<std::string, std::uint64_t>& counts);

}  // namespace podid::soak
