// Properties of the projection and the planner over random, well-formed event logs (event_generator.hpp).
// Every failure names its seed; rerun it alone with PODID_PROPERTY_SEED=<seed> PODID_PROPERTY_CASES=1.

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include "core/event_codec.hpp"
#include "core/matching.hpp"
#include "core/plan.hpp"
#include "core/projection.hpp"
#include "core/state_codec.hpp"
#include "store/checkpoint_codec.hpp"
#include "tests/unit/property/event_generator.hpp"
#include "tests/unit/property/property_support.hpp"

namespace podid::property {
namespace {

using namespace podid::core;

constexpr std::size_t kCases = 300;

std::size_t length_for(std::uint64_t seed) {
  Rng rng(seed ^ 0xabcdefULL);
  return 20 + rng.below(380);
}

State full_replay(const std::vector<Event>& events, std::size_t count) {
  State s;
  for (std::size_t i = 0; i < count; ++i) (void)apply(s, events[i], i + 1);
  return s;
}

// The checkpoint's text as the store writes it (encode_state_text), which must be the tree's serialization.
State through_checkpoint(const State& s) {
  const auto text = encode_state_text(s);
  REQUIRE(text == boost::json::serialize(encode_state(s)));
  // As the event log stores it: compressed while written in pieces, then read back.
  const auto stored = store::encode_checkpoint(s);
  REQUIRE(stored.has_value());
  const auto back = store::checkpoint_text(*stored);
  REQUIRE(back.has_value());
  REQUIRE(*back == text);
  auto decoded = decode_state(boost::json::parse(*back));
  REQUIRE(decoded.has_value());
  return std::move(decoded).value();
}

void require_same(const State& got, const State& want) {
  const auto diff = describe_difference(got, want);
  if (!diff.empty()) FAIL(diff);
}

bool listed(const std::vector<std::string>& list, const std::string& a, const std::string& b) {
  for (const auto& x : list)
    if ((!a.empty() && iequals(x, a)) || (!b.empty() && iequals(x, b))) return true;
  return false;
}

// The safety rules of a detach, checked from first principles (the matching rules and the raw state)
// rather than through the planner's own helpers.
// The one needed identity that may be detached: one re-created in Azure (core/plan.cpp), as an Azure read
// reported it (null IDs, or a client ID other than an Assigned assignment's) and not repaired yet.
bool repairs_recreated(const State& s, const ArmTarget& target, const TargetState& t,
                       const std::string& rid) {
  const auto present = t.present.find(rid);
  const auto keys = s.index.assignments_by_target.find(target);
  if (t.unconfirmed.contains(rid) || present == t.present.end() ||
      keys == s.index.assignments_by_target.end())
    return false;
  const auto& azure = present->second;
  for (const auto& key : keys->second) {
    const auto& a = s.assignments.at(key);
    if (a.type != IdentityType::user_assigned_msi || a.phase != Phase::assigned || a.resource_id != rid)
      continue;
    const bool stale =
        azure.client_id.empty() || azure.principal_id.empty() || !iequals(azure.client_id, a.client_id);
    if (stale && !t.repaired.contains({rid, a.client_id})) return true;
  }
  return false;
}

void require_safe_detaches(const State& s, const Plan& p) {
  const auto& immutable = s.settings.immutable_identities;
  const auto& cluster = s.settings.cluster_identities;
  for (const auto& change : p.identity_changes) {
    const auto t = s.targets.find(change.target);
    for (const auto& rid : change.remove) {
      INFO("detach of " << rid << " from " << change.target.to_string());
      REQUIRE(t != s.targets.end());
      REQUIRE(t->second.ours.contains(rid));  // only what we attached
      REQUIRE(t->second.in_flight.empty());
      const auto present = t->second.present.find(rid);
      const std::string client = present == t->second.present.end() ? "" : present->second.client_id;
      REQUIRE_FALSE(listed(immutable, rid, client));
      REQUIRE_FALSE(listed(cluster, rid, client));
      for (const auto& [ik, id] : s.identities) {
        if (!iequals(id.resource_id, rid)) continue;
        REQUIRE_FALSE(listed(immutable, {}, id.client_id));
        REQUIRE_FALSE(listed(cluster, {}, id.client_id));
      }
      if (repairs_recreated(s, change.target, t->second, rid)) continue;
      for (const auto& [pk, pod] : s.pods) {
        const auto node = s.nodes.find(pod.node);
        if (node == s.nodes.end() || !node->second.vm || target_of(*node->second.vm) != change.target)
          continue;
        for (const auto& d : desired_for_pod(s, pk)) {
          const auto& id = s.identities.at(d.identity);
          INFO("pod " << pk.to_string() << " desires " << d.identity.to_string() << " (type " << id.raw_type
                      << ", " << id.resource_id << ")");
          REQUIRE_FALSE((id.type == IdentityType::user_assigned_msi && iequals(id.resource_id, rid)));
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("Applying events one by one, with duplicates and through the codec, equals a full replay",
          "[unit][property]") {
  const auto cfg = run_config(kCases);
  for (std::size_t c = 0; c < cfg.cases; ++c) {
    const auto seed = cfg.seed + c;
    INFO("seed " << seed);
    const auto log = EventGenerator(seed).generate(length_for(seed));
    const State full = full_replay(log.events, log.events.size());
    Rng rng(seed);
    State inc;
    for (std::size_t i = 0; i < log.events.size(); ++i) {
      const auto decoded = decode_line(encode_line(log.events[i]));
      REQUIRE(decoded.has_value());
      REQUIRE(decoded.value() == log.events[i]);
      REQUIRE(apply(inc, decoded.value(), i + 1));
      if (i > 0 && rng.chance(10)) {  // a redelivered older event is ignored
        const auto old = rng.below(i + 1);
        REQUIRE_FALSE(apply(inc, log.events[old], old + 1));
      }
      if (rng.chance(5)) {  // the incrementally kept indexes equal ones rebuilt from the data
        State rebuilt = inc;
        rebuild_indexes(rebuilt);
        INFO("after event " << i + 1);
        REQUIRE(rebuilt.index == inc.index);
      }
    }
    require_same(inc, full);
  }
}

TEST_CASE("A checkpoint at any cut plus the tail equals a full replay", "[unit][property]") {
  const auto cfg = run_config(kCases);
  for (std::size_t c = 0; c < cfg.cases; ++c) {
    const auto seed = cfg.seed + c;
    INFO("seed " << seed);
    const auto log = EventGenerator(seed).generate(length_for(seed));
    const State full = full_replay(log.events, log.events.size());
    Rng rng(seed);
    const auto cut = rng.below(log.events.size() + 1);
    INFO("checkpoint after event " << cut);
    const State head = full_replay(log.events, cut);
    State restored = through_checkpoint(head);
    require_same(restored, head);
    for (std::size_t i = cut; i < log.events.size(); ++i) (void)apply(restored, log.events[i], i + 1);
    require_same(restored, full);
  }
}

TEST_CASE("The plan is deterministic and never detaches what a pod on the target still needs",
          "[unit][property]") {
  const auto cfg = run_config(kCases);
  std::size_t detaches = 0;
  std::size_t repairs = 0;  // of identities re-created in Azure
  std::size_t plans = 0;
  for (std::size_t c = 0; c < cfg.cases; ++c) {
    const auto seed = cfg.seed + c;
    INFO("seed " << seed);
    const auto log = EventGenerator(seed).generate(length_for(seed));
    Rng rng(seed);
    State s;
    std::size_t applied = 0;
    for (const auto& [count, now] : log.plan_points) {
      for (; applied < count; ++applied) (void)apply(s, log.events[applied], applied + 1);
      INFO("plan after event " << count << " at " << now);
      const Plan p = plan(s, now);
      REQUIRE(plan(s, now) == p);
      if (rng.chance(25)) REQUIRE(plan(through_checkpoint(s), now) == p);  // also after a restart
      require_safe_detaches(s, p);
      for (const auto& change : p.identity_changes) {
        REQUIRE(change.add.size() + change.remove.size() <= kMaxIdentitiesPerRequest);
        detaches += change.remove.size();
        for (const auto& rid : change.remove)
          repairs += repairs_recreated(s, change.target, s.targets.at(change.target), rid) ? 1U : 0U;
      }
      ++plans;
    }
  }
  // The generator must actually reach the interesting paths, or the property is vacuous.
  if (cfg.cases >= kCases) {
    CHECK(plans > cfg.cases);
    CHECK(detaches > 0);
    CHECK(repairs > 0);
  }
}

TEST_CASE("Recording a planned AzureAssignedIdentity write settles it: no rewrite is planned again",
          "[unit][property]") {
  // Loop freedom of the identity copy: what the planner wants written is what it then finds written.
  const auto cfg = run_config(kCases);
  std::size_t settled = 0;
  for (std::size_t c = 0; c < cfg.cases; ++c) {
    const auto seed = cfg.seed + c;
    INFO("seed " << seed);
    const auto log = EventGenerator(seed).generate(length_for(seed));
    State s;
    std::size_t applied = 0;
    for (const auto& [count, now] : log.plan_points) {
      for (; applied < count; ++applied) (void)apply(s, log.events[applied], applied + 1);
      for (const auto& w : plan(s, now).aai_writes) {
        if (w.kind != AaiWriteKind::create && w.kind != AaiWriteKind::update) continue;
        State after = s;
        auto written = w.assigned;
        written.resource_version = "written";
        (void)apply(
            after,
            Event{AssignedIdentityWritten{.at_ms = now, .action = WriteAction::updated, .assigned = written}},
            after.last_seq + 1);
        for (const auto& again : plan(after, now).aai_writes) {
          INFO("AAI " << again.assigned.key.to_string());
          REQUIRE_FALSE((again.assigned.key == w.assigned.key &&
                         (again.kind == AaiWriteKind::create || again.kind == AaiWriteKind::update)));
        }
        ++settled;
      }
    }
  }
  if (cfg.cases >= kCases) CHECK(settled > 0);
}

}  // namespace podid::property
