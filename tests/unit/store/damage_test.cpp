// A store damaged between two runs (issue 8, "a corrupted or truncated event log"): each kind of damage is
// found when the controller opens the store (RocksOptions::verify, then EventLog::verify) and reported as
// corrupt, never opened as a silently shorter or different log. The controller's reaction (move the store
// aside, rebuild) is cli/store_recovery; its test against the real API server is in tests/integration/faults.

#include <rocksdb/db.h>

#include <catch2/catch.hpp>

#include "store/event_log.hpp"
#include "store/record_codec.hpp"
#include "store/rocks_db.hpp"
#include "store/rocks_format.hpp"
#include "unit/store/store_damage.hpp"
#include "unit/store/store_fixtures.hpp"

namespace podid::store::test {
namespace {

namespace fs = std::filesystem;
using rocks::Cf;

constexpr int kEvents = 200;

std::vector<core::Event> node_events(int from, int count) {
  std::vector<core::Event> out;
  for (int i = from; i < from + count; ++i) {
    core::NodeDeleted e;
    e.at_ms = 1000 + i;
    e.name = "node-" + std::to_string(i) + std::string(200, 'x');  // some bulk, so that files have a middle
    out.emplace_back(std::move(e));
  }
  return out;
}

// A store of kEvents events in 10 appends. `flushed`: reopened once more, so that RocksDB's recovery wrote
// the WAL into a table file (.sst), as after any restart of the controller.
fs::path make_store(const TempDir& dir, bool flushed) {
  const auto path = dir.path() / "db";
  {
    auto s = RocksEventStore::open(path.string()).value();
    EventLog log(*s);
    for (int i = 0; i < 10; ++i) REQUIRE(log.append(node_events(1 + i * (kEvents / 10), kEvents / 10)));
  }
  if (flushed) REQUIRE(RocksEventStore::open(path.string()).has_value());
  return path;
}

// Opens as the controller does: verified at open, then the whole log decoded.
core::Status open_verified(const fs::path& path) {
  auto s = RocksEventStore::open(path.string(), {.verify = true});
  if (!s) return s.error();
  REQUIRE((*s)->last_seq() == kEvents);  // opened: then nothing may be missing
  return EventLog(**s).verify();
}

void check_corrupt(const core::Status& st, const std::string& mentions) {
  REQUIRE_FALSE(st.has_value());
  INFO(st.error().describe());
  CHECK(st.error().code == core::ErrorCode::corrupt);
  CHECK_THAT(st.error().message, Catch::Contains(mentions));
}

class RawDb {
 public:
  explicit RawDb(const fs::path& path) : db_(rocks::Db::open(path.string()).value()) {}
  void put(Cf cf, std::string_view key, std::string_view value) {
    REQUIRE(
        db_->db()
            .Put(rocksdb::WriteOptions(), db_->cf(cf), {key.data(), key.size()}, {value.data(), value.size()})
            .ok());
  }
  void del(Cf cf, std::string_view key) {
    REQUIRE(db_->db().Delete(rocksdb::WriteOptions(), db_->cf(cf), {key.data(), key.size()}).ok());
  }

 private:
  std::unique_ptr<rocks::Db> db_;
};

}  // namespace

TEST_CASE("An intact store opens verified, before and after its WAL became a table file", "[unit][store]") {
  const bool flushed = GENERATE(false, true);
  TempDir dir;
  const auto path = make_store(dir, flushed);
  CHECK(newest_file(path, ".sst").has_value() == flushed);
  CHECK(open_verified(path).has_value());
}

TEST_CASE("A truncated or altered write-ahead log is corrupt, not a shorter log", "[unit][store]") {
  TempDir dir;
  const auto path = make_store(dir, false);
  const auto wal = newest_file(path, ".log");
  REQUIRE(wal);
  SECTION("truncated") {
    truncate_half(*wal);
  }
  SECTION("bytes flipped") {
    flip_bytes(*wal);
  }
  check_corrupt(open_verified(path), "");
}

TEST_CASE("A truncated or altered table file is corrupt", "[unit][store]") {
  TempDir dir;
  const auto path = make_store(dir, true);
  const auto sst = newest_file(path, ".sst");
  REQUIRE(sst);
  SECTION("truncated") {
    truncate_half(*sst);
  }
  SECTION("bytes flipped") {
    flip_bytes(*sst);
  }
  check_corrupt(open_verified(path), "");
}

TEST_CASE("A missing CURRENT or MANIFEST, or an altered MANIFEST, is corrupt", "[unit][store]") {
  TempDir dir;
  const auto path = make_store(dir, true);
  const auto manifest = newest_file(path, "MANIFEST-");
  REQUIRE(manifest);
  std::string mentions;
  SECTION("CURRENT deleted") {
    fs::remove(path / "CURRENT");
    mentions = "no CURRENT file";
  }
  SECTION("MANIFEST deleted") {
    fs::remove(*manifest);
    mentions = "which is missing";
  }
  SECTION("MANIFEST bytes flipped") {
    flip_bytes(*manifest, 4);
  }
  check_corrupt(open_verified(path), mentions);
  // Even unverified, a store without CURRENT is never mistaken for a new, empty one.
  if (!fs::exists(path / "CURRENT")) CHECK_FALSE(RocksEventStore::open(path.string()).has_value());
}

TEST_CASE("A gap in the seqs or a record that does not decode is corrupt, naming the event",
          "[unit][store]") {
  TempDir dir;
  const auto path = make_store(dir, true);
  std::string mentions;
  SECTION("an event deleted from the middle") {
    RawDb(path).del(Cf::events, encode_u64(57));
    mentions = "event 57 is missing";
  }
  SECTION("a record overwritten with garbage") {
    RawDb(path).put(Cf::events, encode_u64(57), "\x07garbage");
    mentions = "event 57";
  }
  SECTION("a record whose payload is not an event") {
    const NewEvent bad{1057, "NodeDeleted", {"node/x"}, "{\"not\":\"an event\"}"};
    RawDb(path).put(Cf::events, encode_u64(57), encode_event(bad));
    mentions = "event 57";
  }
  SECTION("a checkpoint that does not decode") {
    RawDb(path).put(Cf::checkpoints, encode_u64(100), "{\"lastSeq\":");
    mentions = "checkpoint 100";
  }
  check_corrupt(open_verified(path), mentions);
}

TEST_CASE("Verifying refuses nothing that is merely busy or newer", "[unit][store]") {
  TempDir dir;
  const auto path = make_store(dir, true);
  SECTION("held open by another process: io, not corrupt") {
    auto holder = RocksEventStore::open(path.string()).value();
    auto second = RocksEventStore::open(path.string(), {.verify = true});
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error().code != core::ErrorCode::corrupt);
  }
  SECTION("a newer format version: invalid, not corrupt") {
    RawDb(path).put(Cf::meta, rocks::kFormatVersionKey, encode_u64(rocks::kFormatVersion + 1));
    auto opened = RocksEventStore::open(path.string(), {.verify = true});
    REQUIRE_FALSE(opened.has_value());
    CHECK(opened.error().code == core::ErrorCode::invalid);
  }
}

}  // namespace podid::store::test
