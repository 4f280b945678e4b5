#include "cli/explain.hpp"

#include <algorithm>
#include <sstream>

#include "core/matching.hpp"
#include "core/model.hpp"

namespace podid::cli {
namespace {

using namespace podid::core;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out.empty() ? "nothing" : out;
}

std::string label_of(const Pod& p) {
  const auto it = p.labels.find("aadpodidbinding");
  return it == p.labels.end() ? std::string("no aadpodidbinding label")
                              : "label aadpodidbinding=" + it->second;
}

struct Describer {
  const State* state{nullptr};  // the replayed state, when there is one: for what an event alone cannot say

  std::string operator()(const PodObserved& e) const {
    const auto& p = e.pod;
    return "pod " + p.key.to_string() + " observed (node " + (p.node.empty() ? "none" : p.node) + ", IP " +
           (p.ip.empty() ? "none" : p.ip) + ", phase " + (p.phase.empty() ? "unknown" : p.phase) + ", " +
           label_of(p) + ")";
  }
  std::string operator()(const PodDeleted& e) const { return "pod " + e.key.to_string() + " deleted"; }
  std::string operator()(const IdentityObserved& e) const {
    const auto& i = e.identity;
    return "identity " + i.key.to_string() + " observed (type " + std::to_string(i.raw_type) +
           ", client ID " + (i.client_id.empty() ? "none" : i.client_id) +
           (i.namespaced ? ", namespaced" : "") + ")";
  }
  std::string operator()(const IdentityDeleted& e) const {
    return "identity " + e.key.to_string() + " deleted";
  }
  std::string operator()(const BindingObserved& e) const {
    const auto& b = e.binding;
    return "binding " + b.key.to_string() + " observed (identity " + b.identity_name + ", selector " +
           b.selector + ")";
  }
  std::string operator()(const BindingDeleted& e) const {
    return "binding " + e.key.to_string() + " deleted";
  }
  std::string operator()(const ExceptionObserved& e) const {
    return "exception " + e.exception.key.to_string() + " observed";
  }
  std::string operator()(const ExceptionDeleted& e) const {
    return "exception " + e.key.to_string() + " deleted";
  }
  std::string operator()(const NodeObserved& e) const {
    return "node " + e.node.name + " observed" +
           (e.node.vm ? " on " + target_of(*e.node.vm).to_string() : std::string(" (not an Azure VM)"));
  }
  std::string operator()(const NodeDeleted& e) const { return "node " + e.name + " deleted"; }
  std::string operator()(const AssignedIdentityObserved& e) const {
    return "AzureAssignedIdentity " + e.assigned.key.to_string() + " observed with status " +
           (e.assigned.status.empty() ? "(empty)" : e.assigned.status);
  }
  std::string operator()(const AssignedIdentityDeleted& e) const {
    return "AzureAssignedIdentity " + e.key.to_string() + " deleted";
  }
  std::string operator()(const SettingsObserved& e) const {
    return std::string("settings observed (mode ") +
           (e.settings.mode == Mode::managed ? "managed" : "standard") +
           (e.settings.force_namespaced ? ", namespaced" : "") + ")";
  }
  std::string operator()(const VmIdentitiesObserved& e) const {
    std::vector<std::string> ids;
    for (const auto& i : e.identities) ids.push_back(i.resource_id);
    return "Azure reported on " + e.target.to_string() + ": " + join(ids);
  }
  std::string operator()(const ArmOperationStarted& e) const {
    // A detach the planner made to repair an identity re-created in Azure (plan.cpp `recreated`) is told
    // apart by the repair the projection recorded for the target; the event itself does not say.
    std::vector<std::string> detach, repair;
    const TargetState* target = nullptr;
    if (state != nullptr)
      if (const auto t = state->targets.find(e.target); t != state->targets.end()) target = &t->second;
    for (const auto& rid : e.remove) {
      const bool repaired = target != nullptr && std::ranges::any_of(target->repaired, [&](const auto& r) {
                              return r.first == rid;
                            });
      (repaired ? repair : detach).push_back(rid);
    }
    std::string out = "ARM PATCH " + e.operation_id + " started on " + e.target.to_string() + ": attach " +
                      join(e.add) + "; detach " + join(detach);
    if (!repair.empty())
      out += "; detach to attach again " + join(repair) +
             " (re-created in Azure: the VM or scale set still held the old identity)";
    return out;
  }
  std::string operator()(const ArmOperationSucceeded& e) const {
    return "ARM PATCH " + e.operation_id + " on " + e.target.to_string() + " succeeded";
  }
  std::string operator()(const ArmOperationFailed& e) const {
    return "ARM PATCH " + e.operation_id + " on " + e.target.to_string() + " failed (" +
           std::string(to_string(e.error_class)) + "): " + e.message;
  }
  std::string operator()(const ArmOperationThrottled& e) const {
    return "ARM PATCH " + e.operation_id + " on " + e.target.to_string() + " throttled; retry after " +
           std::to_string(e.retry_after_ms) + " ms";
  }
  std::string operator()(const AssignedIdentityWritten& e) const {
    static constexpr const char* kActions[] = {"created", "updated", "deleted"};
    return "AzureAssignedIdentity " + e.assigned.key.to_string() + " " +
           kActions[static_cast<int>(e.action)] +
           (e.assigned.status.empty() ? "" : " as " + e.assigned.status);
  }
  std::string operator()(const MigrationApplied& e) const {
    if (e.object_kind.empty()) return "migration " + e.migration_id + " completed";
    return "migration " + e.migration_id + (e.changed ? " rewrote " : " checked ") + e.object_kind + " " +
           e.object;
  }
};

std::string at(std::int64_t ms) {
  return "t=" + std::to_string(ms) + "ms";
}

void explain_assignment(const State& s, const Assignment& a, std::vector<std::string>& out) {
  std::ostringstream line;
  line << "  identity " << a.identity.to_string() << " via binding " << a.binding.to_string() << ": "
       << to_string(a.phase);
  if (!a.reason.empty()) line << " (" << a.reason << ")";
  if (a.phase == Phase::retry_scheduled)
    line << ", retry at " << at(a.not_before_ms) << ", attempt " << a.attempts;
  if (a.target) line << ", on " << a.target->to_string();
  out.push_back(line.str());
  if (a.phase == Phase::created && a.target) {
    const auto t = s.targets.find(*a.target);
    if (t != s.targets.end() && !t->second.in_flight.empty())
      out.push_back("    waiting for ARM operation " + t->second.in_flight + " to finish");
    else if (t != s.targets.end() && t->second.not_before_ms > s.last_at_ms)
      out.push_back("    the VM/VMSS is backing off until " + at(t->second.not_before_ms));
  }
  if (!a.caused_by.empty()) {
    std::string seqs;
    for (auto q : a.caused_by) seqs += (seqs.empty() ? "" : ", ") + std::to_string(q);
    out.push_back("    last changed by events " + seqs);
  }
}

void explain_pod(const State& s, const PodKey& key, std::vector<std::string>& out) {
  const auto it = s.pods.find(key);
  if (it == s.pods.end()) {
    out.push_back("pod " + key.to_string() + " is not in the state (never observed, or deleted)");
    return;
  }
  const Pod& pod = it->second;
  out.push_back("pod " + key.to_string() + ": node " + (pod.node.empty() ? "none" : pod.node) + ", IP " +
                (pod.ip.empty() ? "none" : pod.ip) + ", " + label_of(pod));
  if (is_excepted(s, pod))
    out.push_back("  matched by an AzurePodIdentityException: gets the node's own answer");
  const auto desired = desired_for_pod(s, key);
  if (desired.empty()) {
    if (!pod.labels.contains("aadpodidbinding"))
      out.push_back("  no identity: the pod has no aadpodidbinding label");
    else if (pod.node.empty() || pod.ip.empty())
      out.push_back("  no identity yet: the pod has no node or no IP");
    else
      out.push_back("  no identity: no binding with that selector reaches an existing identity it may use");
  }
  bool any = false;
  for (const auto& [k, a] : s.assignments) {
    if (k.pod != key) continue;
    any = true;
    explain_assignment(s, a, out);
  }
  if (!any && !desired.empty()) out.push_back("  desired identities have no assignment yet");
}

}  // namespace

