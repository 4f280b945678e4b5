#include "store/rocks_db.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace podid::store::rocks {

core::Error to_error(const rocksdb::Status& s, std::string_view context) {
  auto code = core::ErrorCode::io;
  if (s.IsCorruption()) {
    code = core::ErrorCode::corrupt;
  } else if (s.IsInvalidArgument() || s.IsNotSupported()) {
    code = core::ErrorCode::invalid;
  } else if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    code = core::ErrorCode::transient;
  }
  return core::make_error(code, std::string(context) + ": " + s.ToString());
}

core::Status put(rocksdb::WriteBatch& b, rocksdb::ColumnFamilyHandle* cf, std::string_view key,
                 std::string_view value) {
  auto s = b.Put(cf, rocksdb::Slice(key.data(), key.size()), rocksdb::Slice(value.data(), value.size()));
  if (!s.ok()) return to_error(s, "adding to a write batch");
  return core::ok();
}

core::Status del(rocksdb::WriteBatch& b, rocksdb::ColumnFamilyHandle* cf, std::string_view key) {
  auto s = b.Delete(cf, rocksdb::Slice(key.data(), key.size()));
  if (!s.ok()) return to_error(s, "adding to a write batch");
  return core::ok();
}

Db::Db(std::string path, std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> cfs)
    : path_(std::move(path)), db_(std::move(db)), cfs_(std::move(cfs)) {}

Db::~Db() {
  // A destructor cannot report: a failed handle release leaks only memory, and every acknowledged write is
  // already in the WAL, so a failed Close loses nothing (the next open recovers).
  for (auto* h : cfs_) {
    [[maybe_unused]] auto s = db_->DestroyColumnFamilyHandle(h);
  }
  [[maybe_unused]] auto s = db_->Close();
}

namespace {

// The subject index key up to and including its '\0': all index entries of one subject share it.
class SubjectPrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "podid.SubjectPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const auto at = key.ToStringView().find('\0');
    return {key.data(), at + 1};
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return key.ToStringView().find('\0') != std::string_view::npos;
  }
};

bool lz4_supported() {
  for (const auto c : rocksdb::GetSupportedCompressions())
    if (c == rocksdb::kLZ4Compression) return true;
  return false;
}

// The one block cache of a store's column families (data, index and filter blocks).
constexpr std::size_t kBlockCacheBytes = std::size_t{8} << 20U;

// Tuning (measured with tests/bench/podid_bench_append, see docs/benchmarks.md). None of it changes what
// is stored or when a write is durable; an existing store opens with these options unchanged.
rocksdb::ColumnFamilyOptions column_family_options(Cf cf,
                                                   const std::shared_ptr<rocksdb::Cache>& block_cache) {
  rocksdb::ColumnFamilyOptions o;
  // Without a cache of its own, every family's table factory creates a private 32 MiB block cache, and the
  // table readers keep each file's index and filter blocks outside any cache: a long-running controller's
  // memory then grew with every block read and every file written (the soak showed +0.4 MiB/min, and a heap
  // profile put it in RocksDB's block reads and table readers). One cache for all families, with index and
  // filter blocks charged to it, bounds both. The log is read sequentially (replay, retention), so a small
  // cache costs little.
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = block_cache;
  table.cache_index_and_filter_blocks = true;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  if (cf == Cf::subjects) {
    // Index keys (subject \0 seq) arrive in random subject order, so each memtable insert searched the skip
    // list from the top, comparing long keys: the largest share of a batched append's CPU. Within one subject
    // they only grow, so one insert hint per subject makes the insert start next to the subject's previous
    // entry. Not for the events column family: its keys are already sequential (the skip list's own
    // sequential splice covers them), and RocksDB 7.8 shares the hints with the range-tombstone table, which
    // retention's DeleteRange on that family then trips over (an assertion in InlineSkipList, seen in
    // podid_store_unit_tests). Nothing may ever DeleteRange the subjects family while this is set.
    o.memtable_insert_with_hint_prefix_extractor = std::make_shared<SubjectPrefix>();
  }
  // A memtable allocates in arena blocks of write_buffer_size / 8 capped at 1 MiB (RocksDB's default): a few
  // events in each of four families then held 4 MiB (aadpodidentity_event_log_memory_bytes{kind="memtables"}
  // in the soak), and each flush freed and allocated them again. Small blocks cost a few more allocations.
  o.arena_block_size = std::size_t{64} << 10U;
  // LZ4 instead of the default Snappy where available: typically faster to compress (in the background
  // flush, which competes with appends on a small machine) and to decompress (on replay) at a similar ratio.
  if (lz4_supported()) o.compression = rocksdb::kLZ4Compression;
  // A checkpoint is the whole state, written every N events and read back only at start-up: the older ones,
  // deleted at once, would otherwise stay in a 64 MiB memtable (twice over while one flushes). Small
  // memtables send them to disk early. Checkpoints arrive compressed (checkpoint_codec.hpp: ~1 MiB at 10,000
  // pods), so RocksDB does not compress them again.
  if (cf == Cf::checkpoints) {
    o.write_buffer_size = std::size_t{4} << 20U;
    o.compression = rocksdb::kNoCompression;
  }
  return o;
}

