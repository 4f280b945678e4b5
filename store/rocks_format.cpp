#include "store/rocks_format.hpp"

#include <array>
#include <memory>

#include "store/record_codec.hpp"

namespace podid::store::rocks {
namespace {

core::Status put_counters(const Db& db, rocksdb::WriteBatch& b, const Counters& c) {
  auto* meta = db.cf(Cf::meta);
  PODID_TRY(put(b, meta, kFirstSeqKey, encode_u64(c.first)));
  PODID_TRY(put(b, meta, kLastSeqKey, encode_u64(c.last)));
  return put(b, meta, kBytesKey, encode_u64(c.bytes));
}

// Scans the events column family: its first and last seq and the stored size of all events.
core::Result<Counters> scan_events(const Db& db) {
  Counters c;
  std::unique_ptr<rocksdb::Iterator> it(db.db().NewIterator(scan_options(), db.cf(Cf::events)));
  bool any = false;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto seq = PODID_TRY(decode_u64(it->key().ToStringView(), "key in column family events"));
    if (!any) c.first = seq;
    any = true;
    c.last = seq;
    c.bytes += it->key().size() + it->value().size();
  }
  if (!it->status().ok()) return to_error(it->status(), "scanning events of " + db.path());
  if (!any) c = Counters{};
  return c;
}

// Version 1 -> 2: derive the counters from the events and store them in meta.
core::Status upgrade_1_to_2(const Db& db, rocksdb::WriteBatch& b) {
  auto counters = PODID_TRY(scan_events(db));
  return put_counters(db, b, counters);
}

// Version 2 -> 3: nothing to rewrite. From version 3 a checkpoint's value may be a zstd frame
// (checkpoint_codec.hpp); plain-text checkpoints of older stores are still read. The number is what changes:
// a binary that knows only version 2 refuses this store ("upgrade podid") instead of taking a compressed
// checkpoint for damage.
core::Status upgrade_2_to_3(const Db& /*db*/, rocksdb::WriteBatch& /*b*/) {
  return core::ok();
}

struct UpgradeStep {
  std::uint64_t from;
  core::Status (*apply)(const Db& db, rocksdb::WriteBatch& b);
};

// Every step, in order; step i upgrades version i+1 to i+2. Steps read the pre-upgrade data.
constexpr std::array<UpgradeStep, kFormatVersion - 1> kUpgradeSteps{
    {{1, &upgrade_1_to_2}, {2, &upgrade_2_to_3}}};

core::Result<bool> store_is_empty(const Db& db) {
  for (auto c : {Cf::events, Cf::subjects, Cf::cursors, Cf::checkpoints, Cf::meta}) {
    if (!PODID_TRY(db.empty(c))) return false;
  }
  return true;
}

core::Result<std::uint64_t> read_counter(const Db& db, std::string_view key) {
  auto value = PODID_TRY(db.get_meta(key));
  if (!value) {
    return core::make_error(core::ErrorCode::corrupt,
                            "event store " + db.path() + ": meta key " + std::string(key) + " is missing");
  }
  return decode_u64(*value, "meta key " + std::string(key));
}

core::Result<Counters> read_counters(const Db& db) {
  Counters c;
  c.first = PODID_TRY(read_counter(db, kFirstSeqKey));
  c.last = PODID_TRY(read_counter(db, kLastSeqKey));
  c.bytes = PODID_TRY(read_counter(db, kBytesKey));
  return c;
}

// The events column family must hold exactly first..last (checked at both ends).
core::Status check_counters(const Db& db, const Counters& c) {
  auto corrupt = [&](const std::string& why) {
    return core::make_error(core::ErrorCode::corrupt, "event store " + db.path() + ": " + why);
  };
  if (c.first == 0 || c.first > c.last + 1) {
    return corrupt("first_seq " + std::to_string(c.first) + " and last_seq " + std::to_string(c.last) +
                   " are inconsistent");
  }
  std::unique_ptr<rocksdb::Iterator> it(db.db().NewIterator(scan_options(), db.cf(Cf::events)));
  it->SeekToFirst();
  if (!it->status().ok()) return to_error(it->status(), "scanning events of " + db.path());
  if (!it->Valid()) {
    if (c.first <= c.last) return corrupt("no events but last_seq is " + std::to_string(c.last));
    return core::ok();
  }
  auto lowest = PODID_TRY(decode_u64(it->key().ToStringView(), "key in column family events"));
  it->SeekToLast();
  if (!it->status().ok() || !it->Valid()) return to_error(it->status(), "scanning events of " + db.path());
  auto highest = PODID_TRY(decode_u64(it->key().ToStringView(), "key in column family events"));
  if (lowest != c.first || highest != c.last) {
    return corrupt("events span " + std::to_string(lowest) + ".." + std::to_string(highest) +
                   " but meta says " + std::to_string(c.first) + ".." + std::to_string(c.last));
  }
  return core::ok();
}

core::Status write(Db& db, const rocksdb::WriteOptions& wo, rocksdb::WriteBatch& b, std::string_view what) {
  auto s = db.db().Write(wo, &b);
  if (!s.ok()) return to_error(s, std::string(what) + " " + db.path());
  return core::ok();
}

}  // namespace

core::Result<Counters> prepare_format(Db& db, const rocksdb::WriteOptions& wo) {
  auto stored = PODID_TRY(db.get_meta(kFormatVersionKey));
  if (!stored && db.read_only()) {
    return core::make_error(core::ErrorCode::not_found, "event store " + db.path() + " holds no events yet");
  }
  if (!stored) {
    if (!PODID_TRY(store_is_empty(db))) {
      return core::make_error(core::ErrorCode::corrupt,
                              "event store " + db.path() + " holds data but no format version");
    }
    rocksdb::WriteBatch b;
    PODID_TRY(put(b, db.cf(Cf::meta), kFormatVersionKey, encode_u64(kFormatVersion)));
    PODID_TRY(put_counters(db, b, Counters{}));
    PODID_TRY(write(db, wo, b, "initialising event store"));
    return Counters{};
  }
  const auto version = PODID_TRY(decode_u64(*stored, "meta key format_version"));
  if (version == 0) {
    return core::make_error(core::ErrorCode::corrupt, "event store " + db.path() + " has format version 0");
  }
  if (version > kFormatVersion) {
    return core::make_error(core::ErrorCode::invalid,
                            "event store " + db.path() + " has format version " + std::to_string(version) +
                                ", newer than the " + std::to_string(kFormatVersion) +
                                " this build knows; refusing to open it (upgrade podid)");
  }
  if (version < kFormatVersion && db.read_only()) {
    return core::make_error(core::ErrorCode::invalid,
                            "event store " + db.path() + " has the older format version " +
                                std::to_string(version) + "; open it once read-write to upgrade it");
  }
  if (version < kFormatVersion) {
    rocksdb::WriteBatch b;
    for (const auto& step : kUpgradeSteps) {
      if (step.from >= version) PODID_TRY(step.apply(db, b));
    }
    PODID_TRY(put(b, db.cf(Cf::meta), kFormatVersionKey, encode_u64(kFormatVersion)));
    PODID_TRY(write(db, wo, b, "upgrading the format of event store"));
  }
  auto counters = PODID_TRY(read_counters(db));
  PODID_TRY(check_counters(db, counters));
  return counters;
}

}  // namespace podid::store::rocks
