#include "watch/ingest_kinds.hpp"

#include <array>

#include "core/k8s_objects.hpp"
#include "core/model.hpp"

namespace podid::watch {
namespace json = boost::json;

namespace {

constexpr std::array<IngestKind, 6> kAll{IngestKind::pods,       IngestKind::nodes,
                                         IngestKind::identities, IngestKind::bindings,
                                         IngestKind::exceptions, IngestKind::assigned_identities};

std::string meta_field(const json::object& object, std::string_view field) {
  const auto* meta = object.if_contains("metadata");
  if (meta == nullptr || !meta->is_object()) return {};
  const auto* v = meta->get_object().if_contains(field);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string{};
}

// Wraps a decoded value into its Observed event, stamped with at_ms.
template <class Ev, class T>
core::Result<core::Event> observed(core::Result<T> decoded, std::int64_t at_ms, T Ev::*member) {
  if (!decoded) return decoded.error();
  Ev e;
  e.at_ms = at_ms;
  e.*member = std::move(*decoded);
  return core::Event{std::move(e)};
}

// `rv` is moved into the event (clang-tidy 14 cannot see that through the dependent member).
template <class Ev, class K>
// NOLINTNEXTLINE(performance-unnecessary-value-param)
core::Result<core::Event> deleted(std::string_view key, std::string rv, std::int64_t at_ms) {
  auto parsed = core::parse_key<K>(key);
  if (!parsed) return parsed.error();
  Ev e;
  e.at_ms = at_ms;
  e.key = std::move(*parsed);
  e.resource_version = std::move(rv);
  return core::Event{std::move(e)};
}

template <class Map>
std::map<std::string, std::string> keyed_objects(const Map& objects, std::string_view ns) {
  std::map<std::string, std::string> out;
  for (const auto& [key, object] : objects) {
    if (!ns.empty() && key.ns != ns) continue;
    out.emplace(key.to_string(), object.resource_version);
  }
  return out;
}

template <class K, class Map>
std::optional<std::string> keyed_version(const Map& objects, std::string_view key) {
  auto parsed = core::parse_key<K>(key);
  if (!parsed) return std::nullopt;
  const auto it = objects.find(*parsed);
  if (it == objects.end()) return std::nullopt;
  return it->second.resource_version;
}

}  // namespace

std::span<const IngestKind> all_ingest_kinds() noexcept {
  return kAll;
}

const ResourceKind& resource_of(IngestKind kind) noexcept {
  switch (kind) {
    case IngestKind::pods:
      return kinds::pods();
    case IngestKind::nodes:
      return kinds::nodes();
    case IngestKind::identities:
      return kinds::azure_identities();
    case IngestKind::bindings:
      return kinds::azure_identity_bindings();
    case IngestKind::assigned_identities:
      return kinds::azure_assigned_identities();
    case IngestKind::exceptions:
      return kinds::azure_pod_identity_exceptions();
  }
  return kinds::pods();
}

std::string_view to_string(IngestKind kind) noexcept {
  return resource_of(kind).plural;
}

std::string cursor_name(IngestKind kind) {
  return "watch/" + std::string(to_string(kind));
}

std::string state_key(IngestKind kind, const json::object& object) {
  auto name = meta_field(object, "name");  // not const: returned by (automatic) move
  if (name.empty()) return {};
  if (kind == IngestKind::nodes) return name;
  return meta_field(object, "namespace") + "/" + name;
}

core::Result<core::Event> observed_event(IngestKind kind, const json::object& object, std::int64_t at_ms) {
  const json::value v(object);
  switch (kind) {
    case IngestKind::pods:
      return observed(core::decode_pod(v), at_ms, &core::PodObserved::pod);
    case IngestKind::nodes:
      return observed(core::decode_node(v), at_ms, &core::NodeObserved::node);
    case IngestKind::identities:
      return observed(core::decode_identity(v), at_ms, &core::IdentityObserved::identity);
    case IngestKind::bindings:
      return observed(core::decode_binding(v), at_ms, &core::BindingObserved::binding);
    case IngestKind::assigned_identities:
      return observed(core::decode_assigned_identity(v), at_ms, &core::AssignedIdentityObserved::assigned);
    case IngestKind::exceptions:
      return observed(core::decode_exception(v), at_ms, &core::ExceptionObserved::exception);
  }
  return core::make_error(core::ErrorCode::invalid, "unknown ingest kind");
}

core::Result<core::Event> deleted_event(IngestKind kind, std::string_view key, std::string resource_version,
                                        std::int64_t at_ms) {
  switch (kind) {
    case IngestKind::pods:
      return deleted<core::PodDeleted, core::PodKey>(key, std::move(resource_version), at_ms);
    case IngestKind::nodes: {
      if (key.empty()) return core::make_error(core::ErrorCode::invalid, "node without a name");
      core::NodeDeleted e;
      e.at_ms = at_ms;
      e.name = std::string(key);
      e.resource_version = std::move(resource_version);
      return core::Event{std::move(e)};
    }
    case IngestKind::identities:
      return deleted<core::IdentityDeleted, core::IdentityKey>(key, std::move(resource_version), at_ms);
    case IngestKind::bindings:
      return deleted<core::BindingDeleted, core::BindingKey>(key, std::move(resource_version), at_ms);
    case IngestKind::assigned_identities:
      return deleted<core::AssignedIdentityDeleted, core::AssignedKey>(key, std::move(resource_version),
                                                                       at_ms);
    case IngestKind::exceptions:
      return deleted<core::ExceptionDeleted, core::ExceptionKey>(key, std::move(resource_version), at_ms);
  }
  return core::make_error(core::ErrorCode::invalid, "unknown ingest kind");
}

std::map<std::string, std::string> state_objects(IngestKind kind, const core::State& state,
                                                 std::string_view ns) {
  switch (kind) {
    case IngestKind::pods:
      return keyed_objects(state.pods, ns);
    case IngestKind::nodes: {
      std::map<std::string, std::string> out;
      for (const auto& [name, node] : state.nodes) out.emplace(name, node.resource_version);
      return out;
    }
    case IngestKind::identities:
      return keyed_objects(state.identities, ns);
    case IngestKind::bindings:
      return keyed_objects(state.bindings, ns);
    case IngestKind::assigned_identities:
      return keyed_objects(state.assigned, ns);
    case IngestKind::exceptions:
      return keyed_objects(state.exceptions, ns);
  }
  return {};
}

std::optional<std::string> state_version(IngestKind kind, const core::State& state, std::string_view key) {
  switch (kind) {
    case IngestKind::pods:
      return keyed_version<core::PodKey>(state.pods, key);
    case IngestKind::nodes: {
      const auto it = state.nodes.find(std::string(key));
      if (it == state.nodes.end()) return std::nullopt;
      return it->second.resource_version;
    }
    case IngestKind::identities:
      return keyed_version<core::IdentityKey>(state.identities, key);
    case IngestKind::bindings:
      return keyed_version<core::BindingKey>(state.bindings, key);
    case IngestKind::assigned_identities:
      return keyed_version<core::AssignedKey>(state.assigned, key);
    case IngestKind::exceptions:
      return keyed_version<core::ExceptionKey>(state.exceptions, key);
  }
  return std::nullopt;
}

}  // namespace podid::watch
