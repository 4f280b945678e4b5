// RocksEventStore's on-disk format: version refusal, the 1 -> 2 upgrade, and damaged data classified as
// corrupt with the key named. These tests edit the database underneath the store with raw RocksDB.

#include "store/rocks_format.hpp"

#include <rocksdb/db.h>

#include <catch2/catch.hpp>

#include "store/record_codec.hpp"
#include "store/rocks_db.hpp"
#include "unit/store/store_fixtures.hpp"

namespace podid::store::test {
namespace {

using rocks::Cf;

// The database without the store on top: for planting old formats and damage.
class RawDb {
 public:
  explicit RawDb(const std::string& path) : db_(rocks::Db::open(path).value()) {}
  void put(Cf cf, std::string_view key, std::string_view value) {
    REQUIRE(db_->db().Put(rocksdb::WriteOptions(), db_->cf(cf), slice(key), slice(value)).ok());
  }
  void del(Cf cf, std::string_view key) {
    REQUIRE(db_->db().Delete(rocksdb::WriteOptions(), db_->cf(cf), slice(key)).ok());
  }
  std::optional<std::string> get(Cf cf, std::string_view key) {
    std::string v;
    auto s = db_->db().Get(rocksdb::ReadOptions(), db_->cf(cf), slice(key), &v);
    if (s.IsNotFound()) return std::nullopt;
    REQUIRE(s.ok());
    return v;
  }

 private:
  static rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }
  std::unique_ptr<rocks::Db> db_;
};

core::Error open_error(const std::string& path) {
  auto r = RocksEventStore::open(path);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

}  // namespace

TEST_CASE("A store written by a newer format version is refused", "[unit][store][format]") {
  TempDir dir;
  const auto path = (dir.path() / "db").string();
  REQUIRE(RocksEventStore::open(path).value()->append(numbered(1, 2)).has_value());
  RawDb(path).put(Cf::meta, rocks::kFormatVersionKey, encode_u64(rocks::kFormatVersion + 1));

  auto e = open_error(path);
  CHECK(e.code == core::ErrorCode::invalid);
  CHECK_THAT(e.message, Catch::Contains("format version " + std::to_string(rocks::kFormatVersion + 1)) &&
                            Catch::Contains("newer"));
}

TEST_CASE("A version 1 store is upgraded to the current format in one step", "[unit][store][format]") {
  TempDir dir;
  const auto path = (dir.path() / "db").string();
  {
    auto s = RocksEventStore::open(path).value();
    REQUIRE(s->append(numbered(1, 6)).has_value());
    REQUIRE(s->put_checkpoint({2, "cp"}).has_value());
    RetentionPolicy p;
    p.max_events = 4;
    REQUIRE(s->apply_retention(p, 0, (dir.path() / "exports").string()).value().dropped == 2);
  }
  {  // rewrite it as version 1 wrote it: no counters in meta
    RawDb raw(path);
    raw.put(Cf::meta, rocks::kFormatVersionKey, encode_u64(1));
    for (auto key : {rocks::kFirstSeqKey, rocks::kLastSeqKey, rocks::kBytesKey}) raw.del(Cf::meta, key);
  }
  std::uint64_t expected_bytes = 0;
  {
    auto s = RocksEventStore::open(path).value();
    CHECK(s->first_seq() == 3);
    CHECK(s->last_seq() == 6);
    for (const auto& e : s->read(0, 10).value()) expected_bytes += stored_size(e);
    CHECK(s->append(numbered(7, 1)).value() == 7);
  }
  RawDb raw(path);
  CHECK(raw.get(Cf::meta, rocks::kFormatVersionKey) == encode_u64(rocks::kFormatVersion));
  CHECK(raw.get(Cf::meta, rocks::kFirstSeqKey) == encode_u64(3));
  CHECK(raw.get(Cf::meta, rocks::kLastSeqKey) == encode_u64(7));
  CHECK(raw.get(Cf::meta, rocks::kBytesKey) == encode_u64(expected_bytes + stored_size(numbered(7, 1)[0])));
}

TEST_CASE("A store with data but no format version is refused as corrupt", "[unit][store][format]") {
  TempDir dir;
  const auto path = (dir.path() / "db").string();
  RawDb(path).put(Cf::events, encode_u64(1), encode_event(numbered(1, 1)[0]));
  auto e = open_error(path);
  CHECK(e.code == core::ErrorCode::corrupt);
  CHECK_THAT(e.message, Catch::Contains("no format version"));
}

TEST_CASE("Counters that disagree with the stored events are corrupt", "[unit][store][format]") {
  TempDir dir;
  const auto path = (dir.path() / "db").string();
  REQUIRE(RocksEventStore::open(path).value()->append(numbered(1, 3)).has_value());
  auto [key, value, fragment] = GENERATE(table<std::string_view, std::string, std::string>({
      {rocks::kLastSeqKey, encode_u64(9), "meta says 1..9"},
      {rocks::kFirstSeqKey, encode_u64(2), "meta says 2..3"},
      {rocks::kBytesKey, std::string("xyz"), "meta key bytes"},
  }));
  RawDb(path).put(Cf::meta, key, value);
  auto e = open_error(path);
  CHECK(e.code == core::ErrorCode::corrupt);
  CHECK_THAT(e.message, Catch::Contains(fragment));
}

TEST_CASE("An undecodable record is reported as corrupt with its seq", "[unit][store][format]") {
  TempDir dir;
  const auto path = (dir.path() / "db").string();
  REQUIRE(RocksEventStore::open(path).value()->append(numbered(1, 3)).has_value());
  RawDb(path).put(Cf::events, encode_u64(2), std::string("\x01\x00", 2));
  auto s = RocksEventStore::open(path).value();
  auto r = s->read(1, 10);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == core::ErrorCode::corrupt);
  CHECK_THAT(r.error().message, Catch::Contains("event 2"));
  CHECK(s->read(3, 10).value().size() == 1);
}

