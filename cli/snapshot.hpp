#pragma once
// Support snapshots: a JSON bundle of the projection, the newest events and version information, with every
// value whose key names a secret or token replaced by "[redacted]".

#include <boost/json/value.hpp>
#include <cstddef>

#include "core/result.hpp"
#include "store/event_store.hpp"

namespace podid::cli {

// {"format": 1, "podidVersion", "lastSeq", "firstSeq", "state", "events": [...newest `recent`...]}
[[nodiscard]] core::Result<boost::json::value> make_bundle(const store::EventStore& store,
                                                           std::size_t recent);

// Replaces, recursively, the values of keys that look like secrets (token, secret, password, assertion,
// key material) by "[redacted]".
void redact(boost::json::value& v);

}  // namespace podid::cli
