// EventLog over the real RocksDB store: the state rebuilt from a checkpoint plus the tail equals a fresh
// replay, time travel stops at the right event, and a trimmed log refuses to replay from zero.

#include "store/event_log.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

#include "core/projection.hpp"
#include "golden_logs.hpp"
#include "store/memory_event_store.hpp"
#include "store/rocks_event_store.hpp"

using namespace podid;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/podid-eventlog-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

core::State fresh_replay(const std::vector<core::Event>& events, std::size_t n) {
  core::State s;
  for (std::size_t i = 0; i < n; ++i) core::apply(s, events[i], i + 1);
  return s;
}

}  // namespace

TEST_CASE("A state rebuilt from a checkpoint and the tail equals a fresh replay", "[unit]") {
  const auto name = GENERATE(as<std::string>{}, "vm_assign", "vmss_shared", "quarantine_throttle");
  const auto events = test::read_golden(name);
  TempDir dir;
  auto opened = store::RocksEventStore::open(dir.path.string());
  REQUIRE(opened.has_value());
  store::EventLog log(**opened);
  const auto half = events.size() / 2;
  REQUIRE(log.append(std::span(events).first(half)).has_value());

  auto first = log.rebuild();
  REQUIRE(first.has_value());
  REQUIRE(first->state == fresh_replay(events, half));
  REQUIRE(log.checkpoint(first->state).has_value());

  REQUIRE(log.append(std::span(events).subspan(half)).has_value());
  auto from_cp = log.rebuild();
  REQUIRE(from_cp.has_value());
  CHECK(from_cp->from_checkpoint == half);
  CHECK(from_cp->replayed == events.size() - half);
  auto from_zero = log.rebuild({.upto = {}, .until_ms = {}, .use_checkpoint = false});
  REQUIRE(from_zero.has_value());
  CHECK(from_zero->from_checkpoint == 0);
  CHECK(from_cp->state == from_zero->state);
  CHECK(from_zero->state == fresh_replay(events, events.size()));

  SECTION("replay to an earlier point ignores a newer checkpoint") {
    auto early = log.rebuild({.upto = half - 1, .until_ms = {}, .use_checkpoint = true});
    REQUIRE(early.has_value());
    CHECK(early->from_checkpoint == 0);
    CHECK(early->state == fresh_replay(events, half - 1));
  }
  SECTION("incremental catch-up from the live state equals the rebuild") {
    core::State live = first->state;
    auto n = log.catch_up(live);
    REQUIRE(n.has_value());
    CHECK(*n == events.size() - half);
    CHECK(live == from_zero->state);
  }
}

TEST_CASE("Replay by time stops before the first event recorded after it", "[unit]") {
  const auto events = test::read_golden("vm_assign");
  store::MemoryEventStore mem;
  store::EventLog log(mem);
  REQUIRE(log.append(events).has_value());
  const auto cut = core::at_ms_of(events[3]);
  auto at = log.rebuild({.upto = {}, .until_ms = cut, .use_checkpoint = true});
  REQUIRE(at.has_value());
  std::size_t expected = 0;
  while (expected < events.size() && core::at_ms_of(events[expected]) <= cut) ++expected;
  CHECK(at->state.last_seq == expected);
  CHECK(at->state == fresh_replay(events, expected));
}

TEST_CASE("A log trimmed by retention refuses a replay from zero but serves one from its checkpoint",
          "[unit]") {
  const auto events = test::read_golden("vmss_shared");
  TempDir dir;
  TempDir exports;
  auto opened = store::RocksEventStore::open(dir.path.string());
  REQUIRE(opened.has_value());
  store::EventLog log(**opened);
  REQUIRE(log.append(events).has_value());
  auto full = log.rebuild();
  REQUIRE(full.has_value());
  REQUIRE(log.checkpoint(full->state).has_value());
  auto report = (*opened)->apply_retention({.max_age_ms = {}, .max_bytes = {}, .max_events = 2},
                                           core::at_ms_of(events.back()), exports.path.string());
  REQUIRE(report.has_value());
  REQUIRE(report->dropped > 0);

  auto zero = log.rebuild({.upto = {}, .until_ms = {}, .use_checkpoint = false});
  REQUIRE_FALSE(zero.has_value());
  CHECK(zero.error().code == core::ErrorCode::gone);
  auto cp = log.rebuild();
  REQUIRE(cp.has_value());
  CHECK(cp->state == full->state);
}

TEST_CASE("A reader behind a trimmed log catches up through the newest checkpoint, never past its bound",
          "[unit]") {
  // The ingest's projection follows the log behind the controller's, which checkpoints and retires.
  const auto events = test::read_golden("vmss_shared");
  REQUIRE(events.size() > 6);
  TempDir dir;
  TempDir exports;
  auto opened = store::RocksEventStore::open(dir.path.string());
  REQUIRE(opened.has_value());
  store::EventLog log(**opened);
  const std::vector<core::Event> head(events.begin(), events.begin() + 3);
  const std::vector<core::Event> middle(events.begin() + 3, events.end() - 2);
  const std::vector<core::Event> tail(events.end() - 2, events.end());
  REQUIRE(log.append(head).has_value());
  core::State behind;
  REQUIRE(log.catch_up(behind).value() <= 3);
  REQUIRE(log.append(middle).has_value());
  auto at_checkpoint = log.rebuild();
  REQUIRE(at_checkpoint.has_value());
  REQUIRE(log.checkpoint(at_checkpoint->state).has_value());
  REQUIRE(log.append(tail).has_value());
  auto report = (*opened)->apply_retention({.max_age_ms = {}, .max_bytes = {}, .max_events = 2},
                                           core::at_ms_of(events.back()), exports.path.string());
  REQUIRE(report.has_value());
  REQUIRE(report->dropped_through > behind.last_seq);

  SECTION("it jumps to the checkpoint and applies the tail: the state a full replay gives") {
    REQUIRE(log.catch_up(behind).has_value());
    CHECK(behind == fresh_replay(events, events.size()));
  }
  SECTION("with a bound below the checkpoint it cannot jump, and says the events are gone") {
    const auto bounded = log.catch_up(behind, behind.last_seq + 1);
    REQUIRE_FALSE(bounded.has_value());
    CHECK(bounded.error().code == core::ErrorCode::gone);
  }
}

TEST_CASE("History by subject returns the decoded events about that subject in order", "[unit]") {
  const auto events = test::read_golden("vm_assign");
  store::MemoryEventStore mem;
  store::EventLog log(mem);
  REQUIRE(log.append(events).has_value());
  auto h = log.history("node/n0");
  REQUIRE(h.has_value());
  REQUIRE_FALSE(h->empty());
  core::Seq prev = 0;
  for (const auto& [seq, e] : *h) {
    CHECK(seq > prev);
    prev = seq;
    const auto subjects = core::subjects(e);
    CHECK(std::find(subjects.begin(), subjects.end(), "node/n0") != subjects.end());
  }
}
