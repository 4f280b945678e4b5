// The EventStore contract: every test runs against MemoryEventStore and RocksEventStore alike.

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <sstream>
#include <thread>

#include "store/jsonl.hpp"
#include "unit/store/store_fixtures.hpp"

namespace podid::store::test {
namespace {

std::vector<EventRecord> read_all(const EventStore& s) {
  return s.read(0, 1'000'000).value();
}

}  // namespace

TEMPLATE_TEST_CASE("A new event store is empty", "[unit][store]", MemoryFixture, RocksFixture) {
  TestType f;
  CHECK(f.store->last_seq() == 0);
  CHECK(f.store->first_seq() == 1);
  CHECK(read_all(*f.store).empty());
  CHECK_FALSE(f.store->cursor("watch/pods").value().has_value());
  CHECK_FALSE(f.store->latest_checkpoint().value().has_value());
}

TEMPLATE_TEST_CASE("Appends hand out gap-free increasing sequence numbers", "[unit][store]", MemoryFixture,
                   RocksFixture) {
  TestType f;
  CHECK(f.store->append(numbered(1, 3)).value() == 1);
  CHECK(f.store->append(numbered(4, 1)).value() == 4);
  CHECK(f.store->append(numbered(5, 5)).value() == 5);
  CHECK(f.store->last_seq() == 9);

  auto all = read_all(*f.store);
  REQUIRE(all.size() == 9);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const int n = static_cast<int>(i) + 1;
    CHECK(all[i].seq == i + 1);
    CHECK(all[i].kind == "E" + std::to_string(n));
    CHECK(all[i].subjects == std::vector<std::string>{"s/" + std::to_string(n % 3)});
    CHECK(all[i].payload == "{\"i\":" + std::to_string(n) + "}");
    CHECK(all[i].at_ms == 1000);
  }
}

TEMPLATE_TEST_CASE("Events keep every field, including negative times and binary payloads", "[unit][store]",
                   MemoryFixture, RocksFixture) {
  TestType f;
  const std::string payload("{\"b\":\"\x01\x02\"}\0tail", 15);
  std::vector<NewEvent> batch{
      event("PodObserved", {"pod/default/web-0", "identity/default/id", "node/n1"}, payload, -42),
      event("NodeSeen", {}, "", 7)};
  REQUIRE(f.store->append(batch).value() == 1);
  auto all = read_all(*f.store);
  REQUIRE(all.size() == 2);
  CHECK(all[0] == EventRecord{1, -42, batch[0].kind, batch[0].subjects, payload});
  CHECK(all[1] == EventRecord{2, 7, "NodeSeen", {}, ""});
}

TEMPLATE_TEST_CASE("A batch and its cursors land together", "[unit][store]", MemoryFixture, RocksFixture) {
  TestType f;
  std::vector<Cursor> cursors{{"watch/pods", "100"}, {"watch/nodes", "7"}};
  REQUIRE(f.store->append(numbered(1, 2), cursors).value() == 1);
  CHECK(f.store->cursor("watch/pods").value() == std::optional<std::string>("100"));
  CHECK(f.store->cursor("watch/nodes").value() == std::optional<std::string>("7"));

  SECTION("a later batch moves a cursor") {
    std::vector<Cursor> next{{"watch/pods", "250"}};
    REQUIRE(f.store->append(numbered(3, 1), next).value() == 3);
    CHECK(f.store->cursor("watch/pods").value() == std::optional<std::string>("250"));
    CHECK(f.store->cursor("watch/nodes").value() == std::optional<std::string>("7"));
  }
  SECTION("an empty batch moves cursors without appending and returns the next seq") {
    std::vector<Cursor> bookmark{{"watch/pods", "300"}};
    CHECK(f.store->append({}, bookmark).value() == 3);
    CHECK(f.store->last_seq() == 2);
    CHECK(f.store->cursor("watch/pods").value() == std::optional<std::string>("300"));
  }
}

