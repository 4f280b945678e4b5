#pragma once
// Internal to the projection: keeping the assignments of one pod in step with the matching rules, and the
// helpers that move assignments between phases while keeping the indexes right.

#include "core/state.hpp"

namespace podid::core::detail {

// Recomputes the desired identities of `pod` and creates, updates or retires its assignments.
void reconcile_pod(State& s, const PodKey& pod, Seq seq);

// Moves a created or retry-scheduled assignment to assigned when its identity is known to be in place
// (type 0: on its VM/VMSS; types 1 and 2: its AzureAssignedIdentity exists).
void settle(const State& s, Assignment& a, Seq seq);
// settle() for a user-assigned identity whose target's state `t` the caller already holds.
void settle_on(const TargetState& t, Assignment& a, Seq seq);

// Sets the phase and remembers the cause.
void transition(Assignment& a, Phase phase, Seq seq, std::string reason = {});

// Keeps the phase indexes (Indexes::unsettled_by_target, assigned_ids_by_target, unassigned_by_pod) right
// while `change` alters the phase of `a` (stored under `key`) and nothing else they read (type, target,
// resource ID).
void reindex_phase(State& s, const AssignmentKey& key, const Assignment& a, Phase before);
template <class F>
void change_phase(State& s, const AssignmentKey& key, Assignment& a, F&& change) {
  const Phase before = a.phase;
  change();
  if (a.phase != before) reindex_phase(s, key, a, before);
}

// Erases an assignment that is no longer desired and whose AzureAssignedIdentity is gone.
void erase_assignment(State& s, const AssignmentKey& key);

// Records that what `target` needs or has changed at `seq`.
void touch_target(State& s, const ArmTarget& target, Seq seq);

// The planner detaches an identity an Assigned assignment needs only to repair one re-created in Azure
// (plan.cpp), so an operation removing such an identity records the repair in TargetState::repaired: never
// again for this (resource ID, client ID).
void record_repairs(State& s, const ArmTarget& target, const std::vector<std::string>& removed);
// Forgets the repairs of resource IDs no assignment on the target uses any more.
void prune_repaired(const State& s, const ArmTarget& target, TargetState& t);

}  // namespace podid::core::detail
