#include "core/plan.hpp"

#include <algorithm>
#include <set>

namespace podid::core {
namespace {

void merge_causes(std::vector<Seq>& into, const std::vector<Seq>& from) {
  into.insert(into.end(), from.begin(), from.end());
}

void normalise(std::vector<Seq>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

bool matches_any(const std::vector<std::string>& list, const std::string& a, const std::string& b) {
  return std::any_of(list.begin(), list.end(), [&](const std::string& x) {
    return (!a.empty() && iequals(x, a)) || (!b.empty() && iequals(x, b));
  });
}

void wake(Plan& p, std::int64_t at, std::int64_t now) {
  if (at > now && (!p.wake_at_ms || at < *p.wake_at_ms)) p.wake_at_ms = at;
}

bool is_due(const Assignment& a, std::int64_t now) {
  return a.phase == Phase::created || (a.phase == Phase::retry_scheduled && a.not_before_ms <= now);
}

// Whether Azure reports `a`'s identity on the target as a different one than the AzureIdentity names, and it
// should be detached so that attaching it again picks up the identity now behind its resource ID. An
// identity deleted and re-created in Azure with the same name keeps its resource ID, but the VM or scale set
// still holds the old one: Azure reports it with null client and principal IDs (or, once the AzureIdentity
// has the new client ID, the old one), and tokens for it fail; attaching again alone does nothing, the ID
// is present. Only an Assigned identity we attached, as an Azure read reported it, nothing protected, and
// once per (target, resource ID, client ID) (TargetState::repaired).
bool recreated(const State& s, const ArmTarget& key, const TargetState& t, const Assignment& a) {
  if (a.phase != Phase::assigned || !t.ours.contains(a.resource_id) || t.unconfirmed.contains(a.resource_id))
    return false;
  const auto present = t.present.find(a.resource_id);
  if (present == t.present.end()) return false;
  const auto& azure = present->second;
  const bool nulled = azure.client_id.empty() || azure.principal_id.empty();
  if (!nulled && iequals(azure.client_id, a.client_id)) return false;
  if (t.repaired.contains({a.resource_id, a.client_id})) return false;
  return !is_protected(s, key, a.resource_id);
}

void plan_target(const State& s, const ArmTarget& key, const TargetState& t, std::int64_t now, Plan& p) {
  std::set<std::string> needed;
  std::set<std::string> add;
  std::set<std::string> repair;
  std::vector<Seq> causes;
  if (auto it = s.index.assignments_by_target.find(key); it != s.index.assignments_by_target.end()) {
    for (const auto& ak : it->second) {
      const auto& a = s.assignments.at(ak);
      if (a.type != IdentityType::user_assigned_msi) continue;
      if (a.phase == Phase::unassigned || a.phase == Phase::quarantined) continue;
      needed.insert(a.resource_id);
      if (recreated(s, key, t, a)) {
        repair.insert(a.resource_id);
        merge_causes(causes, a.caused_by);
      }
      if (a.phase == Phase::retry_scheduled) wake(p, a.not_before_ms, now);
      if (!is_due(a, now) || t.present.contains(a.resource_id)) continue;
      add.insert(a.resource_id);
      merge_causes(causes, a.caused_by);
    }
  }
  std::vector<std::string> remove(repair.begin(), repair.end());
  for (const auto& rid : t.ours) {
    if (needed.contains(rid) || (t.observed && !t.present.contains(rid))) continue;
    if (is_protected(s, key, rid)) continue;
    remove.push_back(rid);
  }
  if (add.empty() && remove.empty()) return;
  if (!t.in_flight.empty()) return;
  if (t.not_before_ms > now) {
    wake(p, t.not_before_ms, now);
    return;
  }
  if (!remove.empty()) causes.push_back(t.last_seq);
  normalise(causes);
  // Adds first, then removes; each request carries at most kMaxIdentitiesPerRequest identities.
  std::vector<std::pair<bool, std::string>> all;
  all.reserve(add.size() + remove.size());
  for (const auto& rid : add) all.emplace_back(true, rid);
  for (const auto& rid : remove) all.emplace_back(false, rid);
  const std::size_t parts = (all.size() + kMaxIdentitiesPerRequest - 1) / kMaxIdentitiesPerRequest;
  for (std::size_t part = 0; part < parts; ++part) {
    IdentityChange c{key, {}, {}, causes, part, parts};
    const auto end = std::min(all.size(), (part + 1) * kMaxIdentitiesPerRequest);
    for (std::size_t i = part * kMaxIdentitiesPerRequest; i < end; ++i)
      (all[i].first ? c.add : c.remove).push_back(all[i].second);
    p.identity_changes.push_back(std::move(c));
  }
}

AssignedIdentity desired_aai(const State& s, const Assignment& a, const AssignedIdentity* existing) {
  AssignedIdentity want{a.aai,      a.pod,
                        a.identity, a.binding,
                        a.node,     std::string(to_string(a.phase)),
                        a.reason,   existing != nullptr ? existing->resource_version : std::string{}};
  // The writer embeds the identity as the state holds it (watch::identity_snapshot), so that is the copy.
  if (const auto id = s.identities.find(a.identity); id != s.identities.end())
    want.identity_copy = IdentityCopy{id->second.raw_type, id->second.client_id, id->second.resource_id};
  return want;
}

// Whether the AAI's embedded identity differs from the identity now. An unknown copy (an object whose
// reference has no spec, or an observation logged before AssignedIdentityObserved v2) counts as different:
// skipping it instead would leave AAIs written before an identity edit stale for good. It costs one update
// per such AAI, once: the update's AssignedIdentityWritten carries the copy as stored, and the ingest
// records every later observation with its copy. Nothing to compare when the identity itself is gone.
bool identity_copy_stale(const AssignedIdentity& existing, const AssignedIdentity& want) {
  return want.identity_copy.has_value() && existing.identity_copy != want.identity_copy;
}

void report_status(const Assignment& a, Plan& p) {
  const auto subject = "pod/" + a.pod.to_string();
  if (a.phase == Phase::assigned) {
    p.reports.push_back(
        {false, "binding applied",
         "Binding " + a.binding.name + " applied on node " + a.node + " for pod " + a.aai.name, subject,
         a.caused_by});
  } else if (a.phase == Phase::quarantined) {
    p.reports.push_back({true, "binding apply error",
                         "Identity " + a.identity.to_string() + " quarantined: " + a.reason, subject,
                         a.caused_by});
  }
}

void plan_assigned(const State& s, Plan& p) {
  for (const auto& [key, a] : s.assignments) {
    const auto it = s.assigned.find(a.aai);
    const AssignedIdentity* existing = it == s.assigned.end() ? nullptr : &it->second;
    if (a.phase == Phase::unassigned) {
      if (existing != nullptr) {
        p.aai_writes.push_back({AaiWriteKind::remove, *existing, a.caused_by});
        p.reports.push_back(
            {false, "binding removed",
             "Binding " + a.binding.name + " removed from node " + a.node + " for pod " + a.aai.name,
             "pod/" + a.pod.to_string(), a.caused_by});
      }
      continue;
    }
    const auto want = desired_aai(s, a, existing);
    if (existing == nullptr) {
      p.aai_writes.push_back({AaiWriteKind::create, want, a.caused_by});
      report_status(a, p);
    } else if (existing->pod != want.pod || existing->identity != want.identity ||
               existing->binding != want.binding || existing->node != want.node) {
      p.aai_writes.push_back({AaiWriteKind::update, want, a.caused_by});
      report_status(a, p);
    } else if (identity_copy_stale(*existing, want)) {
      // The binding is what it was, so no "binding applied" again (one per AAI on upgrade would be noise);
      // the update also writes the status, so a status change rides along.
      p.aai_writes.push_back({AaiWriteKind::update, want, a.caused_by});
      if (existing->status != want.status || existing->reason != want.reason) report_status(a, p);
    } else if (existing->status != want.status || existing->reason != want.reason) {
      p.aai_writes.push_back({AaiWriteKind::status, want, a.caused_by});
      report_status(a, p);
    }
  }
  // AzureAssignedIdentities that no assignment accounts for (left by an older controller, or stale).
  for (const auto& [key, aai] : s.assigned)
    if (!s.index.assignment_by_aai.contains(key)) p.aai_writes.push_back({AaiWriteKind::remove, aai, {}});
}

}  // namespace

bool is_protected(const State& s, const ArmTarget& target, const std::string& resource_id) {
  const auto& immutable = s.settings.immutable_identities;
  const auto& cluster = s.settings.cluster_identities;
  std::string client_id;
  if (const auto t = s.targets.find(target); t != s.targets.end())
    if (const auto id = t->second.present.find(resource_id); id != t->second.present.end())
      client_id = id->second.client_id;
  if (matches_any(immutable, resource_id, client_id) || matches_any(cluster, resource_id, client_id))
    return true;
  for (const auto& [key, id] : s.identities)
    if (iequals(id.resource_id, resource_id) &&
        (matches_any(immutable, {}, id.client_id) || matches_any(cluster, {}, id.client_id)))
      return true;
  return false;
}

Plan plan(const State& s, std::int64_t now_ms) {
  Plan p;
  if (s.settings.mode == Mode::managed) return p;
  for (const auto& [key, t] : s.targets) plan_target(s, key, t, now_ms, p);
  // Targets that only assignments know about (never observed, nothing attached yet).
  for (const auto& [key, set] : s.index.assignments_by_target)
    if (!s.targets.contains(key)) plan_target(s, key, TargetState{}, now_ms, p);
  plan_assigned(s, p);
  return p;
}

}  // namespace podid::core
