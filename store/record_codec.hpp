#pragma once
// The stored form of events and keys, shared by both EventStore implementations so that sizes (and thus
// retention by bytes) agree. Keys: events by 8-byte big-endian seq (sorts numerically); the subject index
// by subject + '\0' + big-endian seq. Record values are compact binary (see store/README.md).

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "store/event_store.hpp"

namespace podid::store {

// 8-byte big-endian encoding of a sequence number or counter.
[[nodiscard]] std::string encode_u64(std::uint64_t v);
// Decodes encode_u64(); `what` names the key for the corrupt error.
[[nodiscard]] core::Result<std::uint64_t> decode_u64(std::string_view bytes, std::string_view what);

// The subject index key, and the prefix every key of one subject starts with.
[[nodiscard]] std::string subject_key(std::string_view subject, Seq seq);
[[nodiscard]] std::string subject_prefix(std::string_view subject);

// The record value (everything but seq, which lives in the key).
[[nodiscard]] std::string encode_event(const NewEvent& e);
// Decodes a record value; errors are corrupt and name the key ("event 42").
[[nodiscard]] core::Result<EventRecord> decode_event(Seq seq, std::string_view value);

// Bytes one event occupies in the log (key + value); the unit of RetentionPolicy::max_bytes.
[[nodiscard]] std::uint64_t stored_size(const NewEvent& e);
[[nodiscard]] std::uint64_t stored_size(const EventRecord& e);

// Input checks shared by both stores: invalid on an empty kind, empty or '\0'-carrying subject, empty
// cursor name.
[[nodiscard]] core::Status validate(const NewEvent& e);
[[nodiscard]] core::Status validate(const Cursor& c);

}  // namespace podid::store
