#include "core/matching.hpp"

#include <set>

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

std::vector<DesiredIdentity> desired_for_pod(const State& s, const PodKey& key) {
  std::vector<DesiredIdentity> out;
  const auto pod_it = s.pods.find(key);
  if (pod_it == s.pods.end()) return out;
  const Pod& pod = pod_it->second;
  if (pod.node.empty() || pod.ip.empty() || pod.phase == "Succeeded" || pod.phase == "Failed") return out;
  const auto label = pod.labels.find(std::string(kBindingLabel));
  if (label == pod.labels.end() || label->second.empty()) return out;
  if (is_excepted(s, pod)) return out;
  const auto bindings = s.index.bindings_by_selector.find(label->second);
  if (bindings == s.index.bindings_by_selector.end()) return out;
  std::set<IdentityKey> seen;
  for (const auto& bk : bindings->second) {  // std::set: (namespace, name) order
    const auto& binding = s.bindings.at(bk);
    const IdentityKey ik{bk.ns, binding.identity_name};
    const auto id = s.identities.find(ik);
    if (id == s.identities.end()) continue;
    if (is_namespaced(s.settings, id->second) && ik.ns != pod.key.ns) continue;
    if (seen.insert(ik).second) out.push_back({ik, bk});
  }
  return out;
}

}  // namespace podid::core
