// RocksEventStore::memory(): RocksDB's own memory and table files, as the controller exports them.

#include <algorithm>
#include <catch2/catch.hpp>

#include "unit/store/store_fixtures.hpp"

namespace podid::store::test {
namespace {

std::unique_ptr<RocksEventStore> open_rocks(const TempDir& d) {
  return RocksEventStore::open((d.path() / "db").string()).value();
}

}  // namespace

TEST_CASE("memory() shows appended events in the memtables and none in table files yet", "[unit]") {
  TempDir dir;
  auto store = open_rocks(dir);
  const auto before = store->memory().value();
  REQUIRE(store->append(numbered(1, 200)).has_value());
  const auto after = store->memory().value();
  CHECK(after.memtables > before.memtables);
  CHECK(after.sst_files == 0);
  CHECK(after.sst_bytes == 0);
  CHECK(after.immutable_memtables == 0);
  // One version of the table file set per column family while no reader holds an older one.
  CHECK(after.live_versions == 6);
  CHECK(after.flushed_memtables == 0);
}

TEST_CASE("Scanning the log leaves the block cache alone; point lookups fill it", "[unit]") {
  TempDir dir;
  // 500 events of 1 KiB: about 500 KiB of blocks, were a scan to cache them, against a few hundred bytes
  // of index per table file (cached, and loaded as files are opened in the background).
  auto batch = numbered(1, 500);
  for (auto& e : batch) e.payload = "{\"pad\":\"" + std::string(1024, 'x') + "\"}";
  {
    auto store = open_rocks(dir);
    REQUIRE(store->append(batch).has_value());
    REQUIRE(store->put_checkpoint({500, std::string(100 * 1024, 'c')}).has_value());
  }
  // Recovery writes the write-ahead log's memtables to table files.
  auto store = open_rocks(dir);
  const auto opened = store->memory().value();
  CHECK(opened.sst_files > 0);
  CHECK(opened.sst_bytes > 0);
  // Replay, retention's export and the checkpoints read each block once: caching them only grew the cache
  // (the soak's controller memory, store/rocks_db.hpp scan_options()).
  REQUIRE(store->read(0, 1000).value().size() == 500);
  REQUIRE(store->latest_checkpoint().value().has_value());
  REQUIRE(store->put_checkpoint({500, "again"}).has_value());
  const auto scanned = store->memory().value();
  CHECK(scanned.block_cache - std::min(scanned.block_cache, opened.block_cache) < 64 * 1024);
  // A subject's events are looked up one by one: those blocks are cached.
  REQUIRE(store->read_subject("s/1", 0, 1000).value().size() == 167);
  const auto looked_up = store->memory().value();
  CHECK(looked_up.block_cache > scanned.block_cache + 64 * 1024);
  // Counted once although six column families share the cache: six times would be above 1 MiB.
  CHECK(looked_up.block_cache < std::uint64_t{1} << 20U);
  CHECK(looked_up.block_cache_pinned <= looked_up.block_cache);
}

}  // namespace podid::store::test
