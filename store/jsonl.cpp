#include "store/jsonl.hpp"

#include <algorithm>
#include <boost/json.hpp>

namespace podid::store {

namespace json = boost::json;

std::string to_jsonl(const EventRecord& e) {
  json::object o;
  o["seq"] = e.seq;
  o["at"] = e.at_ms;
  o["kind"] = e.kind;
  json::array subjects;
  for (const auto& s : e.subjects) subjects.emplace_back(s);
  o["subjects"] = std::move(subjects);
  boost::system::error_code ec;
  json::value payload = json::parse(e.payload, ec);
  if (ec) {
    o["payloadText"] = e.payload;
  } else {
    o["payload"] = std::move(payload);
  }
  return json::serialize(o);
}

core::Result<EventRecord> from_jsonl(std::string_view line) {
  auto fail = [](std::string why) {
    return core::make_error(core::ErrorCode::invalid, "event line: " + std::move(why));
  };
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec) return fail(ec.message());
  const auto* o = v.if_object();
  if (o == nullptr) return fail("not an object");
  EventRecord out;
  const auto* seq = o->if_contains("seq");
  const auto* at = o->if_contains("at");
  const auto* kind = o->if_contains("kind");
  const auto* subjects = o->if_contains("subjects");
  if (seq == nullptr || !seq->is_number()) return fail("missing seq");
  if (at == nullptr || !at->is_number()) return fail("missing at");
  if (kind == nullptr || !kind->is_string()) return fail("missing kind");
  if (subjects == nullptr || !subjects->is_array()) return fail("missing subjects");
  auto seq_v = seq->to_number<std::uint64_t>(ec);
  if (ec) return fail("bad seq");
  out.seq = seq_v;
  auto at_v = at->to_number<std::int64_t>(ec);
  if (ec) return fail("bad at");
  out.at_ms = at_v;
  out.kind = std::string(kind->get_string());
  for (const auto& s : subjects->get_array()) {
    if (!s.is_string()) return fail("subject is not a string");
    out.subjects.emplace_back(s.get_string());
  }
  if (const auto* p = o->if_contains("payload")) {
    out.payload = json::serialize(*p);
  } else if (const auto* t = o->if_contains("payloadText"); t != nullptr && t->is_string()) {
    out.payload = std::string(t->get_string());
  } else {
    return fail("missing payload");
  }
  return out;
}

core::Status write_jsonl(const EventStore& s, Seq from, Seq to, std::ostream& out) {
  if (from == 0) from = s.first_seq();
  to = std::min(to, s.last_seq());
  while (from <= to) {
    auto limit = static_cast<std::size_t>(std::min<Seq>(kExportChunk, to - from + 1));
    auto events = PODID_TRY(s.read(from, limit));
    if (events.empty()) break;
    for (const auto& e : events) out << to_jsonl(e) << '\n';
    from = events.back().seq + 1;
  }
  out.flush();
  if (!out) return core::make_error(core::ErrorCode::io, "writing exported events failed");
  return core::ok();
}

}  // namespace podid::store
