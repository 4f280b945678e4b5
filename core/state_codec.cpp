#include "core/state_codec.hpp"

#include <boost/json.hpp>

#include "core/model_codec.hpp"

namespace podid::core {
namespace json = boost::json;
using codec::key_json;
using codec::read_key;
using codec::to_json;

namespace {

template <class Map>
json::array values_json(const Map& m) {
  json::array a;
  for (const auto& [k, v] : m) a.push_back(to_json(v));
  return a;
}

json::value assignment_json(const Assignment& a) {
  json::object o{{"pod", key_json(a.pod)},
                 {"identity", key_json(a.identity)},
                 {"binding", key_json(a.binding)},
                 {"aai", key_json(a.aai)},
                 {"node", a.node},
                 {"type", static_cast<int>(a.type)},
                 {"resourceID", a.resource_id},
                 {"clientID", a.client_id},
                 {"identityVersion", a.identity_version},
                 {"phase", to_string(a.phase)},
                 {"reason", a.reason},
                 {"notBeforeMs", a.not_before_ms},
                 {"attempts", a.attempts},
                 {"causedBy", to_json(a.caused_by)}};
  if (a.target) o["target"] = a.target->to_string();
  return o;
}

Assignment read_assignment(JsonReader& r) {
  Assignment a;
  a.pod = read_key<PodKey>(r, "pod");
  a.identity = read_key<IdentityKey>(r, "identity");
  a.binding = read_key<BindingKey>(r, "binding");
  a.aai = read_key<AssignedKey>(r, "aai");
  a.node = r.opt_str("node");
  if (r.has("target")) a.target = codec::read_target(r, "target");
  const auto type = r.i64("type");
  a.type = type == -1 ? IdentityType::unknown : identity_type_from(type);
  a.resource_id = r.opt_str("resourceID");
  a.client_id = r.opt_str("clientID");
  a.identity_version = r.opt_str("identityVersion");
  const auto phase = parse_phase(r.str("phase"));
  if (!phase && r.ok()) r.fail("phase", "unknown phase");
  a.phase = phase.value_or(Phase::created);
  a.reason = r.opt_str("reason");
  a.not_before_ms = r.opt_i64("notBeforeMs");
  a.attempts = static_cast<int>(r.opt_i64("attempts"));
  a.caused_by = codec::read_seqs(r, "causedBy");
  return a;
}

json::value target_json(const ArmTarget& key, const TargetState& t) {
  json::array present;
  for (const auto& [rid, id] : t.present) present.push_back(to_json(id));
  json::array ours;
  for (const auto& rid : t.ours) ours.emplace_back(rid);
  json::object o{{"target", key.to_string()}, {"observed", t.observed},  {"present", std::move(present)},
                 {"ours", std::move(ours)},   {"inFlight", t.in_flight}, {"notBeforeMs", t.not_before_ms},
                 {"failures", t.failures},    {"lastSeq", t.last_seq}};
  // Both absent from checkpoints written before recreated identities were repaired by the planner.
  if (!t.unconfirmed.empty()) {
    json::array unconfirmed;
    for (const auto& rid : t.unconfirmed) unconfirmed.emplace_back(rid);
    o["unconfirmed"] = std::move(unconfirmed);
  }
  if (!t.repaired.empty()) {
    json::array repaired;
    for (const auto& [rid, client] : t.repaired)
      repaired.push_back(json::object{{"resourceID", rid}, {"clientID", client}});
    o["repaired"] = std::move(repaired);
  }
  return o;
}

void read_target_state(JsonReader& r, State& s) {
  const auto key = codec::read_target(r, "target");
  TargetState t;
  t.observed = r.opt_bool("observed");
  for (auto& item : r.items("present")) {
    VmIdentity id;
    codec::read(item, id);
    t.present[to_lower(id.resource_id)] = std::move(id);
  }
  for (auto& rid : r.strings("ours")) t.ours.insert(std::move(rid));
  for (auto& rid : r.strings("unconfirmed")) t.unconfirmed.insert(std::move(rid));
  for (auto& item : r.items("repaired")) t.repaired.emplace(item.str("resourceID"), item.opt_str("clientID"));
  t.in_flight = r.opt_str("inFlight");
  t.not_before_ms = r.opt_i64("notBeforeMs");
  t.failures = static_cast<int>(r.opt_i64("failures"));
  t.last_seq = static_cast<Seq>(r.opt_i64("lastSeq"));
  s.targets[key] = std::move(t);
}

json::value operation_json(const Operation& op) {
  return json::object{{"id", op.id},
                      {"target", op.target.to_string()},
                      {"add", to_json(op.add)},
                      {"remove", to_json(op.remove)},
                      {"causedBy", to_json(op.caused_by)},
                      {"startedMs", op.started_ms}};
}

// Reads an array of objects into a map keyed by key_of(value).
template <class T, class Map, class KeyOf>
void read_all(JsonReader& r, std::string_view field, Map& out, KeyOf key_of) {
  for (auto& item : r.items(field)) {
    T v{};
    codec::read(item, v);
    auto key = key_of(v);
    out.emplace(std::move(key), std::move(v));
  }
}

}  // namespace

json::value encode_state(const State& s) {
  json::array targets;
  for (const auto& [k, t] : s.targets) targets.push_back(target_json(k, t));
  json::array ops;
  for (const auto& [id, op] : s.operations) ops.push_back(operation_json(op));
  json::array assignments;
  for (const auto& [k, a] : s.assignments) assignments.push_back(assignment_json(a));
  json::object migrations;
  for (const auto& [id, n] : s.migrations) migrations[id] = n;
  return json::object{{"format", kStateFormat},
                      {"lastSeq", s.last_seq},
                      {"lastAtMs", s.last_at_ms},
                      {"settings", to_json(s.settings)},
                      {"pods", values_json(s.pods)},
                      {"identities", values_json(s.identities)},
                      {"bindings", values_json(s.bindings)},
                      {"exceptions", values_json(s.exceptions)},
                      {"nodes", values_json(s.nodes)},
                      {"assigned", values_json(s.assigned)},
                      {"targets", std::move(targets)},
                      {"operations", std::move(ops)},
                      {"assignments", std::move(assignments)},
                      {"migrations", std::move(migrations)}};
}

namespace {

// The document's text, handed on to a sink whenever a piece of `chunk` bytes is complete.
class TextWriter {
 public:
  TextWriter(const std::function<void(std::string_view)>& sink, std::size_t chunk)
      : sink_(&sink), chunk_(chunk) {
    out_.reserve(chunk_ + (chunk_ >> 2U));
  }
  TextWriter(const TextWriter&) = delete;
  TextWriter& operator=(const TextWriter&) = delete;

