#pragma once
// Internal to store/: RAII ownership of a RocksDB database and its column families, a snapshot guard,
// and the one place RocksDB statuses become podid errors. Only store/*.cpp include this header, so no
// other folder sees RocksDB types.

#include <rocksdb/db.h>

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace podid::store::rocks {

// The column families, in the order they are opened.
enum class Cf : std::size_t { default_cf, events, subjects, cursors, checkpoints, meta };
inline constexpr std::size_t kCfCount = 6;
inline constexpr std::array<const char*, kCfCount> kCfNames{"default", "events",      "subjects",
                                                            "cursors", "checkpoints", "meta"};

// Keys of the meta column family.
inline constexpr std::string_view kFormatVersionKey = "format_version";
inline constexpr std::string_view kFirstSeqKey = "first_seq";
inline constexpr std::string_view kLastSeqKey = "last_seq";
inline constexpr std::string_view kBytesKey = "bytes";

// Classifies a RocksDB status: corruption -> corrupt, invalid argument -> invalid, busy/timed out/try
// again -> transient, everything else -> io. `context` says what was being done.
[[nodiscard]] core::Error to_error(const rocksdb::Status& s, std::string_view context);

// WriteBatch edits with their status checked (they fail only on oversized keys or batches).
[[nodiscard]] core::Status put(rocksdb::WriteBatch& b, rocksdb::ColumnFamilyHandle* cf, std::string_view key,
                               std::string_view value);
[[nodiscard]] core::Status del(rocksdb::WriteBatch& b, rocksdb::ColumnFamilyHandle* cf, std::string_view key);

class Db {
 public:
  // Opens (creating if missing) the database at `path` with every column family of kCfNames. Read-only:
  // nothing is created, no lock is taken (so it opens beside a running writer, seeing what that writer had
  // made durable at that moment), and every write fails. A directory that holds files but no CURRENT is
  // corrupt (RocksDB would create a new, empty database beside the old files). `verify`: any damage in the
  // write-ahead log fails the open (not only a torn last record, which RocksDB drops by default), then every
  // block of every table file is read and its checksum checked (see store/README.md, "Damage").
  [[nodiscard]] static core::Result<std::unique_ptr<Db>> open(const std::string& path, bool read_only = false,
                                                              bool verify = false);

  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  // Destroys the column family handles, then closes the database.
  ~Db();

  [[nodiscard]] rocksdb::DB& db() const { return *db_; }
  [[nodiscard]] rocksdb::ColumnFamilyHandle* cf(Cf c) const { return cfs_[static_cast<std::size_t>(c)]; }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] bool read_only() const { return read_only_; }

  // Reads a meta value; nullopt when absent.
  [[nodiscard]] core::Result<std::optional<std::string>> get_meta(std::string_view key) const;
  // True when the column family holds no key.
  [[nodiscard]] core::Result<bool> empty(Cf c) const;

 private:
  Db(std::string path, std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> cfs);

  std::string path_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  bool read_only_{false};
};

// Options of the reads that scan the log (replay and catch-up, retention and its export, checkpoints, the
// checks at open): they leave the block cache alone. Each event is read about once before retention drops
// it, and flushes and compactions rewrite the retained ones into new files, whose blocks the cache keys
// afresh: cached, those blocks were never read again, yet filled the cache to its capacity (the soak's
// controller grew +1.1 MiB/min until the cache was full, docs/benchmarks.md). The index blocks of live
// files are still cached.
[[nodiscard]] inline rocksdb::ReadOptions scan_options() {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  return ro;
}

// A consistent read view for the lifetime of the guard.
class Snapshot {
 public:
  explicit Snapshot(rocksdb::DB& db) : db_(db), snap_(db.GetSnapshot()) {}
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;
  ~Snapshot() { db_.ReleaseSnapshot(snap_); }

  // `ro`: scan_options() or plain ReadOptions (point lookups, which the cache serves).
  [[nodiscard]] rocksdb::ReadOptions read_options(rocksdb::ReadOptions ro = {}) const {
    ro.snapshot = snap_;
    return ro;
  }

 private:
  rocksdb::DB& db_;
  const rocksdb::Snapshot* snap_;
};

}  // namespace podid::store::rocks
