#include "core/assignments.hpp"

#include <algorithm>
#include <set>

#include "core/matching.hpp"

namespace podid::core::detail {
namespace {

// What "the identity was edited" compares: metadata.generation, which only spec changes bump (AzureIdentity
// has a status subresource), so that our own Ready condition write does not re-evaluate a quarantined
// assignment. Objects without a generation (older logs) fall back to the resourceVersion.
std::string spec_version(const AzureIdentity& id) {
  return id.generation > 0 ? "g" + std::to_string(id.generation) : id.resource_version;
}

void add_cause(Assignment& a, Seq seq) {
  if (!a.caused_by.empty() && a.caused_by.back() == seq) return;
  a.caused_by.push_back(seq);
  if (a.caused_by.size() > kMaxCauses) a.caused_by.erase(a.caused_by.begin());
}

// Why a desired assignment cannot be applied at all. Decided without building the message, which only a
// new or changed assignment needs.
enum class Hold { none, unknown_type, invalid_resource_id, not_azure_node };

Hold hold_of(const AzureIdentity& id, const Node* node) {
  if (id.type == IdentityType::unknown) return Hold::unknown_type;
  if (id.type != IdentityType::user_assigned_msi) return Hold::none;
  if (!is_valid_identity_resource_id(id.resource_id)) return Hold::invalid_resource_id;
  if (node != nullptr && !node->vm) return Hold::not_azure_node;
  return Hold::none;
}

std::string quarantine_reason(Hold hold, const AzureIdentity& id, const Pod& pod, const Node* node) {
  switch (hold) {
    case Hold::none:
      break;
    case Hold::unknown_type:
      return "unsupported identity type " + std::to_string(id.raw_type);
    case Hold::invalid_resource_id:
      return "invalid resource ID \"" + id.resource_id + "\" for a user-assigned identity";
    case Hold::not_azure_node:
      return "node " + pod.node + " has no Azure VM providerID (\"" + node->provider_id + "\")";
  }
  return {};
}

const Node* node_of(const State& s, const Pod& pod) {
  const auto it = s.nodes.find(pod.node);
  return it == s.nodes.end() ? nullptr : &it->second;
}

// The assignment as the current objects describe it, before any phase is decided.
Assignment describe(const State& s, const Pod& pod, const AzureIdentity& id, const BindingKey& binding,
                    const Node* node) {
  Assignment a;
  a.pod = pod.key;
  a.identity = id.key;
  a.binding = binding;
  a.aai = {is_namespaced(s.settings, id) ? id.key.ns : "default", assigned_identity_name(pod.key, id.key)};
  a.node = pod.node;
  if (node != nullptr && node->vm) a.target = target_of(*node->vm);
  a.type = id.type;
  a.resource_id = id.type == IdentityType::user_assigned_msi ? to_lower(id.resource_id) : std::string{};
  a.client_id = id.client_id;
  a.identity_version = spec_version(id);
  return a;
}

// to_lower(raw) == lower, without building the lower-cased copy.
bool lower_equals(std::string_view raw, std::string_view lower) noexcept {
  if (raw.size() != lower.size()) return false;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c) != lower[i]) return false;
  }
  return true;
}

// target == (node is an Azure VM ? target_of(*node->vm) : nullopt).
bool same_target(const std::optional<ArmTarget>& target, const Node* node) {
  if (node == nullptr || !node->vm) return !target;
  if (!target) return false;
  const VmRef& vm = *node->vm;
  return target->kind == vm.kind && lower_equals(vm.name, target->name) &&
         lower_equals(vm.resource_group, target->resource_group) &&
         lower_equals(vm.subscription, target->subscription);
}

// same_description(a, describe(s, pod, id, binding, node)), without building the description: the common
// case of a pod update that changes nothing the assignment records.
bool still_described(const State& s, const Assignment& a, const Pod& pod, const AzureIdentity& id,
                     const BindingKey& binding, const Node* node) {
  if (a.type != id.type || a.node != pod.node || a.binding != binding || a.client_id != id.client_id)
    return false;
  if (id.type == IdentityType::user_assigned_msi ? !lower_equals(id.resource_id, a.resource_id)
                                                 : !a.resource_id.empty())
    return false;
  if (!same_target(a.target, node)) return false;
  const std::string_view aai_ns = is_namespaced(s.settings, id) ? std::string_view(id.key.ns) : "default";
  return a.aai.ns == aai_ns && is_assigned_identity_name(a.aai.name, pod.key, id.key);
}

