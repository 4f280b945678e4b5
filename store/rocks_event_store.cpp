#include "store/rocks_event_store.hpp"

#include <rocksdb/metadata.h>

#include <algorithm>
#include <set>
#include <vector>

#include "store/jsonl.hpp"
#include "store/record_codec.hpp"
#include "store/retention.hpp"
#include "store/rocks_db.hpp"
#include "store/rocks_format.hpp"

namespace podid::store {

using rocks::Cf;

namespace {

rocksdb::Slice slice(std::string_view s) {
  return {s.data(), s.size()};
}

rocksdb::WriteOptions write_options(const RocksOptions& o) {
  rocksdb::WriteOptions wo;
  wo.sync = o.sync_writes;
  return wo;
}

core::Error gone(Seq from, Seq first) {
  return core::make_error(core::ErrorCode::gone, "events before " + std::to_string(first) +
                                                     " were dropped by retention (asked for " +
                                                     std::to_string(from) + ")");
}

// Reads every event: keys first..last without a gap, each record decodable. Gaps inside the range are what
// the counter check at open (both ends only) cannot see.
core::Status verify_events(const rocks::Db& db, const rocks::Counters& c) {
  std::unique_ptr<rocksdb::Iterator> it(db.db().NewIterator(rocks::scan_options(), db.cf(Cf::events)));
  Seq want = c.first;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const auto seq = PODID_TRY(decode_u64(it->key().ToStringView(), "key in column family events"));
    if (seq != want) {
      return core::make_error(core::ErrorCode::corrupt, "event store " + db.path() + ": event " +
                                                            std::to_string(want) + " is missing (next is " +
                                                            std::to_string(seq) + ")");
    }
    PODID_TRY(decode_event(seq, it->value().ToStringView()));
    ++want;
  }
  if (!it->status().ok()) return rocks::to_error(it->status(), "reading the events of " + db.path());
  if (want != c.last + 1) {
    return core::make_error(core::ErrorCode::corrupt, "event store " + db.path() + ": events end at " +
                                                          std::to_string(want - 1) + " but last_seq is " +
                                                          std::to_string(c.last));
  }
  return core::ok();
}

}  // namespace

RocksEventStore::RocksEventStore(std::unique_ptr<rocks::Db> db, RocksOptions options, Seq first, Seq last,
                                 std::uint64_t bytes)
    : db_(std::move(db)), options_(options), first_(first), last_(last), bytes_(bytes) {}

RocksEventStore::~RocksEventStore() = default;

core::Result<std::unique_ptr<RocksEventStore>> RocksEventStore::open(const std::string& path,
                                                                     RocksOptions options) {
  auto db = PODID_TRY(rocks::Db::open(path, options.read_only, options.verify));
  auto counters = PODID_TRY(rocks::prepare_format(*db, write_options(options)));
  if (options.verify) PODID_TRY(verify_events(*db, counters));
  return std::unique_ptr<RocksEventStore>(
      new RocksEventStore(std::move(db), options, counters.first, counters.last, counters.bytes));
}

