#include "core/event_codec.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cstddef>
#include <utility>

#include "core/model_codec.hpp"

namespace podid::core {
namespace json = boost::json;
using codec::key_json;
using codec::read_child;
using codec::read_key;
using codec::to_json;

namespace {

constexpr std::array<std::pair<ErrorCode, std::string_view>, 10> kErrorClasses{{
    {ErrorCode::not_found, "not_found"},
    {ErrorCode::conflict, "conflict"},
    {ErrorCode::gone, "gone"},
    {ErrorCode::throttled, "throttled"},
    {ErrorCode::permission, "permission"},
    {ErrorCode::invalid, "invalid"},
    {ErrorCode::transient, "transient"},
    {ErrorCode::io, "io"},
    {ErrorCode::corrupt, "corrupt"},
    {ErrorCode::cancelled, "cancelled"},
}};

std::string_view action_name(WriteAction a) {
  switch (a) {
    case WriteAction::created:
      return "created";
    case WriteAction::updated:
      return "updated";
    case WriteAction::deleted:
      return "deleted";
  }
  return "created";
}

// Payload writers: one per event kind.
void put(json::object& o, const PodObserved& e) {
  o["pod"] = to_json(e.pod);
}
void put(json::object& o, const IdentityObserved& e) {
  o["identity"] = to_json(e.identity);
}
void put(json::object& o, const BindingObserved& e) {
  o["binding"] = to_json(e.binding);
}
void put(json::object& o, const ExceptionObserved& e) {
  o["exception"] = to_json(e.exception);
}
void put(json::object& o, const NodeObserved& e) {
  o["node"] = to_json(e.node);
}
void put(json::object& o, const AssignedIdentityObserved& e) {
  o["assigned"] = to_json(e.assigned);
}
void put(json::object& o, const SettingsObserved& e) {
  o["settings"] = to_json(e.settings);
}
template <class E>
requires requires(E e) {
  e.key.to_string();
}
void put(json::object& o, const E& e) {
  o["key"] = key_json(e.key);
  o["resourceVersion"] = e.resource_version;
}
void put(json::object& o, const NodeDeleted& e) {
  o["name"] = e.name;
  o["resourceVersion"] = e.resource_version;
}
void put(json::object& o, const VmIdentitiesObserved& e) {
  o["target"] = e.target.to_string();
  json::array ids;
  for (const auto& i : e.identities) ids.push_back(to_json(i));
  o["identities"] = std::move(ids);
}
void put(json::object& o, const ArmOperationStarted& e) {
  o["operationID"] = e.operation_id;
  o["target"] = e.target.to_string();
  o["add"] = to_json(e.add);
  o["remove"] = to_json(e.remove);
  o["causedBy"] = to_json(e.caused_by);
}
void put(json::object& o, const ArmOperationSucceeded& e) {
  o["operationID"] = e.operation_id;
  o["target"] = e.target.to_string();
}
void put(json::object& o, const ArmOperationFailed& e) {
  o["operationID"] = e.operation_id;
  o["target"] = e.target.to_string();
  o["errorClass"] = error_class_name(e.error_class);
  o["message"] = e.message;
  o["failedIdentities"] = to_json(e.failed_identities);
}
void put(json::object& o, const ArmOperationThrottled& e) {
  o["operationID"] = e.operation_id;
  o["target"] = e.target.to_string();
  o["retryAfterMs"] = e.retry_after_ms;
}
void put(json::object& o, const AssignedIdentityWritten& e) {
  o["action"] = action_name(e.action);
  o["assigned"] = to_json(e.assigned);
}
void put(json::object& o, const MigrationApplied& e) {
  o["migrationID"] = e.migration_id;
  o["objectKind"] = e.object_kind;
  o["object"] = e.object;
  o["changed"] = e.changed;
}

// Payload readers.
void get(JsonReader& r, PodObserved& e) {
  e.pod = read_child<Pod>(r, "pod");
}
void get(JsonReader& r, IdentityObserved& e) {
  e.identity = read_child<AzureIdentity>(r, "identity");
}
void get(JsonReader& r, BindingObserved& e) {
  e.binding = read_child<AzureIdentityBinding>(r, "binding");
}
void get(JsonReader& r, ExceptionObserved& e) {
  e.exception = read_child<AzurePodIdentityException>(r, "exception");
}
void get(JsonReader& r, NodeObserved& e) {
  e.node = read_child<Node>(r, "node");
}
void get(JsonReader& r, AssignedIdentityObserved& e) {
  e.assigned = read_child<AssignedIdentity>(r, "assigned");
}
void get(JsonReader& r, SettingsObserved& e) {
  e.settings = read_child<Settings>(r, "settings");
}
template <class E>
requires requires(E e) {
  e.key.to_string();
}
void get(JsonReader& r, E& e) {
  e.key = read_key<decltype(e.key)>(r, "key");
  e.resource_version = r.opt_str("resourceVersion");
}
void get(JsonReader& r, NodeDeleted& e) {
  e.name = r.str("name");
  e.resource_version = r.opt_str("resourceVersion");
}
void get(JsonReader& r, VmIdentitiesObserved& e) {
  e.target = codec::read_target(r, "target");
  for (auto& item : r.items("identities")) {
    VmIdentity id;
    codec::read(item, id);
    e.identities.push_back(std::move(id));
  }
}
void get(JsonReader& r, ArmOperationStarted& e) {
  e.operation_id = r.str("operationID");
  e.target = codec::read_target(r, "target");
  e.add = r.strings("add");
  e.remove = r.strings("remove");
  e.caused_by = codec::read_seqs(r, "causedBy");
}
void get(JsonReader& r, ArmOperationSucceeded& e) {
  e.operation_id = r.str("operationID");
  e.target = codec::read_target(r, "target");
}
void get(JsonReader& r, ArmOperationFailed& e) {
  e.operation_id = r.str("operationID");
  e.target = codec::read_target(r, "target");
  const auto cls = r.str("errorClass");
  if (auto code = parse_error_class(cls)) {
    e.error_class = *code;
  } else if (r.ok()) {
    r.fail("errorClass", code.error().message);
  }
  e.message = r.opt_str("message");
  e.failed_identities = r.strings("failedIdentities");
}
void get(JsonReader& r, ArmOperationThrottled& e) {
  e.operation_id = r.str("operationID");
  e.target = codec::read_target(r, "target");
  e.retry_after_ms = r.opt_i64("retryAfterMs");
}
void get(JsonReader& r, AssignedIdentityWritten& e) {
  const auto action = r.str("action");
  if (action == "created") {
    e.action = WriteAction::created;
  } else if (action == "updated") {
    e.action = WriteAction::updated;
  } else if (action == "deleted") {
    e.action = WriteAction::deleted;
  } else if (r.ok()) {
    r.fail("action", "expected created, updated or deleted");
  }
  e.assigned = read_child<AssignedIdentity>(r, "assigned");
}
void get(JsonReader& r, MigrationApplied& e) {
  e.migration_id = r.str("migrationID");
  e.object_kind = r.opt_str("objectKind");
  e.object = r.opt_str("object");
  e.changed = r.opt_bool("changed");
}

template <class E>
Result<Event> decode_as(const json::value& v, std::int64_t version) {
  if (version < 1 || version > E::version)
    return make_error(ErrorCode::corrupt, "event " + std::string(E::kind) + ": unsupported version " +
                                              std::to_string(version) + " (this build reads up to " +
                                              std::to_string(E::version) + ")");
  JsonReader r(v, "event " + std::string(E::kind), ErrorCode::corrupt);
  E e;
  e.at_ms = r.i64("atMs");
  get(r, e);
  PODID_TRY(r.status());
  return Event{std::move(e)};
}

template <std::size_t... I>
Result<Event> dispatch(std::string_view kind, const json::value& v, std::int64_t version,
                       std::index_sequence<I...>) {
  Result<Event> out = make_error(ErrorCode::corrupt, "unknown event kind \"" + std::string(kind) + "\"");
  ((std::variant_alternative_t<I, Event>::kind == kind
        ? (out = decode_as<std::variant_alternative_t<I, Event>>(v, version), true)
        : false) ||
   ...);
  return out;
}

}  // namespace

std::string_view error_class_name(ErrorCode code) noexcept {
  for (const auto& [c, name] : kErrorClasses)
    if (c == code) return name;
  return "transient";
}

Result<ErrorCode> parse_error_class(std::string_view name) {
  for (const auto& [c, n] : kErrorClasses)
    if (n == name) return Result<ErrorCode>(boost::system::in_place_value, c);
  return make_error(ErrorCode::corrupt, "unknown error class \"" + std::string(name) + "\"");
}

std::string_view kind_of(const Event& e) {
  return std::visit([](const auto& x) { return std::decay_t<decltype(x)>::kind; }, e);
}

std::int64_t at_ms_of(const Event& e) {
  return std::visit([](const auto& x) { return x.at_ms; }, e);
}

json::value encode(const Event& e) {
  return std::visit(
      [](const auto& x) {
        using E = std::decay_t<decltype(x)>;
        json::object o{{"kind", E::kind}, {"v", E::version}, {"atMs", x.at_ms}};
        put(o, x);
        return json::value(std::move(o));
      },
      e);
}

Result<Event> decode_event(const json::value& v) {
  const auto* o = v.if_object();
  if (o == nullptr) return make_error(ErrorCode::corrupt, "event: expected a JSON object");
  const auto* kind = o->if_contains("kind");
  if (kind == nullptr || !kind->is_string()) return make_error(ErrorCode::corrupt, "event: kind is missing");
  const auto* version = o->if_contains("v");
  if (version == nullptr || !version->is_int64())
    return make_error(ErrorCode::corrupt, "event " + std::string(kind->get_string()) + ": v is missing");
  return dispatch(kind->get_string(), v, version->get_int64(),
                  std::make_index_sequence<std::variant_size_v<Event>>{});
}

std::string encode_line(const Event& e) {
  return json::serialize(encode(e));
}

Result<Event> decode_line(std::string_view line) {
  // The parsed tree lives only while the event is built from it, so it goes into a stack buffer (spilling
  // to the heap for unusually large lines) instead of one heap allocation per JSON string, array and object.
  alignas(std::max_align_t) unsigned char buffer[8192];
  json::monotonic_resource arena(buffer, sizeof buffer);
  boost::system::error_code ec;
  const auto v = json::parse(line, ec, &arena);
  if (ec) return make_error(ErrorCode::corrupt, "event: not JSON: " + ec.message());
  return decode_event(v);
}

}  // namespace podid::core
