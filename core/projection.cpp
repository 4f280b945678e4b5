#include "core/projection.hpp"

#include <algorithm>

#include "core/assignments.hpp"
#include "core/k8s_objects.hpp"

namespace podid::core {
namespace {

using detail::settle;
using detail::touch_target;
using detail::transition;

template <class K>
void index_remove(std::map<std::string, std::set<K>>& index, const std::string& value, const K& key) {
  auto it = index.find(value);
  if (it == index.end()) return;
  it->second.erase(key);
  if (it->second.empty()) index.erase(it);
}

std::string binding_label(const Pod& pod) {
  const auto it = pod.labels.find(std::string(kBindingLabel));
  return it == pod.labels.end() ? std::string{} : it->second;
}

bool contains_ci(const std::vector<std::string>& list, const std::string& lower) {
  return std::any_of(list.begin(), list.end(), [&](const auto& x) { return iequals(x, lower); });
}

bool is_permanent(ErrorCode c) {
  return c == ErrorCode::permission || c == ErrorCode::not_found || c == ErrorCode::invalid;
}

struct Applier {
  State& s;
  Seq seq;
  std::int64_t at;
  std::set<PodKey> affected{};

  void pods_with_label(const std::string& selector) {
    if (auto it = s.index.pods_by_label.find(selector); it != s.index.pods_by_label.end())
      affected.insert(it->second.begin(), it->second.end());
  }
  void pods_in_namespace(const std::string& ns) {
    for (auto it = s.pods.lower_bound(PodKey{ns, {}}); it != s.pods.end() && it->first.ns == ns; ++it)
      affected.insert(it->first);
  }
  void pods_on_node(const std::string& node) {
    if (auto it = s.index.pods_by_node.find(node); it != s.index.pods_by_node.end())
      affected.insert(it->second.begin(), it->second.end());
  }
  void pods_bound_to(const IdentityKey& id) {
    for (auto it = s.bindings.lower_bound(BindingKey{id.ns, {}});
         it != s.bindings.end() && it->first.ns == id.ns; ++it)
      if (it->second.identity_name == id.name) pods_with_label(it->second.selector);
  }

  void forget_pod(const PodKey& key) {
    const auto it = s.pods.find(key);
    if (it == s.pods.end()) return;
    index_remove(s.index.pods_by_label, binding_label(it->second), key);
    index_remove(s.index.pods_by_node, it->second.node, key);
    s.pods.erase(it);
  }
  void operator()(const PodObserved& e) {
    forget_pod(e.pod.key);
    if (auto label = binding_label(e.pod);
        !label.empty() || e.pod.labels.contains(std::string(kBindingLabel)))
      s.index.pods_by_label[label].insert(e.pod.key);
    if (!e.pod.node.empty()) s.index.pods_by_node[e.pod.node].insert(e.pod.key);
    s.pods[e.pod.key] = e.pod;
    affected.insert(e.pod.key);
  }
  void operator()(const PodDeleted& e) {
    forget_pod(e.key);
    affected.insert(e.key);
  }
  void operator()(const IdentityObserved& e) {
    s.identities[e.identity.key] = e.identity;
    pods_bound_to(e.identity.key);
  }
  void operator()(const IdentityDeleted& e) {
    s.identities.erase(e.key);
    pods_bound_to(e.key);
  }
  void forget_binding(const BindingKey& key) {
    const auto it = s.bindings.find(key);
    if (it == s.bindings.end()) return;
    pods_with_label(it->second.selector);
    index_remove(s.index.bindings_by_selector, it->second.selector, key);
    s.bindings.erase(it);
  }
  void operator()(const BindingObserved& e) {
    forget_binding(e.binding.key);
    s.bindings[e.binding.key] = e.binding;
    s.index.bindings_by_selector[e.binding.selector].insert(e.binding.key);
    pods_with_label(e.binding.selector);
  }
  void operator()(const BindingDeleted& e) { forget_binding(e.key); }
  void operator()(const ExceptionObserved& e) {
    s.exceptions[e.exception.key] = e.exception;
    pods_in_namespace(e.exception.key.ns);
  }
  void operator()(const ExceptionDeleted& e) {
    s.exceptions.erase(e.key);
    pods_in_namespace(e.key.ns);
  }
  void operator()(const NodeObserved& e) {
    s.nodes[e.node.name] = e.node;
    pods_on_node(e.node.name);
  }
  void operator()(const NodeDeleted& e) {
    s.nodes.erase(e.name);
    pods_on_node(e.name);
  }
  void operator()(const SettingsObserved& e) {
    s.settings = e.settings;
    for (const auto& [key, pod] : s.pods) affected.insert(key);
  }

  Assignment* by_aai(const AssignedKey& key) {
    const auto it = s.index.assignment_by_aai.find(key);
    return it == s.index.assignment_by_aai.end() ? nullptr : &s.assignments.at(it->second);
  }
  void aai_present(const AssignedIdentity& aai) {
    s.assigned[aai.key] = aai;
    if (auto* a = by_aai(aai.key)) settle(s, *a, seq);
  }
  void aai_gone(const AssignedKey& key) {
    s.assigned.erase(key);
    auto* a = by_aai(key);
    if (a == nullptr) return;
    if (a->phase == Phase::unassigned) {
      detail::erase_assignment(s, AssignmentKey{a->pod, a->identity});
    } else if (a->phase == Phase::assigned && a->type != IdentityType::user_assigned_msi) {
      transition(*a, Phase::created, seq);  // a service principal is usable only through its AAI
    }
  }
  void operator()(const AssignedIdentityObserved& e) { aai_present(e.assigned); }
  void operator()(const AssignedIdentityDeleted& e) { aai_gone(e.key); }
  void operator()(const AssignedIdentityWritten& e) {
    if (e.action == WriteAction::deleted) {
      aai_gone(e.assigned.key);
    } else {
      aai_present(e.assigned);
    }
  }

