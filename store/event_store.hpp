#pragma once
// EventStore: the append-only event log at the heart of the event-sourced design. Events are opaque to the
// store: a kind, the subjects they concern (a pod, an identity, a VM) and a JSON payload the domain (core/)
// encodes. The store hands out 1-based, gap-free, monotonically increasing sequence numbers.
//
// Thread-safety: every method may be called from any thread; writers (append, put_checkpoint,
// apply_retention) are serialised internally, readers never block on each other.
// Lifetime: the owner (cli/) keeps the store alive longer than every component holding a reference to it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace podid::store {

using Seq = std::uint64_t;  // 1-based, gap-free, monotonically increasing; 0 means "before the first event"

// An event as a writer offers it; the store assigns its sequence number.
struct NewEvent {
  std::int64_t at_ms{0};              // event time (from the observation, never the reader's clock)
  std::string kind;                   // stable name, e.g. "PodObserved"; must not be empty
  std::vector<std::string> subjects;  // index keys, e.g. "pod/default/web-0"; non-empty, no '\0'
  std::string payload;                // JSON text, opaque to the store
};

struct EventRecord {
  Seq seq{0};
  std::int64_t at_ms{0};
  std::string kind;
  std::vector<std::string> subjects;
  std::string payload;

  friend bool operator==(const EventRecord&, const EventRecord&) = default;
};

// A named position written atomically with a batch, e.g. {"watch/pods", "<resourceVersion>"}.
struct Cursor {
  std::string name;  // must not be empty
  std::string value;
};

// A projection snapshot taken after applying every event up to and including `seq`.
struct Checkpoint {
  Seq seq{0};
  std::string state;

  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

// Retention drops a prefix of the log: the oldest events while any set limit is exceeded. An event is
// "too old" when at_ms < now_ms - max_age_ms; sizes count the stored bytes of each event (stored_size()).
struct RetentionPolicy {
  std::optional<std::int64_t> max_age_ms;
  std::optional<std::uint64_t> max_bytes;
  std::optional<std::uint64_t> max_events;
};

struct RetentionReport {
  Seq dropped_through{0};    // every event with seq <= dropped_through is gone (first_seq()-1)
  std::uint64_t dropped{0};  // events dropped by this call
  std::string export_path;   // the JSON-lines file holding exactly those events; empty when none dropped
};

// How many checkpoints put_checkpoint() keeps (the newest by seq).
inline constexpr std::size_t kCheckpointsKept = 3;

class EventStore {
 public:
  EventStore() = default;
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;
  virtual ~EventStore() = default;

  // Atomically appends the batch AND sets the cursors: all or nothing. Returns the seq of the first event
  // (for an empty batch, which may still set cursors: the seq the next event will get).
  // Errors: invalid (empty kind or subject, '\0' in a subject, empty cursor name), io.
  [[nodiscard]] virtual core::Result<Seq> append(std::span<const NewEvent> batch,
                                                 std::span<const Cursor> cursors = {}) = 0;

  // Up to `limit` events with seq >= from, in order. from = 0 reads from first_seq(), whatever it is.
  // Errors: gone when 0 < from < first_seq() (retention dropped them), corrupt when a stored record
  // cannot be decoded (the message names its seq).
  [[nodiscard]] virtual core::Result<std::vector<EventRecord>> read(Seq from, std::size_t limit) const = 0;

  // Like read(), restricted to the events listing `subject`.
  [[nodiscard]] virtual core::Result<std::vector<EventRecord>> read_subject(std::string_view subject,
                                                                            Seq from,
                                                                            std::size_t limit) const = 0;

  // The seq of the newest event; 0 when nothing was ever appended.
  [[nodiscard]] virtual Seq last_seq() const = 0;
  // The seq of the oldest retained event; last_seq() + 1 when none is retained.
  [[nodiscard]] virtual Seq first_seq() const = 0;

  [[nodiscard]] virtual core::Result<std::optional<std::string>> cursor(std::string_view name) const = 0;

  // Stores a snapshot and keeps the newest kCheckpointsKept. Errors: invalid when cp.seq > last_seq().
  [[nodiscard]] virtual core::Status put_checkpoint(const Checkpoint& cp) = 0;
  // The checkpoint with the highest seq, if any.
  [[nodiscard]] virtual core::Result<std::optional<Checkpoint>> latest_checkpoint() const = 0;

  // Exports everything that would be dropped (JSON lines, see jsonl.hpp) to a new file in export_dir,
  // fsyncs it, and only then deletes those events. Never drops events after the latest checkpoint, so
  // nothing is dropped while there is no checkpoint.
  [[nodiscard]] virtual core::Result<RetentionReport> apply_retention(const RetentionPolicy& p,
                                                                      std::int64_t now_ms,
                                                                      const std::string& export_dir) = 0;

  // Writes events from..to (inclusive, to clamped to last_seq()) as JSON lines (see jsonl.hpp).
  // Errors as read().
  [[nodiscard]] virtual core::Status export_jsonl(Seq from, Seq to, std::ostream& out) const = 0;
};

}  // namespace podid::store