// Whether the per-target phase indexes (Indexes::unsettled_by_target, assigned_ids_by_target) list `a`.
bool phase_indexed(const Assignment& a) {
  return a.target && a.type == IdentityType::user_assigned_msi;
}
bool unsettled(Phase p) {
  return p == Phase::created || p == Phase::retry_scheduled;
}

// Takes `a` out of the phase indexes as they list it in phase `phase`.
void phase_out(State& s, const AssignmentKey& key, const Assignment& a, Phase phase) {
  if (phase == Phase::unassigned) {
    if (auto it = s.index.unassigned_by_pod.find(key.pod);
        it != s.index.unassigned_by_pod.end() && --it->second == 0)
      s.index.unassigned_by_pod.erase(it);
  }
  if (!phase_indexed(a)) return;
  if (unsettled(phase)) {
    auto it = s.index.unsettled_by_target.find(*a.target);
    if (it == s.index.unsettled_by_target.end()) return;
    it->second.erase(key);
    if (it->second.empty()) s.index.unsettled_by_target.erase(it);
  } else if (phase == Phase::assigned) {
    auto it = s.index.assigned_ids_by_target.find(*a.target);
    if (it == s.index.assigned_ids_by_target.end()) return;
    if (auto id = it->second.find(a.resource_id); id != it->second.end() && --id->second == 0)
      it->second.erase(id);
    if (it->second.empty()) s.index.assigned_ids_by_target.erase(it);
  }
}

void phase_in(State& s, const AssignmentKey& key, const Assignment& a) {
  if (a.phase == Phase::unassigned) ++s.index.unassigned_by_pod[key.pod];
  if (!phase_indexed(a)) return;
  if (unsettled(a.phase)) {
    s.index.unsettled_by_target[*a.target].insert(key);
  } else if (a.phase == Phase::assigned) {
    ++s.index.assigned_ids_by_target[*a.target][a.resource_id];
  }
}