  void append(std::string_view text) {
    out_ += text;
    if (out_.size() >= chunk_) flush();
  }
  // "<key>": the first key follows the opening brace, every other one a comma; keys are fixed ASCII
  // names, nothing to escape.
  void key(std::string_view key) {
    out_ += first_key_ ? "\"" : ",\"";
    first_key_ = false;
    out_ += key;
    out_ += "\":";
  }
  // "<key>":[...] with one element serialized at a time, so only that element's DOM exists at once.
  template <class Map, class ToJson>
  void array(std::string_view name, const Map& m, ToJson to) {
    key(name);
    out_ += '[';
    bool first = true;
    for (const auto& [k, v] : m) {
      if (!first) out_ += ',';
      first = false;
      append(json::serialize(to(k, v)));
    }
    out_ += ']';
  }
  void flush() {
    if (out_.empty()) return;
    (*sink_)(out_);
    out_.clear();
  }

 private:
  const std::function<void(std::string_view)>* sink_;
  std::size_t chunk_;
  std::string out_;
  bool first_key_{true};
};

}  // namespace

void encode_state_text(const State& s, const std::function<void(std::string_view)>& sink, std::size_t chunk) {
  const auto value = [](const auto&, const auto& v) { return to_json(v); };
  TextWriter w(sink, chunk == 0 ? 1 : chunk);
  w.append("{");
  w.key("format");
  w.append(std::to_string(kStateFormat));
  w.key("lastSeq");
  w.append(std::to_string(s.last_seq));
  w.key("lastAtMs");
  w.append(std::to_string(s.last_at_ms));
  w.key("settings");
  w.append(json::serialize(to_json(s.settings)));
  w.array("pods", s.pods, value);
  w.array("identities", s.identities, value);
  w.array("bindings", s.bindings, value);
  w.array("exceptions", s.exceptions, value);
  w.array("nodes", s.nodes, value);
  w.array("assigned", s.assigned, value);
  w.array("targets", s.targets, [](const auto& k, const auto& t) { return target_json(k, t); });
  w.array("operations", s.operations, [](const auto&, const auto& op) { return operation_json(op); });
  w.array("assignments", s.assignments, [](const auto&, const auto& a) { return assignment_json(a); });
  w.key("migrations");
  json::object migrations;
  for (const auto& [id, n] : s.migrations) migrations[id] = n;
  w.append(json::serialize(migrations));
  w.append("}");
  w.flush();
}

std::string encode_state_text(const State& s) {
  std::string out;
  encode_state_text(s, [&out](std::string_view piece) { out += piece; });
  return out;
}

Result<State> decode_state(const json::value& v) {
  JsonReader r(v, "checkpoint", ErrorCode::corrupt);
  const auto format = r.i64("format");
  if (r.ok() && (format < 1 || format > kStateFormat))
    return make_error(ErrorCode::corrupt, "checkpoint: unsupported format " + std::to_string(format));
  State s;
  s.last_seq = r.u64("lastSeq");
  s.last_at_ms = r.opt_i64("lastAtMs");
  s.settings = codec::read_child<Settings>(r, "settings");
  read_all<Pod>(r, "pods", s.pods, [](const Pod& p) { return p.key; });
  read_all<AzureIdentity>(r, "identities", s.identities, [](const AzureIdentity& x) { return x.key; });
  read_all<AzureIdentityBinding>(r, "bindings", s.bindings,
                                 [](const AzureIdentityBinding& x) { return x.key; });
  read_all<AzurePodIdentityException>(r, "exceptions", s.exceptions,
                                      [](const AzurePodIdentityException& x) { return x.key; });
  read_all<Node>(r, "nodes", s.nodes, [](const Node& x) { return x.name; });
  read_all<AssignedIdentity>(r, "assigned", s.assigned, [](const AssignedIdentity& x) { return x.key; });
  for (auto& item : r.items("targets")) read_target_state(item, s);
  for (auto& item : r.items("operations")) {
    Operation op;
    op.id = item.str("id");
    op.target = codec::read_target(item, "target");
    op.add = item.strings("add");
    op.remove = item.strings("remove");
    op.caused_by = codec::read_seqs(item, "causedBy");
    op.started_ms = item.opt_i64("startedMs");
    s.operations[op.id] = std::move(op);
  }
  for (auto& item : r.items("assignments")) {
    auto a = read_assignment(item);
    s.assignments[AssignmentKey{a.pod, a.identity}] = std::move(a);
  }
  if (const auto* m = r.find("migrations"); m != nullptr && m->is_object()) {
    auto mr = r.child("migrations");
    for (const auto& kv : m->get_object()) s.migrations[std::string(kv.key())] = mr.i64(kv.key());
  }
  PODID_TRY(r.status());
  rebuild_indexes(s);
  return s;
}

}  // namespace podid::core