TEMPLATE_TEST_CASE("An invalid batch is rejected whole", "[unit][store]", MemoryFixture, RocksFixture) {
  TestType f;
  REQUIRE(f.store->append(numbered(1, 1)).has_value());
  std::vector<Cursor> cursors{{"watch/pods", "9"}};
  auto bad =
      GENERATE(event("", {"s/1"}, "{}"), event("K", {""}, "{}"), event("K", {std::string("a\0b", 3)}, "{}"));
  std::vector<NewEvent> batch = numbered(2, 2);
  batch.push_back(bad);
  auto r = f.store->append(batch, cursors);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == core::ErrorCode::invalid);
  CHECK(f.store->last_seq() == 1);
  CHECK(read_all(*f.store).size() == 1);
  CHECK_FALSE(f.store->cursor("watch/pods").value().has_value());

  std::vector<Cursor> unnamed{{"", "1"}};
  auto r2 = f.store->append(numbered(2, 1), unnamed);
  REQUIRE_FALSE(r2.has_value());
  CHECK(r2.error().code == core::ErrorCode::invalid);
  CHECK(f.store->last_seq() == 1);
}

TEMPLATE_TEST_CASE("Reads by range honour from and limit", "[unit][store]", MemoryFixture, RocksFixture) {
  TestType f;
  REQUIRE(f.store->append(numbered(1, 10)).has_value());
  auto mid = f.store->read(3, 2).value();
  REQUIRE(mid.size() == 2);
  CHECK(mid[0].seq == 3);
  CHECK(mid[1].seq == 4);
  CHECK(f.store->read(1, 100).value().size() == 10);
  CHECK(f.store->read(10, 100).value().size() == 1);
  CHECK(f.store->read(11, 100).value().empty());
  CHECK(f.store->read(5, 0).value().empty());
}

TEMPLATE_TEST_CASE("Reads by subject return that subject's events in order", "[unit][store]", MemoryFixture,
                   RocksFixture) {
  TestType f;
  std::vector<NewEvent> batch{
      event("A", {"pod/p1", "vm/v1"}, "{}"), event("B", {"pod/p1"}, "{}"),
      event("C", {"pod/p10"}, "{}"),         // shares a prefix with pod/p1 and must not show up under it
      event("D", {"vm/v1", "vm/v1"}, "{}"),  // a duplicated subject lists the event once
      event("E", {"pod/p1"}, "{}")};
  REQUIRE(f.store->append(batch).has_value());

  auto kinds = [&](std::string_view subject, Seq from, std::size_t limit) {
    std::vector<std::string> out;
    for (const auto& e : f.store->read_subject(subject, from, limit).value()) out.push_back(e.kind);
    return out;
  };
  CHECK(kinds("pod/p1", 0, 100) == std::vector<std::string>{"A", "B", "E"});
  CHECK(kinds("pod/p1", 2, 100) == std::vector<std::string>{"B", "E"});
  CHECK(kinds("pod/p1", 1, 2) == std::vector<std::string>{"A", "B"});
  CHECK(kinds("pod/p10", 0, 100) == std::vector<std::string>{"C"});
  CHECK(kinds("vm/v1", 0, 100) == std::vector<std::string>{"A", "D"});
  CHECK(kinds("pod/unknown", 0, 100).empty());
  CHECK(kinds("pod/p1", 6, 100).empty());
  auto full = f.store->read_subject("vm/v1", 4, 1).value();
  REQUIRE(full.size() == 1);
  CHECK(full[0] == EventRecord{4, 1000, "D", {"vm/v1", "vm/v1"}, "{}"});
}