core::Result<Seq> RocksEventStore::append(std::span<const NewEvent> batch, std::span<const Cursor> cursors) {
  for (const auto& e : batch) PODID_TRY(validate(e));
  for (const auto& c : cursors) PODID_TRY(validate(c));
  std::scoped_lock lock(write_mu_);
  const Seq first = last_.load() + 1;
  if (batch.empty() && cursors.empty()) return first;
  // Tuning: the batch buffer is sized once (it would otherwise grow by doubling, copying every event
  // again), and subjects are de-duplicated in place rather than through a std::set per event: events have
  // one to three subjects. Measured with tests/bench/podid_bench_append (docs/benchmarks.md).
  std::size_t reserve = 64;
  for (const auto& e : batch) {
    reserve += static_cast<std::size_t>(stored_size(e)) + 32;
    for (const auto& s : e.subjects) reserve += s.size() + 32;
  }
  rocksdb::WriteBatch b(reserve);
  Seq seq = first;
  std::uint64_t bytes = bytes_;
  for (const auto& e : batch) {
    PODID_TRY(rocks::put(b, db_->cf(Cf::events), encode_u64(seq), encode_event(e)));
    const auto subjects_begin = e.subjects.begin();
    for (auto it = subjects_begin; it != e.subjects.end(); ++it) {
      if (std::find(subjects_begin, it, *it) != it) continue;  // listed twice: index it once
      PODID_TRY(rocks::put(b, db_->cf(Cf::subjects), subject_key(*it, seq), {}));
    }
    bytes += stored_size(e);
    ++seq;
  }
  for (const auto& c : cursors) PODID_TRY(rocks::put(b, db_->cf(Cf::cursors), c.name, c.value));
  if (!batch.empty()) {
    PODID_TRY(rocks::put(b, db_->cf(Cf::meta), rocks::kLastSeqKey, encode_u64(seq - 1)));
    PODID_TRY(rocks::put(b, db_->cf(Cf::meta), rocks::kBytesKey, encode_u64(bytes)));
  }
  auto s = db_->db().Write(write_options(options_), &b);
  if (!s.ok()) return rocks::to_error(s, "appending " + std::to_string(batch.size()) + " events");
  last_.store(seq - 1);
  bytes_ = bytes;
  return first;
}

core::Result<Seq> RocksEventStore::start_at(Seq from) const {
  const Seq first = first_.load();
  if (from == 0) return first;
  if (from < first) return gone(from, first);
  return from;
}

core::Status RocksEventStore::check_not_dropped(Seq from) const {
  const Seq first = first_.load();
  if (from != 0 && from < first) return gone(from, first);
  return core::ok();
}

core::Result<std::vector<EventRecord>> RocksEventStore::read(Seq from, std::size_t limit) const {
  const Seq start = PODID_TRY(start_at(from));
  std::vector<EventRecord> out;
  if (limit == 0) return out;
  rocks::Snapshot snap(db_->db());
  std::unique_ptr<rocksdb::Iterator> it(
      db_->db().NewIterator(snap.read_options(rocks::scan_options()), db_->cf(Cf::events)));
  const std::string start_key = encode_u64(start);
  for (it->Seek(start_key); it->Valid() && out.size() < limit; it->Next()) {
    auto seq = PODID_TRY(decode_u64(it->key().ToStringView(), "key in column family events"));
    if (!out.empty() && seq != out.back().seq + 1) {
      return core::make_error(core::ErrorCode::corrupt, "events jump from " + std::to_string(out.back().seq) +
                                                            " to " + std::to_string(seq));
    }
    out.push_back(PODID_TRY(decode_event(seq, it->value().ToStringView())));
  }
  if (!it->status().ok()) return rocks::to_error(it->status(), "reading events");
  if (from != 0 && !out.empty() && out.front().seq != from) return gone(from, out.front().seq);
  PODID_TRY(check_not_dropped(from));
  return out;
}

core::Result<std::vector<EventRecord>> RocksEventStore::read_subject(std::string_view subject, Seq from,
                                                                     std::size_t limit) const {
  const Seq start = PODID_TRY(start_at(from));
  std::vector<EventRecord> out;
  if (limit == 0) return out;
  rocks::Snapshot snap(db_->db());
  const auto ro = snap.read_options();
  std::unique_ptr<rocksdb::Iterator> it(db_->db().NewIterator(ro, db_->cf(Cf::subjects)));
  const std::string prefix = subject_prefix(subject);
  const std::string start_key = subject_key(subject, start);
  std::string value;
  for (it->Seek(start_key); it->Valid() && out.size() < limit; it->Next()) {
    auto key = it->key().ToStringView();
    if (!key.starts_with(prefix)) break;
    auto seq =
        PODID_TRY(decode_u64(key.substr(prefix.size()), "subject index key of " + std::string(subject)));
    auto s = db_->db().Get(ro, db_->cf(Cf::events), encode_u64(seq), &value);
    if (s.IsNotFound()) {
      return core::make_error(core::ErrorCode::corrupt, "subject index entry " + std::string(subject) + "@" +
                                                            std::to_string(seq) +
                                                            " points to a missing event");
    }
    if (!s.ok()) return rocks::to_error(s, "reading event " + std::to_string(seq));
    out.push_back(PODID_TRY(decode_event(seq, value)));
  }
  if (!it->status().ok()) return rocks::to_error(it->status(), "reading the subject index");
  PODID_TRY(check_not_dropped(from));
  return out;
}

