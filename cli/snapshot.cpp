#include "cli/snapshot.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "core/event_codec.hpp"
#include "core/model.hpp"
#include "core/state_codec.hpp"
#include "store/event_log.hpp"

namespace podid::cli {
namespace {

bool secret_key(std::string_view key) {
  static constexpr std::array<std::string_view, 7> kMarkers = {
      "token", "secret", "password", "assertion", "privatekey", "private_key", "credential"};
  const auto lower = core::to_lower(key);
  return std::any_of(kMarkers.begin(), kMarkers.end(),
                     [&](std::string_view m) { return lower.find(m) != std::string::npos; });
}

core::Error invalid(const std::string& why) {
  return core::make_error(core::ErrorCode::invalid, why);
}

// A non-negative integer member of `o`; nullopt when absent or of another type.
std::optional<std::uint64_t> uint_at(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (const auto* u = v->if_uint64()) return *u;
  if (const auto* i = v->if_int64(); i != nullptr && *i >= 0) return static_cast<std::uint64_t>(*i);
  return std::nullopt;
}

// One bundle event back into the record the exporting store held: the subjects are derived from the event
// (the bundle does not repeat them), the payload is its canonical line.
core::Result<store::EventRecord> bundle_event(const boost::json::value& item, std::size_t index) {
  const auto where = "bundle event " + std::to_string(index);
  const auto* o = item.if_object();
  const auto seq = o ? uint_at(*o, "seq") : std::nullopt;
  if (!seq || !o->contains("event")) return invalid(where + ": needs a seq and an event");
  auto event = core::decode_event(o->at("event"));
  if (!event) return invalid(where + " (#" + std::to_string(*seq) + "): " + event.error().message);
  auto record = store::to_record(*event);
  const auto* kind = o->if_contains("kind");
  if (kind != nullptr && !(kind->is_string() && kind->get_string() == record.kind))
    return invalid(where + " (#" + std::to_string(*seq) + "): its kind does not match its event");
  const auto* at = o->if_contains("atMs");
  if (at != nullptr && !(at->is_number() && at->to_number<std::int64_t>() == record.at_ms))
    return invalid(where + " (#" + std::to_string(*seq) + "): its atMs does not match its event");
  return store::EventRecord{*seq, record.at_ms, std::move(record.kind), std::move(record.subjects),
                            std::move(record.payload)};
}

}  // namespace

core::Result<boost::json::value> read_bundle(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error(core::ErrorCode::not_found, "cannot open " + path);
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  auto bundle = boost::json::parse(text.str(), ec);
  if (ec) return invalid(path + " is not a support bundle (not JSON, or cut short: " + ec.message() + ")");
  const auto* o = bundle.if_object();
  if (o == nullptr || !o->contains("state") || !o->contains("events") || !o->at("events").is_array())
    return invalid(path + " is not a support bundle (it needs a state and an array of events)");
  return bundle;
}

core::Result<store::ImportSet> import_set(const boost::json::value& bundle, const std::string& source) {
  const auto* o = bundle.if_object();
  if (o == nullptr || !o->contains("state") || !o->contains("events") || !o->at("events").is_array())
    return invalid(source + " is not a support bundle (it needs a state and an array of events)");
  const auto format = uint_at(*o, "format");
  if (format != 1u)
    return invalid(source + ": bundle format " + (format ? std::to_string(*format) : "missing") +
                   "; this podidctl reads format 1");
  auto state = core::decode_state(o->at("state"));
  if (!state) return invalid(source + ": bundle state: " + state.error().message);
  const auto last = uint_at(*o, "lastSeq");
  if (last && *last != state->last_seq)
    return invalid(source + ": lastSeq " + std::to_string(*last) + " is not the state's event " +
                   std::to_string(state->last_seq));
  store::ImportSet set;
  const auto& events = o->at("events").as_array();
  set.events.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto record = bundle_event(events[i], i);
    if (!record) return invalid(source + ": " + record.error().message);
    set.events.push_back(std::move(*record));
  }
  // The checkpoint is written as EventLog::checkpoint writes one, so the imported store reads like any.
  set.checkpoints.push_back(store::Checkpoint{state->last_seq, core::encode_state_text(*state)});
  const auto first = set.events.empty() ? state->last_seq + 1 : set.events.front().seq;
  const auto version = o->contains("podidVersion") && o->at("podidVersion").is_string()
                           ? std::string(o->at("podidVersion").get_string())
                           : std::string("unknown");
  set.cursors.push_back(store::Cursor{
      kImportCursor, "support bundle " + source + " exported by podid " + version + ": events " +
                         std::to_string(first) + ".." + std::to_string(state->last_seq) +
                         " and the state at " + std::to_string(state->last_seq)});
  return set;
}

void redact(boost::json::value& v) {
  if (auto* o = v.if_object()) {
    for (auto& kv : *o) {
      if (secret_key(kv.key()) && !kv.value().is_null() && !kv.value().is_object()) {
        kv.value() = "[redacted]";
      } else {
        redact(kv.value());
      }
    }
  } else if (auto* a = v.if_array()) {
    for (auto& item : *a) redact(item);
  }
}

core::Result<boost::json::value> make_bundle(const store::EventStore& store, std::size_t recent) {
  store::EventLog log(const_cast<store::EventStore&>(store));
  const auto rebuilt = PODID_TRY(log.rebuild());
  boost::json::object bundle;
  bundle["format"] = 1;
  bundle["podidVersion"] = PODID_VERSION;
  bundle["firstSeq"] = store.first_seq();
  bundle["lastSeq"] = store.last_seq();
  bundle["state"] = core::encode_state(rebuilt.state);
  boost::json::array events;
  const auto last = store.last_seq();
  const auto from = std::max<store::Seq>(store.first_seq(), last >= recent ? last - recent + 1 : 1);
  if (last >= from) {
    const auto records = PODID_TRY(store.read(from, static_cast<std::size_t>(last - from + 1)));
    for (const auto& r : records) {
      boost::json::object e;
      e["seq"] = r.seq;
      e["atMs"] = r.at_ms;
      e["kind"] = r.kind;
      boost::system::error_code ec;
      auto payload = boost::json::parse(r.payload, ec);
      e["event"] = ec ? boost::json::value(r.payload) : std::move(payload);
      events.push_back(std::move(e));
    }
  }
  bundle["events"] = std::move(events);
  boost::json::value out = std::move(bundle);
  redact(out);
  return out;
}

}  // namespace podid::cli
