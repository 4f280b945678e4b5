#pragma once
// The kinds the ingest watches and how each maps to core events and to the projected State: the REST
// resource, the store cursor ("watch/<plural>"), the key an object has in State ("ns/name", or the name for
// nodes), Observed events decoded from the object (core/k8s_objects.hpp) and Deleted events from a key.
// Pure functions; no I/O.

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/events.hpp"
#include "core/result.hpp"
#include "core/state.hpp"
#include "watch/resource.hpp"

namespace podid::watch {

enum class IngestKind { pods, nodes, identities, bindings, assigned_identities, exceptions };

// Every kind, in the order the ingest starts them.
[[nodiscard]] std::span<const IngestKind> all_ingest_kinds() noexcept;

[[nodiscard]] const ResourceKind& resource_of(IngestKind kind) noexcept;
// "watch/pods", "watch/azureidentities", ...: the store cursor holding the last safe resourceVersion.
[[nodiscard]] std::string cursor_name(IngestKind kind);
[[nodiscard]] std::string_view to_string(IngestKind kind) noexcept;  // the plural, e.g. "pods"

// The key the object has in State: "ns/name" for namespaced kinds, the name for nodes. Empty when the
// object has no name.
[[nodiscard]] std::string state_key(IngestKind kind, const boost::json::object& object);

// PodObserved, NodeObserved, IdentityObserved, ... decoded from the object; invalid when it cannot be.
[[nodiscard]] core::Result<core::Event> observed_event(IngestKind kind, const boost::json::object& object,
                                                       std::int64_t at_ms);
// PodDeleted, NodeDeleted, ... for the object with this State key; invalid when the key is malformed.
[[nodiscard]] core::Result<core::Event> deleted_event(IngestKind kind, std::string_view key,
                                                      std::string resource_version, std::int64_t at_ms);

// The objects of this kind the State holds (key -> resourceVersion); for namespaced kinds only those in
// `ns` unless it is empty.
[[nodiscard]] std::map<std::string, std::string> state_objects(IngestKind kind, const core::State& state,
                                                               std::string_view ns);
// The resourceVersion State holds for the key, if it holds the object.
[[nodiscard]] std::optional<std::string> state_version(IngestKind kind, const core::State& state,
                                                       std::string_view key);

}  // namespace podid::watch
