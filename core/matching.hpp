#pragma once
// The matching rules (upstream-behaviour.md §2.4, with deliberate fixes): which identities a pod should have.
//  - the pod needs a node and an IP, must not have finished (Succeeded/Failed: upstream quirk 6, fixed), and
//    its label aadpodidbinding must be non-empty;
//  - a pod matched by an AzurePodIdentityException in its namespace (any one label, key exact, value
//    case-insensitive) gets nothing;
//  - every binding whose selector equals the label exactly, in (namespace, name) order; its identity is
//  looked
//    up in the binding's namespace; missing identities are skipped;
//  - a namespaced identity (force_namespaced, managed mode, or the Behavior annotation) matches only when
//    identity ns == binding ns == pod ns;
//  - an identity reached through two bindings is listed once, with the first binding.

#include <vector>

#include "core/state.hpp"

namespace podid::core {

struct DesiredIdentity {
  IdentityKey identity;
  BindingKey binding;
  bool operator==(const DesiredIdentity&) const = default;
};

[[nodiscard]] std::vector<DesiredIdentity> desired_for_pod(const State& s, const PodKey& pod);
[[nodiscard]] bool is_excepted(const State& s, const Pod& pod);

namespace detail {
// desired_for_pod for a pod already looked up, pointing into `s` instead of copying keys (the projection's
// hot path). Valid until `s` changes.
struct DesiredMatch {
  const IdentityKey* identity;
  const AzureIdentity* object;
  const BindingKey* binding;
};
void desired_matches(const State& s, const Pod& pod, std::vector<DesiredMatch>& out);
}  // namespace detail

}  // namespace podid::core
