#pragma once
// The controller's event store at start-up, damage included (issue 8, "a corrupted or truncated event
// log"). The store is opened verified (store::RocksOptions::verify: the WAL without tolerance, every table
// block's checksum, every event key and record) and the whole log decoded (store::EventLog::verify), so the
// replay that follows never starts from a silently wrong state. A damaged (corrupt) store is, by
// --on-corrupt-store:
//   rebuild (default): moved aside to <store>.corrupt-<UTC time> (kept for support, never deleted; inside it,
//     as <store>/corrupt-<UTC time>, when the store is a mount point), an error
//     logged with the reason and that path, aadpodidentity_event_log_rebuilds_total incremented, and a new
//     store opened: the controller starts as on a new install (the watches list Kubernetes, the leader reads
//     Azure, identities recorded by Assigned AzureAssignedIdentities are adopted: core/projection.cpp);
//   fail: an error naming the store and the reason (the main exits 1).
// Anything else (another process holds the store, a newer format version, an I/O error) is returned as it
// is: only damage moves a store aside.

#include <memory>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/logger.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"
#include "store/rocks_event_store.hpp"

namespace podid::cli {

enum class OnCorruptStore { rebuild, fail };

// "rebuild" or "fail"; invalid otherwise.
[[nodiscard]] core::Result<OnCorruptStore> parse_on_corrupt_store(std::string_view text);

struct OpenedStore {
  std::unique_ptr<store::RocksEventStore> store;
  std::string kept_at;  // where the damaged store was moved; empty when it was intact
  std::string damage;   // why it was moved
};

// Opens (creating if missing) the controller's store at `path` as described above.
[[nodiscard]] core::Result<OpenedStore> open_controller_store(const std::string& path,
                                                              OnCorruptStore on_corrupt,
                                                              const core::Clock& clock,
                                                              const core::Logger& logger,
                                                              core::MetricsRegistry& metrics);

// Moves the damaged store at `path` to corrupt_store_name() (with "-2", "-3"... if taken), durably; returns
// where. When `path` cannot be renamed (a volume mounted there), keep_in_place() instead.
[[nodiscard]] core::Result<std::string> move_aside(const std::string& path, std::int64_t now_ms);
// Moves everything in `path` (but stores kept there earlier) into a new <path>/corrupt-YYYYMMDDTHHMMSSZ;
// returns it. The new store is then created beside it: RocksDB and the verified open ignore directories.
[[nodiscard]] core::Result<std::string> keep_in_place(const std::string& path, std::int64_t now_ms);

// The name a damaged store at `path` is moved to at `now_ms`: <path>.corrupt-YYYYMMDDTHHMMSSZ.
[[nodiscard]] std::string corrupt_store_name(const std::string& path, std::int64_t now_ms);

}  // namespace podid::cli
