// subjects(): which pods, identities, nodes and VMs an event concerns (declared in core/event_codec.hpp).
#include <algorithm>

#include "core/event_codec.hpp"

namespace podid::core {
namespace {

struct SubjectsOf {
  std::vector<std::string>& out;

  void add(std::string_view prefix, const std::string& rest) {
    out.push_back(std::string(prefix) + "/" + rest);
  }
  void assigned(const AssignedIdentity& a) {
    add("assigned", a.key.to_string());
    if (!a.pod.name.empty()) add("pod", a.pod.to_string());
    if (!a.identity.name.empty()) add("identity", a.identity.to_string());
    if (!a.node.empty()) add("node", a.node);
  }

  void operator()(const PodObserved& e) {
    add("pod", e.pod.key.to_string());
    if (!e.pod.node.empty()) add("node", e.pod.node);
  }
  void operator()(const PodDeleted& e) { add("pod", e.key.to_string()); }
  void operator()(const IdentityObserved& e) { add("identity", e.identity.key.to_string()); }
  void operator()(const IdentityDeleted& e) { add("identity", e.key.to_string()); }
  void operator()(const BindingObserved& e) {
    add("binding", e.binding.key.to_string());
    add("identity", e.binding.key.ns + "/" + e.binding.identity_name);
  }
  void operator()(const BindingDeleted& e) { add("binding", e.key.to_string()); }
  void operator()(const ExceptionObserved& e) { add("exception", e.exception.key.to_string()); }
  void operator()(const ExceptionDeleted& e) { add("exception", e.key.to_string()); }
  void operator()(const NodeObserved& e) {
    add("node", e.node.name);
    if (e.node.vm) out.push_back(target_of(*e.node.vm).to_string());
  }
  void operator()(const NodeDeleted& e) { add("node", e.name); }
  void operator()(const AssignedIdentityObserved& e) { assigned(e.assigned); }
  void operator()(const AssignedIdentityDeleted& e) { add("assigned", e.key.to_string()); }
  void operator()(const SettingsObserved&) { out.emplace_back("settings"); }
  void operator()(const VmIdentitiesObserved& e) { out.push_back(e.target.to_string()); }
  void operator()(const ArmOperationStarted& e) { out.push_back(e.target.to_string()); }
  void operator()(const ArmOperationSucceeded& e) { out.push_back(e.target.to_string()); }
  void operator()(const ArmOperationFailed& e) { out.push_back(e.target.to_string()); }
  void operator()(const ArmOperationThrottled& e) { out.push_back(e.target.to_string()); }
  void operator()(const AssignedIdentityWritten& e) { assigned(e.assigned); }
  void operator()(const MigrationApplied& e) { add("migration", e.migration_id); }
};

}  // namespace

std::vector<std::string> subjects(const Event& e) {
  std::vector<std::string> out;
  std::visit(SubjectsOf{out}, e);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace podid::core
