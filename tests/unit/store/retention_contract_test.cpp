// Retention, for both stores: what is dropped, that the export file holds exactly the dropped events
// before they go, and that the latest checkpoint bounds it.

#include <catch2/catch.hpp>
#include <sstream>

#include "store/jsonl.hpp"
#include "store/record_codec.hpp"
#include "unit/store/store_fixtures.hpp"

namespace podid::store::test {
namespace {

std::vector<EventRecord> exported(const RetentionReport& r) {
  std::vector<EventRecord> out;
  for (const auto& line : read_lines(r.export_path)) out.push_back(from_jsonl(line).value());
  return out;
}

// Ten events at times 100, 200, ..., 1000 with a checkpoint after the last.
template <class F>
std::vector<EventRecord> ten_events(F& f) {
  for (int i = 1; i <= 10; ++i) REQUIRE(f.store->append(numbered(i, 1, 3, i * 100)).has_value());
  REQUIRE(f.store->put_checkpoint({10, "all"}).has_value());
  return f.store->read(0, 100).value();
}

std::string export_dir(const TempDir& d) {
  return (d.path() / "exports").string();
}

}  // namespace

TEMPLATE_TEST_CASE("Retention by count keeps the newest events and exports exactly the dropped ones",
                   "[unit][store][retention]", MemoryFixture, RocksFixture) {
  TestType f;
  const auto before = ten_events(f);
  RetentionPolicy p;
  p.max_events = 4;
  auto r = f.store->apply_retention(p, 5000, export_dir(f.dir)).value();
  CHECK(r.dropped == 6);
  CHECK(r.dropped_through == 6);
  CHECK(f.store->first_seq() == 7);
  CHECK(f.store->last_seq() == 10);
  CHECK(exported(r) == std::vector<EventRecord>(before.begin(), before.begin() + 6));
  CHECK(f.store->read(0, 100).value() == std::vector<EventRecord>(before.begin() + 6, before.end()));

  SECTION("a second run with the same policy drops nothing more") {
    auto again = f.store->apply_retention(p, 5000, export_dir(f.dir)).value();
    CHECK(again.dropped == 0);
    CHECK(again.dropped_through == 6);
    CHECK(again.export_path.empty());
    CHECK(f.store->first_seq() == 7);
  }
}

TEMPLATE_TEST_CASE("Retention by age drops the events older than the limit", "[unit][store][retention]",
                   MemoryFixture, RocksFixture) {
  TestType f;
  const auto before = ten_events(f);
  RetentionPolicy p;
  p.max_age_ms = 650;  // now 1000: events before 350 are too old
  auto r = f.store->apply_retention(p, 1000, export_dir(f.dir)).value();
  CHECK(r.dropped == 3);
  CHECK(f.store->first_seq() == 4);
  CHECK(exported(r) == std::vector<EventRecord>(before.begin(), before.begin() + 3));
}

TEMPLATE_TEST_CASE("Retention by size drops the oldest events until the rest fits",
                   "[unit][store][retention]", MemoryFixture, RocksFixture) {
  TestType f;
  const auto before = ten_events(f);
  std::uint64_t newest_five = 0;
  for (std::size_t i = 5; i < 10; ++i) newest_five += stored_size(before[i]);
  RetentionPolicy p;
  p.max_bytes = newest_five;
  auto r = f.store->apply_retention(p, 1000, export_dir(f.dir)).value();
  CHECK(r.dropped == 5);
  CHECK(f.store->first_seq() == 6);
  CHECK(exported(r) == std::vector<EventRecord>(before.begin(), before.begin() + 5));

  SECTION("the retained size is remembered across a reopen") {
    f.reopen();
    p.max_bytes = newest_five - 1;
    auto more = f.store->apply_retention(p, 1000, export_dir(f.dir)).value();
    CHECK(more.dropped == 1);
    CHECK(f.store->first_seq() == 7);
  }
}

TEMPLATE_TEST_CASE("Retention applies the strictest of several limits", "[unit][store][retention]",
                   MemoryFixture, RocksFixture) {
  TestType f;
  ten_events(f);
  RetentionPolicy p;
  p.max_age_ms = 800;  // drops 1 (at 100 < 200)
  p.max_events = 7;    // drops 1..3
  auto r = f.store->apply_retention(p, 1000, export_dir(f.dir)).value();
  CHECK(r.dropped == 3);
  CHECK(f.store->first_seq() == 4);
}

TEMPLATE_TEST_CASE("Retention never drops events after the latest checkpoint", "[unit][store][retention]",
                   MemoryFixture, RocksFixture) {
  TestType f;
  REQUIRE(f.store->append(numbered(1, 10, 3, 100)).has_value());
  RetentionPolicy p;
  p.max_events = 0;

  SECTION("without a checkpoint nothing is dropped") {
    auto r = f.store->apply_retention(p, 1000, export_dir(f.dir)).value();
    CHECK(r.dropped == 0);
    CHECK(r.export_path.empty());
    CHECK(f.store->first_seq() == 1);
  }
  SECTION("with a checkpoint at 4, events 5..10 stay") {
    REQUIRE(f.store->put_checkpoint({4, "s"}).has_value());
    auto r = f.store->apply_retention(p, 1000, export_dir(f.dir)).value();
    CHECK(r.dropped == 4);
    CHECK(f.store->first_seq() == 5);
    CHECK(f.store->read(0, 100).value().size() == 6);
  }
}

TEMPLATE_TEST_CASE("After retention, dropped events are gone for every reader", "[unit][store][retention]",
                   MemoryFixture, RocksFixture) {
  TestType f;
  ten_events(f);
  RetentionPolicy p;
  p.max_events = 5;
  REQUIRE(f.store->apply_retention(p, 1000, export_dir(f.dir)).has_value());

  auto check = [&f] {
    CHECK(f.store->first_seq() == 6);
    auto early = f.store->read(3, 10);
    REQUIRE_FALSE(early.has_value());
    CHECK(early.error().code == core::ErrorCode::gone);
    auto early_subject = f.store->read_subject("s/1", 1, 10);
    REQUIRE_FALSE(early_subject.has_value());
    CHECK(early_subject.error().code == core::ErrorCode::gone);
    CHECK(f.store->read(0, 1).value().front().seq == 6);
    std::vector<Seq> seqs;
    for (const auto& e : f.store->read_subject("s/1", 0, 10).value()) seqs.push_back(e.seq);
    CHECK(seqs == std::vector<Seq>{7, 10});
    std::ostringstream out;
    CHECK(f.store->export_jsonl(2, 10, out).error().code == core::ErrorCode::gone);
  };
  check();
  f.reopen();
  check();
}

TEMPLATE_TEST_CASE("Retention that drops the whole log keeps its numbering", "[unit][store][retention]",
                   MemoryFixture, RocksFixture) {
  TestType f;
  ten_events(f);
  RetentionPolicy p;
  p.max_events = 0;
  auto r = f.store->apply_retention(p, 1000, export_dir(f.dir)).value();
  CHECK(r.dropped == 10);
  CHECK(f.store->first_seq() == 11);
  CHECK(f.store->last_seq() == 10);
  CHECK(f.store->read(0, 10).value().empty());
  f.reopen();
  CHECK(f.store->first_seq() == 11);
  CHECK(f.store->append(numbered(11, 1)).value() == 11);
  CHECK(f.store->read(0, 10).value().front().seq == 11);
}

TEMPLATE_TEST_CASE("Retention without limits keeps everything", "[unit][store][retention]", MemoryFixture,
                   RocksFixture) {
  TestType f;
  const auto before = ten_events(f);
  auto r = f.store->apply_retention(RetentionPolicy{}, 1'000'000, export_dir(f.dir)).value();
  CHECK(r.dropped == 0);
  CHECK(r.export_path.empty());
  CHECK(f.store->read(0, 100).value() == before);
}

TEMPLATE_TEST_CASE("Retention refuses a negative age", "[unit][store][retention]", MemoryFixture,
                   RocksFixture) {
  TestType f;
  ten_events(f);
  RetentionPolicy p;
  p.max_age_ms = -1;
  auto r = f.store->apply_retention(p, 1000, export_dir(f.dir));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == core::ErrorCode::invalid);
  CHECK(f.store->first_seq() == 1);
}

}  // namespace podid::store::test
