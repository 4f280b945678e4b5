#pragma once
// VersionIndex: the ingest's slim projection of the event log. For each ingest kind, the key of every object
// the log holds (its State key: "ns/name", or the name for nodes) and the resourceVersion last logged for it,
// plus the sequence number of the last event applied. That is all the ingest asks of the log: whether it
// already logged this version of an object (skip it), and which objects the log holds (a relist that lacks
// one turns it into a Deleted event). At 10,000 pods it takes a few MiB where a core::State takes ~40.
//
// It follows the State's rules for these fields (core/projection.cpp), so that version(kind, key) equals
// state_version(kind, state, key) for the State projected from the same events: XObserved sets the object's
// version, XDeleted erases it (an unknown key is no change), AssignedIdentityWritten sets or erases an
// AzureAssignedIdentity, every other event only moves last_seq; an event at or below last_seq is ignored.
//
// Thread-safety: none (a value type; the ingest owns one on its executor).

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/events.hpp"
#include "core/result.hpp"
#include "core/state.hpp"
#include "store/event_log.hpp"
#include "watch/ingest_kinds.hpp"

namespace podid::watch {

class VersionIndex {
 public:
  using Versions = std::map<std::string, std::string, std::less<>>;  // key -> resourceVersion

  // The index of what `state` holds, as of state.last_seq.
  [[nodiscard]] static VersionIndex from_state(const core::State& state);

  // Applies `e`, recorded at `seq`; returns false (and changes nothing) when seq <= last_seq().
  bool apply(const core::Event& e, core::Seq seq);

  // The resourceVersion logged for the object with this key, if the log holds it.
  [[nodiscard]] std::optional<std::string> version(IngestKind kind, std::string_view key) const;
  // The objects of this kind the log holds; for namespaced kinds only those in `ns` unless it is empty.
  [[nodiscard]] Versions objects(IngestKind kind, std::string_view ns) const;
  [[nodiscard]] std::size_t size(IngestKind kind) const;
  [[nodiscard]] core::Seq last_seq() const noexcept { return last_seq_; }

  bool operator==(const VersionIndex&) const = default;

 private:
  Versions& of(IngestKind kind) { return kinds_[static_cast<std::size_t>(kind)]; }
  [[nodiscard]] const Versions& of(IngestKind kind) const { return kinds_[static_cast<std::size_t>(kind)]; }
  void set(IngestKind kind, std::string key, const std::string& version);
  void erase(IngestKind kind, const std::string& key);

  struct Applier;

  std::array<Versions, 6> kinds_{};  // indexed by IngestKind
  core::Seq last_seq_{0};
};

// Rebuilds the index from the log (newest checkpoint, then the events after it). It goes through a
// core::State, which is released before it returns: a transient peak, not a resident one.
[[nodiscard]] core::Result<VersionIndex> rebuild_version_index(const store::EventLog& log);

// Applies every event after index.last_seq() up to `upto` (default: the end of the log); returns how many.
// When retention dropped events the index still lacks, the index is rebuilt as rebuild_version_index()
// does instead (up to the end of the log, which may be past `upto`; not counted).
[[nodiscard]] core::Result<std::uint64_t> catch_up(const store::EventLog& log, VersionIndex& index,
                                                   std::optional<core::Seq> upto = {});

}  // namespace podid::watch
