// Property (c): through the real RocksEventStore and EventLog, a rebuild that starts from a checkpoint equals
// one that replays everything, equals the live state kept by catching up after every batch, and survives a
// reopen of the store. Seeds as in projection_property_test.cpp.

#include <catch2/catch.hpp>

#include "core/projection.hpp"
#include "store/event_log.hpp"
#include "store/rocks_event_store.hpp"
#include "tests/unit/property/event_generator.hpp"
#include "tests/unit/property/property_support.hpp"

namespace podid::property {
namespace {

using namespace podid::core;

constexpr std::size_t kCases = 30;

void require_same(const State& got, const State& want) {
  const auto diff = describe_difference(got, want);
  if (!diff.empty()) FAIL(diff);
}

std::unique_ptr<store::RocksEventStore> open_store(const ScratchDir& dir) {
  // Without fsync: durability is the crash tests' business; here only the contents matter.
  auto opened = store::RocksEventStore::open((dir.path() / "log").string(), {.sync_writes = false});
  REQUIRE(opened.has_value());
  return std::move(opened).value();
}

store::RebuildOptions without_checkpoint() {
  store::RebuildOptions o;
  o.use_checkpoint = false;
  return o;
}

store::RebuildOptions up_to(Seq seq) {
  store::RebuildOptions o;
  o.upto = seq;
  return o;
}

}  // namespace

TEST_CASE("Rebuilding from the newest checkpoint in RocksDB equals a rebuild without one",
          "[unit][property]") {
  const auto cfg = run_config(kCases);
  std::size_t from_checkpoint = 0;
  for (std::size_t c = 0; c < cfg.cases; ++c) {
    const auto seed = cfg.seed + c;
    INFO("seed " << seed);
    Rng rng(seed ^ 0x5707eULL);
    const auto log = EventGenerator(seed).generate(50 + rng.below(300));
    State memory;
    replay(memory, log.events);

    ScratchDir dir;
    auto store = open_store(dir);
    store::EventLog event_log(*store);
    State live;  // what a running controller holds: caught up after every batch
    Seq last_checkpoint = 0;
    for (std::size_t i = 0; i < log.events.size();) {
      const auto n = std::min(log.events.size() - i, 1 + rng.below(40));
      const std::vector<Event> batch(log.events.begin() + static_cast<std::ptrdiff_t>(i),
                                     log.events.begin() + static_cast<std::ptrdiff_t>(i + n));
      const store::Cursor cursor{"watch/pods", std::to_string(i + n)};
      const auto first = event_log.append(batch, std::span(&cursor, 1));
      REQUIRE(first.has_value());
      REQUIRE(first.value() == i + 1);
      i += n;
      const auto caught_up = event_log.catch_up(live);
      REQUIRE(caught_up.has_value());
      REQUIRE(live.last_seq == i);
      if (rng.chance(25)) {
        REQUIRE(event_log.checkpoint(live).has_value());
        last_checkpoint = live.last_seq;
      }
    }
    require_same(live, memory);

    const auto without = event_log.rebuild(without_checkpoint());
    REQUIRE(without.has_value());
    REQUIRE(without->from_checkpoint == 0);
    REQUIRE(without->replayed == log.events.size());
    require_same(without->state, memory);

    const auto with = event_log.rebuild();
    REQUIRE(with.has_value());
    REQUIRE(with->from_checkpoint == last_checkpoint);
    REQUIRE(with->replayed == log.events.size() - last_checkpoint);
    require_same(with->state, without->state);
    if (last_checkpoint > 0) ++from_checkpoint;

    // A point in the past: the newest checkpoint at or below it is used, and the result is the prefix.
    const Seq upto = 1 + rng.below(log.events.size());
    INFO("rebuild up to " << upto);
    const auto past = event_log.rebuild(up_to(upto));
    REQUIRE(past.has_value());
    REQUIRE(past->from_checkpoint <= upto);
    State prefix;
    replay(prefix,
           std::vector<Event>(log.events.begin(), log.events.begin() + static_cast<std::ptrdiff_t>(upto)));
    require_same(past->state, prefix);

    store.reset();  // close, reopen: the same again
    store = open_store(dir);
    store::EventLog reopened(*store);
    const auto again = reopened.rebuild();
    REQUIRE(again.has_value());
    REQUIRE(again->from_checkpoint == last_checkpoint);
    require_same(again->state, memory);
  }
  if (cfg.cases >= kCases) CHECK(from_checkpoint > cfg.cases / 2);
}

}  // namespace podid::property
