#pragma once
// EventLog: the typed face of the log. Core events in (encoded, indexed by subject), core State out (from the
// newest checkpoint at or below the requested point, then replay). The controller, the watch ingest and
// podidctl all go through it, so the projection built live equals the one rebuilt from the log.
// Not thread-safe by itself; the underlying EventStore is.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/events.hpp"
#include "core/result.hpp"
#include "core/state.hpp"
#include "store/event_store.hpp"

namespace podid::store {

[[nodiscard]] NewEvent to_record(const core::Event& e);
[[nodiscard]] core::Result<core::Event> from_record(const EventRecord& r);

struct RebuildOptions {
  std::optional<Seq> upto;               // stop after this sequence number
  std::optional<std::int64_t> until_ms;  // stop before the first event recorded after this time
  bool use_checkpoint{true};             // start from the newest usable checkpoint
};

struct Rebuilt {
  core::State state;
  Seq from_checkpoint{0};     // 0 when replayed from the first event
  std::uint64_t replayed{0};  // events applied after the checkpoint
};

class EventLog {
 public:
  explicit EventLog(EventStore& store) : store_(store) {}

  // Appends the events and cursors atomically; returns the sequence number of the first event.
  [[nodiscard]] core::Result<Seq> append(std::span<const core::Event> events,
                                         std::span<const Cursor> cursors = {});

  // Rebuilds the state as of `options`. A checkpoint is used only when it lies at or below the end point.
  [[nodiscard]] core::Result<Rebuilt> rebuild(const RebuildOptions& options = {}) const;

  // Applies every event after state.last_seq to `state` (incremental catch-up). Returns how many. When
  // retention dropped events `state` still lacks, it jumps to the newest checkpoint (its state replaces
  // `state`; the jump is not counted), and fails with gone only when no checkpoint covers them.
  [[nodiscard]] core::Result<std::uint64_t> catch_up(core::State& state, std::optional<Seq> upto = {}) const;

  // Reads the whole log back as a start-up replay would: every event from first_seq() to last_seq() present
  // and decodable (as a core::Event, not only as a record), the newest checkpoint decodable and not past
  // the last event. The first problem found is returned as corrupt, naming the event or checkpoint; an
  // error reading the store (io, say) is returned as it is.
  [[nodiscard]] core::Status verify() const;

  // Stores `state` as a checkpoint at state.last_seq.
  [[nodiscard]] core::Status checkpoint(const core::State& state);

  // The decoded events that concern `subject` (see core::subjects), oldest first.
  [[nodiscard]] core::Result<std::vector<std::pair<Seq, core::Event>>> history(
      std::string_view subject) const;

  [[nodiscard]] EventStore& store() const { return store_; }

 private:
  EventStore& store_;
};

}  // namespace podid::store
