#pragma once
// Importing a slice of someone else's log (a support bundle's events and the state at its end) as a NEW
// RocksDB event store that keeps the ORIGINAL sequence numbers, so "#1234" names the same event on the
// cluster that exported it and on the machine that imported it. The store starts at the first imported
// event (first_seq() > 1 is legal: retention produces such stores too) and holds a checkpoint of the state
// at the last one, so rebuilding, explaining and exporting work on it like on any store.
//
// Atomic: everything is written into `<path>.importing` in one WriteBatch, verified by reopening, and only
// then renamed to `<path>`, so a crash at any point leaves either no store at `<path>` or the whole import.
// A leftover `<path>.importing` from a crashed import is removed by the next import of the same path.

#include <functional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "store/event_store.hpp"

namespace podid::store {

struct ImportSet {
  std::vector<EventRecord> events;      // seqs increasing by one; may be empty (state only)
  std::vector<Checkpoint> checkpoints;  // at first-1 .. last; the newest lies at the last event's seq
  std::vector<Cursor> cursors;          // e.g. where the import came from
};

// Points an import passes; a test seam (crash tests kill the process there), nothing else needs it.
enum class ImportStep {
  created,   // `<path>.importing` holds an empty, initialised store
  written,   // the one WriteBatch with everything is durable in `<path>.importing`
  verified,  // reopened and checked; next comes the rename
};

struct ImportOptions {
  std::function<void(ImportStep)> after_step;
};

// Checks `set` without touching the disk. Errors: invalid (no checkpoint, seqs that do not increase by
// one or start at 0, a newest checkpoint not at the last event, one outside first-1..last, a bad event).
[[nodiscard]] core::Status check_import(const ImportSet& set);

// Creates the store at `path` (which must not exist, or be an empty directory) holding exactly `set`.
// Errors: invalid as check_import, conflict when `path` is not empty (an existing store is never touched)
// or another import into `path` is running, io.
[[nodiscard]] core::Status import_store(const std::string& path, const ImportSet& set,
                                        const ImportOptions& options = {});

}  // namespace podid::store
