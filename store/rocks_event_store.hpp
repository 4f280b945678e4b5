#pragma once
// RocksEventStore: the EventStore on RocksDB. One WriteBatch per append (events, subject index, cursors,
// counters), so a batch and its cursors land together or not at all; with sync_writes (the default) an
// acknowledged append survives power loss, without it a process crash. Layout and format versions:
// store/README.md and store/rocks_format.hpp. Thread-safe: writers are serialised by a mutex, readers
// use RocksDB snapshots and never block.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "store/event_store.hpp"

namespace podid::store {

namespace rocks {
class Db;
}

struct RocksOptions {
  bool sync_writes{true};  // fsync the write-ahead log on every write
  // Read-only (podidctl beside a running controller): no lock, a view as of the open, every write refused.
  bool read_only{false};
  // The controller's start-up check (store/README.md, "Damage"): any damage in the write-ahead log fails the
  // open, every table block's checksum is verified, and every event is read back: keys gap-free from
  // first_seq to last_seq, each record decodable. Costs one read of the whole store. Errors are corrupt.
  bool verify{false};
};

// RocksDB's own use of memory and disk (store/README.md, "Memory"), from its properties: what the controller
// exports as gauges (docs/metrics.md), to tell a growing memtable, cache or table reader apart from our own.
struct RocksMemory {
  std::uint64_t memtables{0};  // active and not yet flushed memtables (rocksdb.cur-size-all-mem-tables)
  // Memtables already flushed but still held by a reader (rocksdb.size-all-mem-tables minus the above).
  std::uint64_t flushed_memtables{0};
  std::uint64_t table_readers{0};        // table readers outside the block cache (estimate-table-readers-mem)
  std::uint64_t block_cache{0};          // the one shared block cache, counted once (block-cache-usage)
  std::uint64_t block_cache_pinned{0};   // its entries in use (block-cache-pinned-usage)
  std::uint64_t immutable_memtables{0};  // waiting for a flush (num-immutable-mem-table)
  // Versions of the table file set alive (num-live-versions): one per column family at rest; more means a
  // reader (iterator, compaction) still holds an older one.
  std::uint64_t live_versions{0};
  std::uint64_t sst_files{0};  // live table files
  std::uint64_t sst_bytes{0};  // their size (live-sst-files-size)
};

class RocksEventStore final : public EventStore {
 public:
  // Opens or creates the store at `path`. Errors: invalid when the store has a newer format version than
  // this build knows, corrupt when its metadata or (with options.verify) anything else is damaged, io (e.g.
  // another process holds it open).
  [[nodiscard]] static core::Result<std::unique_ptr<RocksEventStore>> open(const std::string& path,
                                                                           RocksOptions options = {});
  ~RocksEventStore() override;

  [[nodiscard]] core::Result<Seq> append(std::span<const NewEvent> batch,
                                         std::span<const Cursor> cursors = {}) override;
  [[nodiscard]] core::Result<std::vector<EventRecord>> read(Seq from, std::size_t limit) const override;
  [[nodiscard]] core::Result<std::vector<EventRecord>> read_subject(std::string_view subject, Seq from,
                                                                    std::size_t limit) const override;
  [[nodiscard]] Seq last_seq() const override { return last_.load(); }
  [[nodiscard]] Seq first_seq() const override { return first_.load(); }
  [[nodiscard]] core::Result<std::optional<std::string>> cursor(std::string_view name) const override;
  [[nodiscard]] core::Status put_checkpoint(const Checkpoint& cp) override;
  [[nodiscard]] core::Result<std::optional<Checkpoint>> latest_checkpoint() const override;
  [[nodiscard]] core::Result<RetentionReport> apply_retention(const RetentionPolicy& p, std::int64_t now_ms,
                                                              const std::string& export_dir) override;
  [[nodiscard]] core::Status export_jsonl(Seq from, Seq to, std::ostream& out) const override;

  // Summed over the column families. Cheap (no I/O): meant for every metrics scrape. Errors: io when
  // RocksDB does not know a property (another RocksDB version).
  [[nodiscard]] core::Result<RocksMemory> memory() const;

 private:
  RocksEventStore(std::unique_ptr<rocks::Db> db, RocksOptions options, Seq first, Seq last,
                  std::uint64_t bytes);

  // Resolves `from` per the read() contract; gone when 0 < from < first_seq().
  [[nodiscard]] core::Result<Seq> start_at(Seq from) const;
  // After a read: gone when retention raced past an explicit `from` while reading.
  [[nodiscard]] core::Status check_not_dropped(Seq from) const;
  [[nodiscard]] core::Status drop_prefix(Seq first, Seq through, std::uint64_t bytes);

  std::unique_ptr<rocks::Db> db_;
  RocksOptions options_;
  std::mutex write_mu_;  // serialises append, put_checkpoint and apply_retention
  std::atomic<Seq> first_;
  std::atomic<Seq> last_;
  std::uint64_t bytes_;  // guarded by write_mu_
};

}  // namespace podid::store
