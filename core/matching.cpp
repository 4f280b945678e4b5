#include "core/matching.hpp"

#include <algorithm>

#include "core/k8s_objects.hpp"

namespace podid::core {

bool is_excepted(const State& s, const Pod& pod) {
  for (auto it = s.exceptions.lower_bound(ExceptionKey{pod.key.ns, {}});
       it != s.exceptions.end() && it->first.ns == pod.key.ns; ++it) {
    for (const auto& [k, v] : it->second.pod_labels) {
      const auto label = pod.labels.find(k);
      if (label != pod.labels.end() && iequals(label->second, v)) return true;
    }
  }
  return false;
}

namespace detail {

void desired_matches(const State& s, const Pod& pod, std::vector<DesiredMatch>& out) {
  out.clear();
  if (pod.node.empty() || pod.ip.empty() || pod.phase == "Succeeded" || pod.phase == "Failed") return;
  const auto label = pod.labels.find(std::string(kBindingLabel));
  if (label == pod.labels.end() || label->second.empty()) return;
  if (is_excepted(s, pod)) return;
  const auto bindings = s.index.bindings_by_selector.find(label->second);
  if (bindings == s.index.bindings_by_selector.end()) return;
  IdentityKey ik;
  for (const auto& bk : bindings->second) {  // std::set: (namespace, name) order
    const auto& binding = s.bindings.at(bk);
    ik.ns = bk.ns;
    ik.name = binding.identity_name;
    const auto id = s.identities.find(ik);
    if (id == s.identities.end()) continue;
    if (is_namespaced(s.settings, id->second) && ik.ns != pod.key.ns) continue;
    // Listed once, with its first binding; `out` is short, so a linear search beats a set.
    if (std::none_of(out.begin(), out.end(), [&](const auto& d) { return *d.identity == ik; }))
      out.push_back({&id->first, &id->second, &bk});
  }
}

}  // namespace detail

std::vector<DesiredIdentity> desired_for_pod(const State& s, const PodKey& key) {
  std::vector<DesiredIdentity> out;
  const auto pod_it = s.pods.find(key);
  if (pod_it == s.pods.end()) return out;
  std::vector<detail::DesiredMatch> matches;
  detail::desired_matches(s, pod_it->second, matches);
  out.reserve(matches.size());
  for (const auto& m : matches) out.push_back({*m.identity, *m.binding});
  return out;
}

}  // namespace podid::core
