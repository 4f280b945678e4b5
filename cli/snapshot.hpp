#pragma once
// Support snapshots: a JSON bundle of the projection, the newest events and version information, with every
// value whose key names a secret or token replaced by "[redacted]"; and reading one back for an import.

#include <boost/json/value.hpp>
#include <cstddef>
#include <string>

#include "core/result.hpp"
#include "store/event_store.hpp"
#include "store/import.hpp"

namespace podid::cli {

// {"format": 1, "podidVersion", "lastSeq", "firstSeq", "state", "events": [...newest `recent`...]}
[[nodiscard]] core::Result<boost::json::value> make_bundle(const store::EventStore& store,
                                                           std::size_t recent);

// Replaces, recursively, the values of keys that look like secrets (token, secret, password, assertion,
// key material) by "[redacted]".
void redact(boost::json::value& v);

// The cursor an imported store carries: where its events came from.
inline constexpr const char* kImportCursor = "snapshot/import";

// Reads and parses a bundle file. Errors: not_found, invalid ("is not a support bundle": not JSON, e.g.
// truncated, or not an object with a state and events).
[[nodiscard]] core::Result<boost::json::value> read_bundle(const std::string& path);

// What `snapshot import` stores: the bundle's events with their original seqs and subjects, its state as a
// checkpoint at its last event, and kImportCursor naming `source`. Errors: invalid (an unknown format, an
// event that does not decode or disagrees with its kind or time, a lastSeq that is not the state's);
// store::check_import then checks the seqs.
[[nodiscard]] core::Result<store::ImportSet> import_set(const boost::json::value& bundle,
                                                        const std::string& source);

}  // namespace podid::cli