  template <class F>
  void for_assignments_on(const ArmTarget& t, F&& f) {
    const auto it = s.index.assignments_by_target.find(t);
    if (it == s.index.assignments_by_target.end()) return;
    for (const auto& key : it->second) {
      auto& a = s.assignments.at(key);
      if (a.type == IdentityType::user_assigned_msi) f(a);
    }
  }
  void operator()(const VmIdentitiesObserved& e) {
    auto& t = s.targets[e.target];
    t.observed = true;
    t.present.clear();
    for (const auto& id : e.identities) t.present[to_lower(id.resource_id)] = id;
    if (t.in_flight.empty())
      std::erase_if(t.ours, [&](const std::string& rid) { return !t.present.contains(rid); });
    t.last_seq = seq;
    for_assignments_on(e.target, [&](Assignment& a) {
      if (a.phase == Phase::assigned && !t.present.contains(a.resource_id)) {
        transition(a, Phase::created, seq);  // detached behind our back: attach again (drift repair)
      } else {
        settle(s, a, seq);
      }
    });
  }
  void operator()(const ArmOperationStarted& e) {
    Operation op{e.operation_id, e.target, {}, {}, e.caused_by, e.at_ms};
    for (const auto& id : e.add) op.add.push_back(to_lower(id));
    for (const auto& id : e.remove) op.remove.push_back(to_lower(id));
    s.operations[e.operation_id] = std::move(op);
    s.targets[e.target].in_flight = e.operation_id;
  }
  // Ends the operation; returns it (empty when unknown, e.g. started before a checkpoint we lost).
  Operation finish(const std::string& id, const ArmTarget& target) {
    Operation op;
    if (auto it = s.operations.find(id); it != s.operations.end()) {
      op = std::move(it->second);
      s.operations.erase(it);
    }
    auto& t = s.targets[target];
    if (t.in_flight == id) t.in_flight.clear();
    t.last_seq = seq;
    return op;
  }
  void operator()(const ArmOperationSucceeded& e) {
    const auto op = finish(e.operation_id, e.target);
    auto& t = s.targets[e.target];
    for (const auto& rid : op.add) {
      t.ours.insert(rid);
      t.present.try_emplace(rid, VmIdentity{rid, {}, {}});
    }
    for (const auto& rid : op.remove) {
      t.ours.erase(rid);
      t.present.erase(rid);
    }
    t.failures = 0;
    t.not_before_ms = 0;
    for_assignments_on(e.target, [&](Assignment& a) { settle(s, a, seq); });
  }
  void operator()(const ArmOperationFailed& e) {
    const auto op = finish(e.operation_id, e.target);
    auto& t = s.targets[e.target];
    const auto& policy = s.settings.retry;
    if (e.failed_identities.empty()) {
      t.failures += 1;
      t.not_before_ms = at + backoff_ms(policy, t.failures);
    }
    for_assignments_on(e.target, [&](Assignment& a) {
      const bool in_op = std::find(op.add.begin(), op.add.end(), a.resource_id) != op.add.end();
      if (!in_op || (a.phase != Phase::created && a.phase != Phase::retry_scheduled)) return;
      if (!e.failed_identities.empty() && !contains_ci(e.failed_identities, a.resource_id)) return;
      a.attempts += 1;
      const auto attempts = a.attempts;
      if (is_permanent(e.error_class) && attempts >= policy.max_attempts) {
        transition(a, Phase::quarantined, seq, "Azure refused the identity: " + e.message);
      } else {
        transition(a, Phase::retry_scheduled, seq, e.message);
        a.attempts = attempts;
        a.not_before_ms = at + backoff_ms(policy, attempts);
      }
    });
  }
  void operator()(const ArmOperationThrottled& e) {
    const auto op = finish(e.operation_id, e.target);
    auto& t = s.targets[e.target];
    t.not_before_ms = at + std::max<std::int64_t>(e.retry_after_ms, 0);
    for_assignments_on(e.target, [&](Assignment& a) {
      if (std::find(op.add.begin(), op.add.end(), a.resource_id) == op.add.end()) return;
      if (a.phase != Phase::created && a.phase != Phase::retry_scheduled) return;
      const auto attempts = a.attempts;
      transition(a, Phase::retry_scheduled, seq, "throttled by Azure");
      a.attempts = attempts;  // throttling is not the identity's fault
      a.not_before_ms = t.not_before_ms;
    });
  }
  void operator()(const MigrationApplied& e) { s.migrations[e.migration_id] += e.changed ? 1 : 0; }
};

}  // namespace

std::int64_t backoff_ms(const RetryPolicy& p, int attempt) noexcept {
  std::int64_t d = std::max<std::int64_t>(p.base_delay_ms, 0);
  for (int i = 1; i < attempt && d < p.max_delay_ms; ++i) d *= 2;
  return std::min(d, p.max_delay_ms);
}

bool apply(State& s, const Event& e, Seq seq) {
  if (seq <= s.last_seq && s.last_seq != 0) return false;
  Applier applier{s, seq, at_ms_of(e)};
  std::visit(applier, e);
  for (const auto& pod : applier.affected) detail::reconcile_pod(s, pod, seq);
  s.last_seq = seq;
  s.last_at_ms = std::max(s.last_at_ms, at_ms_of(e));
  return true;
}

void replay(State& s, const std::vector<Event>& events, Seq first_seq) {
  Seq seq = first_seq;
  for (const auto& e : events) (void)apply(s, e, seq++);
}

}  // namespace podid::core
