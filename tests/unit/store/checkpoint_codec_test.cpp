// Checkpoints as the event log stores them (store/checkpoint_codec.hpp): compressed while written, read back
// exactly, older plain-text checkpoints still read, and damage to a compressed one reported as corruption
// rather than decoded into a wrong State.
#include "store/checkpoint_codec.hpp"

#include <catch2/catch.hpp>

#include "core/state_codec.hpp"
#include "store/event_log.hpp"
#include "unit/store/store_fixtures.hpp"

namespace podid::store {
using test::numbered;
using test::RocksFixture;
namespace {

// A State of `pods` pods with labels and IPs: the bulk of a real checkpoint.
core::State sample_state(int pods, Seq last_seq) {
  core::State s;
  s.last_seq = last_seq;
  s.last_at_ms = 1'700'000'000'000;
  for (int i = 0; i < pods; ++i) {
    core::Pod p;
    p.key = core::PodKey{"team-" + std::to_string(i % 7), "worker-" + std::to_string(i)};
    p.uid = "0b6c8f0e-7d1a-4c2b-9e3f-" + std::to_string(100000000000 + i);
    p.node = "aks-nodepool1-" + std::to_string(i % 50) + "-vmss00000" + std::to_string(i % 10);
    p.ip = "10.244." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    p.phase = "Running";
    p.labels = {{"aadpodidbinding", "selector-" + std::to_string(i % 100)}, {"app", "web"}};
    p.resource_version = std::to_string(5000 + i);
    s.pods.emplace(p.key, p);
  }
  return s;
}

TEST_CASE("A checkpoint is stored compressed and read back as the State's exact text", "[unit][store]") {
  const auto state = sample_state(2000, 42);
  const auto text = core::encode_state_text(state);
  const auto stored = encode_checkpoint(state);
  REQUIRE(stored.has_value());
  CHECK(is_compressed_checkpoint(*stored));
  INFO("text " << text.size() << " bytes, stored " << stored->size());
  CHECK(stored->size() * 4 < text.size());  // repetitive JSON: the point of compressing it
  const auto back = checkpoint_text(*stored);
  REQUIRE(back.has_value());
  CHECK(*back == text);
}

TEST_CASE("The State's text arrives in pieces that add up to the whole", "[unit][store]") {
  const auto state = sample_state(50, 7);
  std::string joined;
  int pieces = 0;
  core::encode_state_text(
      state,
      [&](std::string_view piece) {
        CHECK_FALSE(piece.empty());
        joined += piece;
        ++pieces;
      },
      100);
  CHECK(pieces > 10);
  CHECK(joined == core::encode_state_text(state));
}

TEST_CASE("A plain-text checkpoint of an older store is read as it is", "[unit][store]") {
  const auto text = core::encode_state_text(sample_state(3, 9));
  CHECK_FALSE(is_compressed_checkpoint(text));
  CHECK(checkpoint_text(text).value() == text);
}

TEST_CASE("A damaged compressed checkpoint is corrupt, never a different text", "[unit][store]") {
  const auto state = sample_state(500, 11);
  const auto stored = encode_checkpoint(state).value();
  const auto expect_corrupt = [](const std::string& bytes, const std::string& why) {
    const auto r = checkpoint_text(bytes);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == core::ErrorCode::corrupt);
    CHECK_THAT(r.error().message, Catch::Contains(why));
  };
  SECTION("one byte flipped in the middle") {
    auto bad = stored;
    bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x5A);
    expect_corrupt(bad, "compressed checkpoint");
  }
  SECTION("the last bytes cut off") {
    expect_corrupt(stored.substr(0, stored.size() - 9), "compressed checkpoint");
  }
  SECTION("only the magic number left") {
    expect_corrupt(stored.substr(0, 4), "truncated");
  }
  SECTION("bytes after the frame") {
    expect_corrupt(stored + "{}", "after the end of the frame");
  }
  SECTION("more text than the bound allows") {
    const auto r = checkpoint_text(stored, 1000);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("more than 1000 bytes"));
  }
}

TEST_CASE("The event log writes compressed checkpoints and reads older plain ones", "[unit][store]") {
  RocksFixture f;
  REQUIRE(f.store->append(numbered(1, 5)).has_value());
  EventLog log(*f.store);
  const auto state = sample_state(20, 5);

  SECTION("written by the log: compressed, and the rebuild starts from it") {
    REQUIRE(log.checkpoint(state).has_value());
    const auto cp = f.store->latest_checkpoint().value();
    REQUIRE(cp.has_value());
    CHECK(is_compressed_checkpoint(cp->state));
    f.reopen();
    const auto rebuilt = EventLog(*f.store).rebuild();
    REQUIRE(rebuilt.has_value());
    CHECK(rebuilt->from_checkpoint == 5);
    CHECK(rebuilt->state.pods == state.pods);
  }
  SECTION("plain text, as a store of format version 2 holds it") {
    REQUIRE(f.store->put_checkpoint(Checkpoint{5, core::encode_state_text(state)}).has_value());
    const auto rebuilt = log.rebuild();
    REQUIRE(rebuilt.has_value());
    CHECK(rebuilt->from_checkpoint == 5);
    CHECK(rebuilt->state.pods == state.pods);
  }
  SECTION("a damaged compressed checkpoint fails the rebuild as corrupt, naming it") {
    auto bytes = encode_checkpoint(state).value();
    bytes.resize(bytes.size() - 5);
    REQUIRE(f.store->put_checkpoint(Checkpoint{5, bytes}).has_value());
    const auto rebuilt = log.rebuild();
    REQUIRE_FALSE(rebuilt.has_value());
    CHECK(rebuilt.error().code == core::ErrorCode::corrupt);
    CHECK_THAT(rebuilt.error().message, Catch::Contains("checkpoint 5"));
  }
}

}  // namespace
}  // namespace podid::store