TEMPLATE_TEST_CASE("Checkpoints keep the newest few", "[unit][store]", MemoryFixture, RocksFixture) {
  TestType f;
  REQUIRE(f.store->append(numbered(1, 10)).has_value());
  for (Seq s : {2U, 4U, 6U, 8U, 10U})
    REQUIRE(f.store->put_checkpoint({s, "state@" + std::to_string(s)}).has_value());
  CHECK(f.store->latest_checkpoint().value() == std::optional<Checkpoint>(Checkpoint{10, "state@10"}));

  SECTION("an older checkpoint does not replace the latest") {
    REQUIRE(f.store->put_checkpoint({9, "state@9"}).has_value());
    CHECK(f.store->latest_checkpoint().value() == std::optional<Checkpoint>(Checkpoint{10, "state@10"}));
  }
  SECTION("a checkpoint at the same seq replaces it") {
    REQUIRE(f.store->put_checkpoint({10, "again"}).has_value());
    CHECK(f.store->latest_checkpoint().value() == std::optional<Checkpoint>(Checkpoint{10, "again"}));
  }
  SECTION("a checkpoint past the last event is refused") {
    auto r = f.store->put_checkpoint({11, "future"});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == core::ErrorCode::invalid);
    CHECK(f.store->latest_checkpoint().value()->seq == 10);
  }
}

TEMPLATE_TEST_CASE("Reopening preserves events, cursors and checkpoints", "[unit][store]", MemoryFixture,
                   RocksFixture) {
  TestType f;
  std::vector<Cursor> cursors{{"watch/pods", "41"}};
  REQUIRE(f.store->append(numbered(1, 5), cursors).has_value());
  REQUIRE(f.store->put_checkpoint({3, "snap"}).has_value());
  const auto before = read_all(*f.store);

  f.reopen();
  CHECK(f.store->last_seq() == 5);
  CHECK(f.store->first_seq() == 1);
  CHECK(read_all(*f.store) == before);
  CHECK(f.store->read_subject("s/1", 0, 10).value().size() == 2);
  CHECK(f.store->cursor("watch/pods").value() == std::optional<std::string>("41"));
  CHECK(f.store->latest_checkpoint().value() == std::optional<Checkpoint>(Checkpoint{3, "snap"}));
  CHECK(f.store->append(numbered(6, 1)).value() == 6);
}

TEMPLATE_TEST_CASE("Concurrent appends stay gap-free with every batch contiguous", "[unit][store]",
                   MemoryFixture, RocksFixture) {
  TestType f;
  constexpr int kThreads = 4;
  constexpr int kBatches = 40;
  std::atomic<int> failures{0};  // Catch2 assertions are not thread-safe: count, then check on this thread
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&f, &failures, t] {
      for (int b = 0; b < kBatches; ++b) {
        const int size = 1 + (b % 4);
        std::vector<NewEvent> batch;
        for (int i = 0; i < size; ++i) {
          batch.push_back(event("T", {"thread/" + std::to_string(t)},
                                std::to_string(t) + "/" + std::to_string(b) + "/" + std::to_string(i)));
        }
        if (!f.store->append(batch).has_value()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(failures.load() == 0);

  auto all = read_all(*f.store);
  REQUIRE(all.size() == static_cast<std::size_t>(kThreads * (10 * kBatches / 4)));
  std::map<std::string, std::vector<Seq>> by_batch;
  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].seq == i + 1);
    by_batch[all[i].payload.substr(0, all[i].payload.rfind('/'))].push_back(all[i].seq);
  }
  CHECK(by_batch.size() == static_cast<std::size_t>(kThreads * kBatches));
  for (const auto& [batch, seqs] : by_batch) {
    CHECK(seqs.back() - seqs.front() + 1 == seqs.size());
  }
  CHECK(f.store->read_subject("thread/2", 0, 1000).value().size() == 10 * kBatches / 4);
}

TEMPLATE_TEST_CASE("export_jsonl writes the asked range as JSON lines", "[unit][store]", MemoryFixture,
                   RocksFixture) {
  TestType f;
  std::vector<NewEvent> batch = numbered(1, 5);
  batch[2].payload = "not json";
  REQUIRE(f.store->append(batch).has_value());
  std::ostringstream out;
  REQUIRE(f.store->export_jsonl(2, 4, out).has_value());
  std::istringstream in(out.str());
  std::vector<EventRecord> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(from_jsonl(line).value());
  CHECK(lines == f.store->read(2, 3).value());

  std::ostringstream past_end;
  REQUIRE(f.store->export_jsonl(4, 99, past_end).has_value());
  const std::string text = past_end.str();
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);
}

}  // namespace podid::store::test
