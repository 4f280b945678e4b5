#pragma once
// Internal to store/: the on-disk format version of RocksEventStore and its explicit upgrade steps.
//
//   version 1: events, subjects, cursors, checkpoints column families; meta holds only format_version;
//              first and last seq were derived from the events' keys.
//   version 2: meta also holds first_seq, last_seq and bytes (the retained events' stored size), kept in
//              the same WriteBatch as every append and retention, so an emptied log keeps its numbering.
//   version 3: a checkpoint's value may be a zstd frame (store/checkpoint_codec.hpp); nothing rewritten.
//
// Opening checks the version: a new store is initialised at kFormatVersion; an older known version is
// upgraded by running every step from it to kFormatVersion into ONE WriteBatch together with the new
// version (all or nothing); a newer version, or data without a version, is refused.

#include <cstdint>

#include "core/result.hpp"
#include "store/event_store.hpp"
#include "store/rocks_db.hpp"

namespace podid::store::rocks {

inline constexpr std::uint64_t kFormatVersion = 3;

// The counters kept in meta from version 2 on.
struct Counters {
  Seq first{1};
  Seq last{0};
  std::uint64_t bytes{0};
};

// Initialises, checks or upgrades the store's format, then reads and cross-checks the counters against
// the events column family. Errors: invalid for a newer format, corrupt for missing or undecodable
// metadata or counters that disagree with the events, io.
[[nodiscard]] core::Result<Counters> prepare_format(Db& db, const rocksdb::WriteOptions& wo);

}  // namespace podid::store::rocks