std::string describe(const Event& e) {
  return std::visit(Describer{}, e);
}

std::string describe(const Event& e, const State& state) {
  return std::visit(Describer{&state}, e);
}

Result<std::vector<std::string>> explain(const State& state, std::string_view subject,
                                         const std::vector<std::pair<Seq, Event>>& history) {
  std::vector<std::string> out;
  const auto slash = subject.find('/');
  const auto kind = subject.substr(0, slash);
  const auto rest = slash == std::string_view::npos ? std::string_view{} : subject.substr(slash + 1);
  if (kind == "pod") {
    explain_pod(state, PODID_TRY(parse_key<PodKey>(rest)), out);
  } else if (kind == "identity") {
    const auto key = PODID_TRY(parse_key<IdentityKey>(rest));
    out.push_back("identity " + key.to_string() +
                  (state.identities.contains(key) ? "" : " (not in the state)"));
    for (const auto& [k, a] : state.assignments)
      if (k.identity == key) {
        out.push_back(" for pod " + k.pod.to_string() + ":");
        explain_assignment(state, a, out);
      }
  } else if (kind == "vm" || kind == "vmss") {
    const auto target = PODID_TRY(parse_target(subject));
    const auto t = state.targets.find(target);
    if (t == state.targets.end()) {
      out.push_back(std::string(subject) + " is not in the state");
    } else {
      std::vector<std::string> present, ours;
      for (const auto& [id, _] : t->second.present) present.push_back(id);
      for (const auto& id : t->second.ours) ours.push_back(id);
      out.push_back(std::string(subject) + ": Azure has " + join(present) +
                    "; attached by us: " + join(ours));
      if (!t->second.in_flight.empty()) out.push_back("  operation in flight: " + t->second.in_flight);
    }
  } else {
    return make_error(ErrorCode::invalid, "cannot explain \"" + std::string(subject) +
                                              "\": expected pod/<ns>/<name>, identity/<ns>/<name>, "
                                              "vm/<sub>/<rg>/<name> or vmss/<sub>/<rg>/<name>");
  }
  out.push_back("history (" + std::to_string(history.size()) + " events):");
  for (const auto& [seq, e] : history)
    out.push_back("  #" + std::to_string(seq) + " " + at(at_ms_of(e)) + " " + describe(e, state));
  return out;
}

}  // namespace podid::cli
