#include "core/assignments.hpp"

#include <algorithm>
#include <set>

#include "core/matching.hpp"

namespace podid::core::detail {
namespace {

void add_cause(Assignment& a, Seq seq) {
  if (!a.caused_by.empty() && a.caused_by.back() == seq) return;
  a.caused_by.push_back(seq);
  if (a.caused_by.size() > kMaxCauses) a.caused_by.erase(a.caused_by.begin());
}

// Why a desired assignment cannot be applied at all, or empty.
std::string quarantine_reason(const State& s, const AzureIdentity& id, const Pod& pod) {
  if (id.type == IdentityType::unknown) return "unsupported identity type " + std::to_string(id.raw_type);
  if (id.type != IdentityType::user_assigned_msi) return {};
  if (!is_valid_identity_resource_id(id.resource_id))
    return "invalid resource ID \"" + id.resource_id + "\" for a user-assigned identity";
  const auto node = s.nodes.find(pod.node);
  if (node != s.nodes.end() && !node->second.vm)
    return "node " + pod.node + " has no Azure VM providerID (\"" + node->second.provider_id + "\")";
  return {};
}

// The assignment as the current objects describe it, before any phase is decided.
Assignment describe(const State& s, const Pod& pod, const AzureIdentity& id, const BindingKey& binding) {
  Assignment a;
  a.pod = pod.key;
  a.identity = id.key;
  a.binding = binding;
  a.aai = {is_namespaced(s.settings, id) ? id.key.ns : "default", assigned_identity_name(pod.key, id.key)};
  a.node = pod.node;
  if (const auto node = s.nodes.find(pod.node); node != s.nodes.end() && node->second.vm)
    a.target = target_of(*node->second.vm);
  a.type = id.type;
  a.resource_id = id.type == IdentityType::user_assigned_msi ? to_lower(id.resource_id) : std::string{};
  a.client_id = id.client_id;
  a.identity_version = id.resource_version;
  return a;
}

bool same_description(const Assignment& a, const Assignment& b) {
  return a.binding == b.binding && a.aai == b.aai && a.node == b.node && a.target == b.target &&
         a.type == b.type && a.resource_id == b.resource_id && a.client_id == b.client_id;
}

void index_out(State& s, const AssignmentKey& key, const Assignment& a) {
  if (a.target) {
    auto it = s.index.assignments_by_target.find(*a.target);
    if (it != s.index.assignments_by_target.end()) {
      it->second.erase(key);
      if (it->second.empty()) s.index.assignments_by_target.erase(it);
    }
  }
  if (auto it = s.index.assignment_by_aai.find(a.aai);
      it != s.index.assignment_by_aai.end() && it->second == key)
    s.index.assignment_by_aai.erase(it);
}

void index_in(State& s, const AssignmentKey& key, const Assignment& a) {
  if (a.target) s.index.assignments_by_target[*a.target].insert(key);
  s.index.assignment_by_aai[a.aai] = key;
}

void retire(State& s, const AssignmentKey& key, Seq seq) {
  auto& a = s.assignments.at(key);
  if (a.target) touch_target(s, *a.target, seq);
  if (s.assigned.contains(a.aai)) {
    if (a.phase != Phase::unassigned) transition(a, Phase::unassigned, seq);
  } else {
    erase_assignment(s, key);
  }
}

void upsert(State& s, const Pod& pod, const DesiredIdentity& d, Seq seq) {
  const auto& id = s.identities.at(d.identity);
  Assignment fresh = describe(s, pod, id, d.binding);
  const auto reason = quarantine_reason(s, id, pod);
  const AssignmentKey key{pod.key, d.identity};
  auto it = s.assignments.find(key);
  if (it == s.assignments.end()) {
    transition(fresh, reason.empty() ? Phase::created : Phase::quarantined, seq, reason);
    settle(s, fresh, seq);
    index_in(s, key, fresh);
    if (fresh.target) touch_target(s, *fresh.target, seq);
    s.assignments.emplace(key, std::move(fresh));
    return;
  }
  Assignment& a = it->second;
  const bool changed = !same_description(a, fresh);
  const bool identity_changed = a.identity_version != fresh.identity_version;
  if (!changed) {
    bool reevaluate = false;
    if (a.phase == Phase::unassigned) {
      reevaluate = true;  // desired again
    } else if (a.phase == Phase::quarantined) {
      reevaluate = identity_changed;  // perhaps fixed; an ARM refusal is retried after an edit
    } else {
      reevaluate = !reason.empty();  // e.g. its node turned out not to be an Azure VM
    }
    if (!reevaluate) {
      a.identity_version = fresh.identity_version;
      return;
    }
  }
  index_out(s, key, a);
  if (a.target) touch_target(s, *a.target, seq);
  const auto causes = a.caused_by;
  a = std::move(fresh);
  a.caused_by = causes;
  transition(a, reason.empty() ? Phase::created : Phase::quarantined, seq, reason);
  settle(s, a, seq);
  index_in(s, key, a);
  if (a.target) touch_target(s, *a.target, seq);
}

}  // namespace

void transition(Assignment& a, Phase phase, Seq seq, std::string reason) {
  a.phase = phase;
  a.reason = std::move(reason);
  if (phase != Phase::retry_scheduled) a.not_before_ms = 0;
  if (phase == Phase::assigned || phase == Phase::created) a.attempts = 0;
  add_cause(a, seq);
}

void settle(const State& s, Assignment& a, Seq seq) {
  if (a.phase != Phase::created && a.phase != Phase::retry_scheduled) return;
  bool in_place = false;
  if (a.type == IdentityType::user_assigned_msi) {
    if (!a.target) return;
    const auto t = s.targets.find(*a.target);
    in_place = t != s.targets.end() && t->second.present.contains(a.resource_id);
  } else {
    in_place = s.assigned.contains(a.aai);
  }
  if (in_place) transition(a, Phase::assigned, seq);
}

void erase_assignment(State& s, const AssignmentKey& key) {
  const auto it = s.assignments.find(key);
  if (it == s.assignments.end()) return;
  index_out(s, key, it->second);
  s.assignments.erase(it);
}

void touch_target(State& s, const ArmTarget& target, Seq seq) {
  s.targets[target].last_seq = seq;
}

void reconcile_pod(State& s, const PodKey& pod, Seq seq) {
  const auto desired = desired_for_pod(s, pod);
  // Retire what is no longer desired (collect first: retiring may erase).
  std::set<IdentityKey> wanted;
  for (const auto& d : desired) wanted.insert(d.identity);
  std::vector<AssignmentKey> gone;
  for (auto it = s.assignments.lower_bound(AssignmentKey{pod, {}});
       it != s.assignments.end() && it->first.pod == pod; ++it)
    if (!wanted.contains(it->first.identity)) gone.push_back(it->first);
  for (const auto& key : gone) retire(s, key, seq);
  if (desired.empty()) return;
  const Pod& p = s.pods.at(pod);
  for (const auto& d : desired) upsert(s, p, d, seq);
}

}  // namespace podid::core::detail
