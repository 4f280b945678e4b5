#pragma once
// The retention algorithm both stores share. It walks the log from first_seq(), decides event by event
// whether the oldest remaining one must go (too old, too many events, too many bytes) and stops at the
// first that may stay or at the latest checkpoint, writing each dropped event to the export file as it
// goes. Only once that file is fsynced under its final name does it call `drop` to delete the prefix.
// Callers hold their writer lock, so the log cannot change underneath.

#include <cstdint>
#include <functional>
#include <string>

#include "core/result.hpp"
#include "store/event_store.hpp"

namespace podid::store {

// Deletes events first..through (inclusive) atomically; `bytes` is the sum of their stored_size().
using DropPrefix = std::function<core::Status(Seq first, Seq through, std::uint64_t bytes)>;

// `total_bytes` is the stored size of every retained event. The export file is named
// events-<first>-<through>.jsonl (20-digit zero-padded seqs) inside export_dir.
[[nodiscard]] core::Result<RetentionReport> run_retention(const EventStore& s, const RetentionPolicy& p,
                                                          std::int64_t now_ms, std::uint64_t total_bytes,
                                                          const std::string& export_dir,
                                                          const DropPrefix& drop);

}  // namespace podid::store
