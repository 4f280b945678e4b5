#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/event_codec.hpp"
#include "core/plan.hpp"
#include "core/projection.hpp"
#include "core/state_codec.hpp"

using namespace podid::core;
namespace json = boost::json;

namespace {

std::string golden_dir() {
  const char* root = std::getenv("PODID_SOURCE_DIR");
  return std::string(root != nullptr ? root : ".") + "/tests/golden/";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string_view kind_name(AaiWriteKind k) {
  switch (k) {
    case AaiWriteKind::create:
      return "create";
    case AaiWriteKind::update:
      return "update";
    case AaiWriteKind::status:
      return "status";
    case AaiWriteKind::remove:
      return "remove";
  }
  return "?";
}

json::object summarise(const State& s, const Plan& p, std::int64_t now) {
  json::array assignments;
  for (const auto& [k, a] : s.assignments)
    assignments.push_back(json::object{
        {"pod", a.pod.to_string()}, {"identity", a.identity.to_string()}, {"phase", to_string(a.phase)}});
  json::object ours;
  for (const auto& [t, ts] : s.targets) {
    if (ts.ours.empty()) continue;
    json::array ids;
    for (const auto& rid : ts.ours) ids.emplace_back(rid);
    ours[t.to_string()] = std::move(ids);
  }
  json::array changes;
  for (const auto& c : p.identity_changes) {
    json::array add, remove;
    for (const auto& r : c.add) add.emplace_back(r);
    for (const auto& r : c.remove) remove.emplace_back(r);
    changes.push_back(json::object{{"target", c.target.to_string()}, {"add", add}, {"remove", remove}});
  }
  json::array writes;
  for (const auto& w : p.aai_writes) {
    json::object o{{"kind", kind_name(w.kind)},
                   {"pod", w.assigned.pod.to_string()},
                   {"identity", w.assigned.identity.to_string()},
                   {"status", w.assigned.status}};
    // The client ID of the embedded identity copy the write carries (what NMI reads from the AAI).
    if (w.assigned.identity_copy) o["clientID"] = w.assigned.identity_copy->client_id;
    writes.push_back(std::move(o));
  }
  json::value wake = nullptr;
  if (p.wake_at_ms) wake = *p.wake_at_ms;
  return json::object{{"nowMs", now}, {"wakeAtMs", wake},           {"assignments", assignments},
                      {"ours", ours}, {"identityChanges", changes}, {"aaiWrites", writes}};
}

}  // namespace

TEST_CASE("Golden event logs replay to their expected projection and plan", "[unit]") {
  auto name = GENERATE(as<std::string>{}, "vm_assign", "vmss_shared", "quarantine_throttle", "aai_upgrade",
                       "identity_edit");
  CAPTURE(name);
  const auto expected = json::parse(read_file(golden_dir() + name + ".expected.json")).as_object();
  std::istringstream lines(read_file(golden_dir() + name + ".events.jsonl"));
  std::vector<Event> events;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    auto e = decode_line(line);
    INFO(line);
    REQUIRE(e.has_value());
    events.push_back(std::move(*e));
  }
  State s;
  replay(s, events);
  const auto now = expected.at("nowMs").as_int64();
  const auto actual = summarise(s, plan(s, now), now);
  INFO(json::serialize(actual));
  CHECK(actual == expected);

  // A checkpoint of the final state plans the same; its text, written element by element, is the tree's.
  CHECK(encode_state_text(s) == json::serialize(encode_state(s)));
  auto restored = decode_state(encode_state(s));
  REQUIRE(restored.has_value());
  CHECK(summarise(*restored, plan(*restored, now), now) == expected);
}