core::Result<std::optional<std::string>> RocksEventStore::cursor(std::string_view name) const {
  std::string value;
  auto s = db_->db().Get(rocksdb::ReadOptions(), db_->cf(Cf::cursors), slice(name), &value);
  if (s.IsNotFound()) return std::optional<std::string>{};
  if (!s.ok()) return rocks::to_error(s, "reading cursor " + std::string(name));
  return std::optional<std::string>{std::move(value)};
}

core::Status RocksEventStore::put_checkpoint(const Checkpoint& cp) {
  std::scoped_lock lock(write_mu_);
  if (cp.seq > last_.load()) {
    return core::make_error(core::ErrorCode::invalid, "checkpoint at " + std::to_string(cp.seq) +
                                                          " is past the last event " +
                                                          std::to_string(last_.load()));
  }
  std::set<Seq> kept{cp.seq};
  std::unique_ptr<rocksdb::Iterator> it(
      db_->db().NewIterator(rocks::scan_options(), db_->cf(Cf::checkpoints)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    kept.insert(PODID_TRY(decode_u64(it->key().ToStringView(), "key in column family checkpoints")));
  }
  if (!it->status().ok()) return rocks::to_error(it->status(), "listing checkpoints");
  rocksdb::WriteBatch b;
  PODID_TRY(rocks::put(b, db_->cf(Cf::checkpoints), encode_u64(cp.seq), cp.state));
  while (kept.size() > kCheckpointsKept) {
    PODID_TRY(rocks::del(b, db_->cf(Cf::checkpoints), encode_u64(*kept.begin())));
    kept.erase(kept.begin());
  }
  auto s = db_->db().Write(write_options(options_), &b);
  if (!s.ok()) return rocks::to_error(s, "writing checkpoint " + std::to_string(cp.seq));
  return core::ok();
}

core::Result<std::optional<Checkpoint>> RocksEventStore::latest_checkpoint() const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->db().NewIterator(rocks::scan_options(), db_->cf(Cf::checkpoints)));
  it->SeekToLast();
  if (!it->status().ok()) return rocks::to_error(it->status(), "reading the latest checkpoint");
  if (!it->Valid()) return std::optional<Checkpoint>{};
  auto seq = PODID_TRY(decode_u64(it->key().ToStringView(), "key in column family checkpoints"));
  return std::optional<Checkpoint>{Checkpoint{seq, it->value().ToString()}};
}

