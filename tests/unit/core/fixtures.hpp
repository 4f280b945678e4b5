#pragma once
// Builders for domain objects and a small log that applies each event as it is appended.

#include <string>
#include <vector>

#include "core/events.hpp"
#include "core/plan.hpp"
#include "core/projection.hpp"
#include "core/state.hpp"

namespace podid::core::testing {

inline std::string rid(const std::string& name) {
  return "/subscriptions/s/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/" +
         name;
}

inline Pod pod(const std::string& ns, const std::string& name, const std::string& label,
               const std::string& node = "n0", const std::string& ip = "10.0.0.9") {
  Pod p;
  p.key = {ns, name};
  p.node = node;
  p.ip = ip;
  p.phase = "Running";
  if (!label.empty()) p.labels["aadpodidbinding"] = label;
  return p;
}

inline AzureIdentity msi(const std::string& ns, const std::string& name, const std::string& rid_name = {},
                         const std::string& client = {}) {
  AzureIdentity id;
  id.key = {ns, name};
  id.type = IdentityType::user_assigned_msi;
  id.resource_id = rid(rid_name.empty() ? name : rid_name);
  id.client_id = client.empty() ? "client-" + name : client;
  id.resource_version = "1";
  return id;
}

inline AzureIdentity sp(const std::string& ns, const std::string& name, std::int64_t type = 1) {
  AzureIdentity id;
  id.key = {ns, name};
  id.raw_type = type;
  id.type = identity_type_from(type);
  id.client_id = "app-" + name;
  id.resource_version = "1";
  return id;
}

inline AzureIdentityBinding binding(const std::string& ns, const std::string& name,
                                    const std::string& identity, const std::string& selector) {
  return {{ns, name}, identity, selector, "1"};
}

inline Node vm_node(const std::string& name) {
  Node n;
  n.name = name;
  n.provider_id =
      "azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/" + name;
  n.vm = VmRef{VmKind::vm, "s", "rg", name, ""};
  return n;
}

inline Node vmss_node(const std::string& name, const std::string& scale_set, const std::string& instance) {
  Node n;
  n.name = name;
  n.provider_id =
      "azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/" +
      scale_set + "/virtualMachines/" + instance;
  n.vm = VmRef{VmKind::vmss, "s", "rg", scale_set, instance};
  return n;
}

inline ArmTarget vm_target(const std::string& name) {
  return {VmKind::vm, "s", "rg", name};
}
inline ArmTarget vmss_target(const std::string& name) {
  return {VmKind::vmss, "s", "rg", name};
}

// A log that applies every event to `state` as it is appended; time advances 1 s per event.
struct Log {
  std::vector<Event> events;
  State state;
  std::int64_t now_ms{1'000'000};

  template <class E>
  Seq add(E e) {
    now_ms += 1000;
    e.at_ms = now_ms;
    events.emplace_back(e);
    const Seq seq = events.size();
    apply(state, events.back(), seq);
    return seq;
  }

  [[nodiscard]] const Assignment* find(const PodKey& p, const IdentityKey& i) const {
    const auto it = state.assignments.find(AssignmentKey{p, i});
    return it == state.assignments.end() ? nullptr : &it->second;
  }
  [[nodiscard]] std::vector<IdentityKey> identities_of(const PodKey& p) const {
    std::vector<IdentityKey> out;
    for (const auto& [k, a] : state.assignments)
      if (k.pod == p && a.phase != Phase::unassigned) out.push_back(k.identity);
    return out;
  }
};

// The smallest matched cluster most tables start from: VM node n0, identity d/x (type 0) bound by selector
// "sel" through binding d/b, and pod d/p labelled "sel".
inline const PodKey kPod{"d", "p"};
inline const IdentityKey kId{"d", "x"};
inline Log matched_cluster() {
  Log log;
  log.add(NodeObserved{0, vm_node("n0")});
  log.add(IdentityObserved{0, msi("d", "x")});
  log.add(BindingObserved{0, binding("d", "b", "x", "sel")});
  log.add(PodObserved{0, pod("d", "p", "sel")});
  return log;
}

// The resource IDs the plan for the log's state would detach, over all its identity changes.
inline std::vector<std::string> detached(const Log& log) {
  std::vector<std::string> out;
  for (const auto& c : plan(log.state, log.now_ms).identity_changes)
    out.insert(out.end(), c.remove.begin(), c.remove.end());
  return out;
}

}  // namespace podid::core::testing