void index_out(State& s, const AssignmentKey& key, const Assignment& a) {
  phase_out(s, key, a, a.phase);
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

// The phase-independent indexes; idempotent.
void index_in_base(State& s, const AssignmentKey& key, const Assignment& a) {
  if (a.target) s.index.assignments_by_target[*a.target].insert(key);
  s.index.assignment_by_aai[a.aai] = key;
}

void index_in(State& s, const AssignmentKey& key, const Assignment& a) {
  index_in_base(s, key, a);
  phase_in(s, key, a);
}

using AssignmentIt = std::map<AssignmentKey, Assignment>::iterator;

void retire(State& s, AssignmentIt it, Seq seq) {
  auto& a = it->second;
  if (a.target) touch_target(s, *a.target, seq);
  if (s.assigned.contains(a.aai)) {
    if (a.phase != Phase::unassigned)
      change_phase(s, it->first, a, [&] { transition(a, Phase::unassigned, seq); });
  } else {
    index_out(s, it->first, a);
    s.assignments.erase(it);
  }
}

// Creates or updates the assignment of `pod` to `d`; `it` is the existing one, or s.assignments.end().
void upsert(State& s, const Pod& pod, const DesiredMatch& d, AssignmentIt it, Seq seq) {
  const AzureIdentity& id = *d.object;
  const Node* node = node_of(s, pod);
  const Hold hold = hold_of(id, node);
  const Phase phase = hold == Hold::none ? Phase::created : Phase::quarantined;
  if (it == s.assignments.end()) {
    const AssignmentKey key{pod.key, *d.identity};
    Assignment fresh = describe(s, pod, id, *d.binding, node);
    transition(fresh, phase, seq, quarantine_reason(hold, id, pod, node));
    settle(s, fresh, seq);
    index_in(s, key, fresh);
    if (fresh.target) touch_target(s, *fresh.target, seq);
    s.assignments.emplace(key, std::move(fresh));
    return;
  }
  const AssignmentKey& key = it->first;
  Assignment& a = it->second;
  if (still_described(s, a, pod, id, *d.binding, node)) {
    bool reevaluate = false;
    if (a.phase == Phase::unassigned) {
      reevaluate = true;  // desired again
    } else if (a.phase == Phase::quarantined) {
      reevaluate = a.identity_version != spec_version(id);  // perhaps fixed; an ARM refusal is retried
    } else {
      reevaluate = hold != Hold::none;  // e.g. its node turned out not to be an Azure VM
    }
    if (auto v = spec_version(id); a.identity_version != v) a.identity_version = std::move(v);
    if (!reevaluate) return;
    // Re-evaluated with the same description: reset it in place (what describe() would build, with the
    // same indexes and target), keeping its causes.
    phase_out(s, key, a, a.phase);
    a.not_before_ms = 0;
    a.attempts = 0;
    transition(a, phase, seq, quarantine_reason(hold, id, pod, node));
    settle(s, a, seq);
    // Same target, so assignments_by_target lists it already; re-point its AAI as index_in would.
    s.index.assignment_by_aai[a.aai] = key;
    phase_in(s, key, a);
    if (a.target) touch_target(s, *a.target, seq);
    return;
  }
  index_out(s, key, a);
  if (a.target) touch_target(s, *a.target, seq);
  auto causes = std::move(a.caused_by);
  a = describe(s, pod, id, *d.binding, node);
  a.caused_by = std::move(causes);
  transition(a, phase, seq, quarantine_reason(hold, id, pod, node));
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

void settle_on(const TargetState& t, Assignment& a, Seq seq) {
  if (a.phase != Phase::created && a.phase != Phase::retry_scheduled) return;
  if (a.target && t.present.contains(a.resource_id)) transition(a, Phase::assigned, seq);
}

void reindex_phase(State& s, const AssignmentKey& key, const Assignment& a, Phase before) {
  phase_out(s, key, a, before);
  phase_in(s, key, a);
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
  const auto pod_it = s.pods.find(pod);
  std::vector<DesiredMatch> desired;
  if (pod_it != s.pods.end()) desired_matches(s, pod_it->second, desired);
  // Sort the pod's assignments into still desired (remembered, so upsert need not look them up again) and
  // no longer desired. A pod has few identities, so a linear search of `desired` beats building a set.
  std::vector<AssignmentIt> existing(desired.size(), s.assignments.end());
  std::vector<AssignmentIt> gone;
  for (auto it = s.assignments.lower_bound(AssignmentKey{pod, {}});
       it != s.assignments.end() && it->first.pod == pod; ++it) {
    const auto m = std::find_if(desired.begin(), desired.end(),
                                [&](const DesiredMatch& d) { return *d.identity == it->first.identity; });
    if (m == desired.end()) {
      gone.push_back(it);
    } else {
      existing[static_cast<std::size_t>(m - desired.begin())] = it;
    }
  }
  // Retire what is no longer desired (collected first: retiring erases only the one retired).
  for (const auto it : gone) retire(s, it, seq);
  for (std::size_t i = 0; i < desired.size(); ++i) upsert(s, pod_it->second, desired[i], existing[i], seq);
}

void record_repairs(State& s, const ArmTarget& target, const std::vector<std::string>& removed) {
  const auto it = s.index.assignments_by_target.find(target);
  if (removed.empty() || it == s.index.assignments_by_target.end()) return;
  auto& t = s.targets[target];
  for (const auto& key : it->second) {
    const auto& a = s.assignments.at(key);
    if (a.type == IdentityType::user_assigned_msi && a.phase == Phase::assigned &&
        std::find(removed.begin(), removed.end(), a.resource_id) != removed.end())
      t.repaired.emplace(a.resource_id, a.client_id);
  }
}

void prune_repaired(const State& s, const ArmTarget& target, TargetState& t) {
  std::set<std::string> used;
  if (const auto it = s.index.assignments_by_target.find(target); it != s.index.assignments_by_target.end())
    for (const auto& key : it->second) used.insert(s.assignments.at(key).resource_id);
  std::erase_if(t.repaired, [&](const auto& r) { return !used.contains(r.first); });
}

}  // namespace podid::core::detail
