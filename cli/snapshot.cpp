#include "cli/snapshot.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <string>

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

}  // namespace

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