TEST_CASE("A store cannot be opened twice at once", "[unit][store][format]") {
  TempDir dir;
  const auto path = (dir.path() / "db").string();
  auto first = RocksEventStore::open(path).value();
  auto e = open_error(path);
  CHECK(e.code == core::ErrorCode::io);
  first.reset();
  CHECK(RocksEventStore::open(path).has_value());
}

TEST_CASE("A read-only open works beside the writer, sees its events and refuses writes",
          "[unit][store][format]") {
  TempDir dir;
  const auto path = (dir.path() / "db").string();
  auto writer = RocksEventStore::open(path).value();  // holds the lock, as a running controller does
  REQUIRE(writer->append(numbered(1, 5)).has_value());
  REQUIRE_FALSE(RocksEventStore::open(path).has_value());  // a second writer is refused

  auto reader = RocksEventStore::open(path, RocksOptions{.read_only = true});
  REQUIRE(reader.has_value());
  CHECK((*reader)->last_seq() == 5);
  const auto events = (*reader)->read(1, 10).value();
  REQUIRE(events.size() == 5);
  CHECK(events.front().seq == 1);
  CHECK_FALSE((*reader)->append(numbered(6, 1)).has_value());
  CHECK_FALSE((*reader)->put_checkpoint(Checkpoint{5, "{}"}).has_value());
  REQUIRE(writer->append(numbered(6, 1)).has_value());  // the writer is unaffected
  CHECK(writer->last_seq() == 6);
}

TEST_CASE("A read-only open never creates a store", "[unit][store][format]") {
  TempDir dir;
  const auto path = (dir.path() / "missing").string();
  auto r = RocksEventStore::open(path, RocksOptions{.read_only = true});
  REQUIRE_FALSE(r.has_value());
  CHECK_THAT(r.error().message, Catch::Contains("read-only") && Catch::Contains(path));
  CHECK_FALSE(std::filesystem::exists(path));
}

}  // namespace podid::store::test