core::Status RocksEventStore::drop_prefix(Seq first, Seq through, std::uint64_t bytes) {
  rocksdb::WriteBatch b;
  std::unique_ptr<rocksdb::Iterator> it(db_->db().NewIterator(rocks::scan_options(), db_->cf(Cf::events)));
  for (it->Seek(encode_u64(first)); it->Valid(); it->Next()) {
    auto seq = PODID_TRY(decode_u64(it->key().ToStringView(), "key in column family events"));
    if (seq > through) break;
    auto e = PODID_TRY(decode_event(seq, it->value().ToStringView()));
    for (const auto& s : e.subjects) PODID_TRY(rocks::del(b, db_->cf(Cf::subjects), subject_key(s, seq)));
  }
  if (!it->status().ok()) return rocks::to_error(it->status(), "reading events to drop");
  const std::string from_key = encode_u64(first);
  const std::string end_key = encode_u64(through + 1);
  auto s = b.DeleteRange(db_->cf(Cf::events), from_key, end_key);
  if (!s.ok()) return rocks::to_error(s, "adding to a write batch");
  const std::uint64_t left = bytes_ - std::min(bytes_, bytes);
  PODID_TRY(rocks::put(b, db_->cf(Cf::meta), rocks::kFirstSeqKey, encode_u64(through + 1)));
  PODID_TRY(rocks::put(b, db_->cf(Cf::meta), rocks::kBytesKey, encode_u64(left)));
  s = db_->db().Write(write_options(options_), &b);
  if (!s.ok())
    return rocks::to_error(s, "dropping events " + std::to_string(first) + ".." + std::to_string(through));
  first_.store(through + 1);
  bytes_ = left;
  // The dropped events stay on disk in the write-ahead log until every family's memtable is flushed (with
  // a 16 MiB budget, hours at a quiet cluster's pace), so retention would bound the events kept but not the
  // store's size. A flush in the background lets RocksDB delete the old log files now.
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  for (std::size_t i = 0; i < rocks::kCfCount; ++i) families.push_back(db_->cf(static_cast<rocks::Cf>(i)));
  rocksdb::FlushOptions flush;
  flush.wait = false;
  if (auto flushed = db_->db().Flush(flush, families); !flushed.ok())
    return rocks::to_error(flushed, "flushing after dropping events");
  return core::ok();
}

core::Result<RetentionReport> RocksEventStore::apply_retention(const RetentionPolicy& p, std::int64_t now_ms,
                                                               const std::string& export_dir) {
  std::scoped_lock lock(write_mu_);
  return run_retention(
      *this, p, now_ms, bytes_, export_dir,
      [this](Seq first, Seq through, std::uint64_t bytes) { return drop_prefix(first, through, bytes); });
}

core::Result<RocksMemory> RocksEventStore::memory() const {
  auto& db = db_->db();
  const auto sum = [&db](const std::string& property) -> core::Result<std::uint64_t> {
    std::uint64_t v = 0;
    if (!db.GetAggregatedIntProperty(property, &v))
      return core::make_error(core::ErrorCode::io, "RocksDB does not report " + property);
    return v;
  };
  // The block cache is shared by every column family (rocks_db.cpp): summing it would count it six times.
  const auto once = [&db, this](const std::string& property) -> core::Result<std::uint64_t> {
    std::uint64_t v = 0;
    if (!db.GetIntProperty(db_->cf(Cf::events), property, &v))
      return core::make_error(core::ErrorCode::io, "RocksDB does not report " + property);
    return v;
  };
  using P = rocksdb::DB::Properties;
  RocksMemory m;
  m.memtables = PODID_TRY(sum(P::kCurSizeAllMemTables));
  const auto all_memtables = PODID_TRY(sum(P::kSizeAllMemTables));
  m.flushed_memtables = all_memtables - std::min(all_memtables, m.memtables);
  m.table_readers = PODID_TRY(sum(P::kEstimateTableReadersMem));
  m.block_cache = PODID_TRY(once(P::kBlockCacheUsage));
  m.block_cache_pinned = PODID_TRY(once(P::kBlockCachePinnedUsage));
  m.immutable_memtables = PODID_TRY(sum(P::kNumImmutableMemTable));
  m.live_versions = PODID_TRY(sum(P::kNumLiveVersions));
  m.sst_bytes = PODID_TRY(sum(P::kLiveSstFilesSize));
  for (std::size_t i = 0; i < rocks::kCfCount; ++i) {
    rocksdb::ColumnFamilyMetaData meta;
    db.GetColumnFamilyMetaData(db_->cf(static_cast<Cf>(i)), &meta);
    m.sst_files += meta.file_count;
  }
  return m;
}

core::Status RocksEventStore::export_jsonl(Seq from, Seq to, std::ostream& out) const {
  return write_jsonl(*this, from, to, out);
}

}  // namespace podid::store
