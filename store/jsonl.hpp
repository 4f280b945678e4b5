#pragma once
// The JSON-lines form of events, used by export_jsonl() and by retention's export files: one object per
// line, {"seq":..,"at":..,"kind":..,"subjects":[..],"payload":<the payload as a JSON value>}. A payload
// that is not valid JSON is kept verbatim as a string under "payloadText" instead, so nothing is lost.
// The JSON value is preserved, not its bytes: whitespace inside the payload is normalised.

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "store/event_store.hpp"

namespace podid::store {

// One line, without the trailing newline.
[[nodiscard]] std::string to_jsonl(const EventRecord& e);
// Parses one line written by to_jsonl(); errors are invalid.
[[nodiscard]] core::Result<EventRecord> from_jsonl(std::string_view line);

// Reads from..to (inclusive; to clamped to s.last_seq()) in chunks and writes one line per event.
// Shared by both stores' export_jsonl(). Errors: those of s.read(), io when the stream fails.
[[nodiscard]] core::Status write_jsonl(const EventStore& s, Seq from, Seq to, std::ostream& out);

// Events read per chunk by write_jsonl() and retention.
inline constexpr std::size_t kExportChunk = 1024;

}  // namespace podid::store
