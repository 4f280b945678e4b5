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

// Sets the phase and remembers the cause.
void transition(Assignment& a, Phase phase, Seq seq, std::string reason = {});

// Erases an assignment that is no longer desired and whose AzureAssignedIdentity is gone.
void erase_assignment(State& s, const AssignmentKey& key);

// Records that what `target` needs or has changed at `seq`.
void touch_target(State& s, const ArmTarget& target, Seq seq);

}  // namespace podid::core::detail