// Whether `path` is a directory holding files but no CURRENT, or a CURRENT naming a MANIFEST that is gone.
// With create_if_missing, RocksDB would start a new database beside the old files (replaying whatever WAL
// files it finds) and silently drop everything the table files held.
core::Status check_current(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto corrupt = [&](const std::string& why) {
    return core::make_error(core::ErrorCode::corrupt, "event store " + path + ": " + why);
  };
  if (!fs::is_directory(path, ec)) return core::ok();
  const auto current = fs::path(path) / "CURRENT";
  if (!fs::exists(current, ec)) {
    // Only files count: a directory may hold a damaged store kept aside in it (cli/store_recovery.cpp) or
    // retention's exports next to a store yet to be created.
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec))
      if (!it->is_directory(ec)) return corrupt("the directory holds files but no CURRENT file");
    return core::ok();  // empty or unreadable: RocksDB decides
  }
  std::ifstream in(current);
  std::string manifest;
  std::getline(in, manifest);
  if (manifest.empty() || manifest.find('/') != std::string::npos)
    return corrupt("CURRENT does not name a MANIFEST (\"" + manifest + "\")");
  if (!fs::exists(fs::path(path) / manifest, ec))
    return corrupt("CURRENT names " + manifest + ", which is missing");
  return core::ok();
}

}  // namespace

core::Result<std::unique_ptr<Db>> Db::open(const std::string& path, bool read_only, bool verify) {
  PODID_TRY(check_current(path));
  rocksdb::DBOptions options;
  options.create_if_missing = !read_only;
  options.create_missing_column_families = !read_only;
  // One memtable budget for all column families (RocksDB flushes the largest when it is exceeded), so that
  // the controller's memory does not grow with four families' 64 MiB defaults: 16 MiB, so that a 10,000-pod
  // burst's events do not sit in memory (docs/benchmarks.md, "Controller memory"); appends flush earlier.
  options.db_write_buffer_size = std::size_t{16} << 20U;
  // RocksDB's own info LOG grows with every flush and compaction and is never rotated by default: the soak
  // saw it become the store's largest file. Two rotated files of 1 MiB at most.
  options.max_log_file_size = std::size_t{1} << 20U;
  options.keep_log_file_num = 2;
  // The MANIFEST records every flush and compaction and is rewritten from a snapshot only when it reaches
  // this size (default 1 GiB): retention flushes often, so without a cap it would grow for weeks.
  options.max_manifest_file_size = std::uint64_t{4} << 20U;
  if (verify) {
    // By default a damaged WAL record ends the replay there and the open succeeds with what came before:
    // acknowledged writes vanish without a word. Absolute consistency refuses instead. A torn last record
    // (a crash in the middle of writing it, never acknowledged) is refused too: it cannot be told from a
    // truncated file. The larger write buffer hands a batch below 64 MiB to the kernel in one write(2)
    // (the default 1 MiB splits larger ones), so that a killed process tears one only while the kernel
    // copies it; a power loss still can.
    options.wal_recovery_mode = rocksdb::WALRecoveryMode::kAbsoluteConsistency;
    options.writable_file_max_buffer_size = 64U << 20U;
    options.paranoid_checks = true;
  }
  const auto block_cache = rocksdb::NewLRUCache(kBlockCacheBytes);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (std::size_t i = 0; i < kCfCount; ++i)
    descriptors.emplace_back(kCfNames[i], column_family_options(static_cast<Cf>(i), block_cache));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = read_only ? rocksdb::DB::OpenForReadOnly(options, path, descriptors, &handles, &raw)
                     : rocksdb::DB::Open(options, path, descriptors, &handles, &raw);
  if (!s.ok())
    return to_error(s, std::string("opening event store ") + (read_only ? "read-only " : "") + path);
  std::unique_ptr<rocksdb::DB> db(raw);
  std::unique_ptr<Db> opened(new Db(path, std::move(db), std::move(handles)));
  opened->read_only_ = read_only;
  if (verify) {
    s = opened->db().VerifyChecksum();
    if (!s.ok()) return to_error(s, "verifying the table files of event store " + path);
  }
  return opened;
}

core::Result<std::optional<std::string>> Db::get_meta(std::string_view key) const {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), cf(Cf::meta), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>{};
  if (!s.ok()) return to_error(s, "reading meta " + std::string(key));
  return std::optional<std::string>{std::move(value)};
}

core::Result<bool> Db::empty(Cf c) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(c)));
  it->SeekToFirst();
  if (!it->status().ok()) return to_error(it->status(), "scanning column family");
  return !it->Valid();
}

}  // namespace podid::store::rocks
