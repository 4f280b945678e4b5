#include "core/projection.hpp"

#include <algorithm>

#include "core/assignments.hpp"
#include "core/k8s_objects.hpp"

namespace podid::core {
namespace {

using detail::change_phase;
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

// Whether every key of `sub` is a key of `all` (both ordered by std::less<std::string>): one merged walk.
template <class All, class Sub>
bool includes_keys(const All& all, const Sub& sub) {
  auto a = all.begin();
  for (const auto& entry : sub) {
    const std::string& key = entry.first;
    while (a != all.end() && a->first < key) ++a;
    if (a == all.end() || a->first != key) return false;
  }
  return true;
}

// Erases from `ids` those that are not keys of `present` (both ordered the same way): one merged walk.
void erase_missing(std::set<std::string>& ids, const std::map<std::string, VmIdentity>& present) {
  auto p = present.begin();
  for (auto it = ids.begin(); it != ids.end();) {
    while (p != present.end() && p->first < *it) ++p;
    if (p == present.end() || p->first != *it) {
      it = ids.erase(it);
    } else {
      ++it;
    }
  }
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
  void index_pod(const Pod& pod) {
    if (const auto l = pod.labels.find(std::string(kBindingLabel)); l != pod.labels.end())
      s.index.pods_by_label[l->second].insert(pod.key);
    if (!pod.node.empty()) s.index.pods_by_node[pod.node].insert(pod.key);
  }
  // Whether reconciling `now` (an update of `old`) would change nothing. Every event that can change what a
  // pod should have (its binding, identity, exception, node or the settings) reconciles the pod at once, so
  // after any event each pod's assignments are settled against the current objects: reconciling again only
  // re-retires the assignments it no longer wants (which are exactly its Unassigned ones) and touches their
  // targets. An update that changes nothing the matching rules read, of a pod without Unassigned
  // assignments, can therefore skip the reconcile: the common case, a status update with a new
  // resourceVersion.
  bool reconcile_is_noop(const Pod& old, const Pod& now) const {
    return old.uid == now.uid && old.node == now.node && old.ip == now.ip && old.phase == now.phase &&
           old.host_network == now.host_network && old.labels == now.labels &&
           !s.index.unassigned_by_pod.contains(now.key);
  }
  void operator()(const PodObserved& e) {
    const auto it = s.pods.lower_bound(e.pod.key);
    if (it == s.pods.end() || it->first != e.pod.key) {
      affected.insert(e.pod.key);
      index_pod(e.pod);
      s.pods.emplace_hint(it, e.pod.key, e.pod);
      return;
    }
    Pod& old = it->second;
    if (reconcile_is_noop(old, e.pod)) {
      old.resource_version = e.pod.resource_version;
      return;
    }
    // An update: re-index only what moved, and assign in place (reusing the old pod's storage).
    affected.insert(e.pod.key);
    const auto old_label = old.labels.find(std::string(kBindingLabel));
    const auto new_label = e.pod.labels.find(std::string(kBindingLabel));
    const bool has_old = old_label != old.labels.end();
    const bool same_label =
        has_old == (new_label != e.pod.labels.end()) && (!has_old || old_label->second == new_label->second);
    if (!same_label) {
      index_remove(s.index.pods_by_label, binding_label(old), e.pod.key);
      if (new_label != e.pod.labels.end()) s.index.pods_by_label[new_label->second].insert(e.pod.key);
    }
    if (old.node != e.pod.node) {
      index_remove(s.index.pods_by_node, old.node, e.pod.key);
      if (!e.pod.node.empty()) s.index.pods_by_node[e.pod.node].insert(e.pod.key);
    }
    old = e.pod;
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

  using AssignmentEntry = std::map<AssignmentKey, Assignment>::value_type;
  AssignmentEntry* by_aai(const AssignedKey& key) {
    const auto it = s.index.assignment_by_aai.find(key);
    return it == s.index.assignment_by_aai.end() ? nullptr : &*s.assignments.find(it->second);
  }
  void aai_present(const AssignedIdentity& aai) {
    s.assigned[aai.key] = aai;
    if (auto* entry = by_aai(aai.key)) {
      auto& a = entry->second;
      change_phase(s, entry->first, a, [&] { settle(s, a, seq); });
    }
  }
  void aai_gone(const AssignedKey& key) {
    s.assigned.erase(key);
    auto* entry = by_aai(key);
    if (entry == nullptr) return;
    auto& a = entry->second;
    if (a.phase == Phase::unassigned) {
      detail::erase_assignment(s, AssignmentKey{a.pod, a.identity});
    } else if (a.phase == Phase::assigned && a.type != IdentityType::user_assigned_msi) {
      // a service principal is usable only through its AAI
      change_phase(s, entry->first, a, [&] { transition(a, Phase::created, seq); });
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

  // Calls f(a) for every user-assigned assignment on `t`, keeping the phase indexes right.
  template <class F>
  void for_assignments_on(const ArmTarget& t, F&& f) {
    const auto it = s.index.assignments_by_target.find(t);
    if (it == s.index.assignments_by_target.end()) return;
    for (const auto& key : it->second) {
      auto& a = s.assignments.at(key);
      if (a.type == IdentityType::user_assigned_msi) change_phase(s, key, a, [&] { f(a); });
    }
  }
  // The same for only the Created or RetryScheduled ones (Indexes::unsettled_by_target): those an ARM result
  // can move. The keys are copied first, as f may settle them out of the index.
  template <class F>
  void for_unsettled_on(const ArmTarget& t, F&& f) {
    const auto it = s.index.unsettled_by_target.find(t);
    if (it == s.index.unsettled_by_target.end()) return;
    const std::vector<AssignmentKey> keys(it->second.begin(), it->second.end());
    for (const auto& key : keys) {
      auto& a = s.assignments.at(key);
      change_phase(s, key, a, [&] { f(a); });
    }
  }
  // Whether an Assigned user-assigned identity on `t` is missing from what Azure reports now.
  bool detached_on(const ArmTarget& target, const TargetState& t) const {
    const auto it = s.index.assigned_ids_by_target.find(target);
    if (it == s.index.assigned_ids_by_target.end()) return false;
    return !includes_keys(t.present, it->second);
  }
  // A target's first read in a log adopts what Assigned AAIs record (docs/architecture.md, "Adoption").
  void adopt_from_assigned(const ArmTarget& target, TargetState& t) {
    for (const auto& [key, aai] : s.assigned) {
      const auto node = s.nodes.find(aai.node);
      if (aai.status != to_string(Phase::assigned) || node == s.nodes.end() || !node->second.vm ||
          target_of(*node->second.vm) != target)
        continue;
      const auto id = s.identities.find(aai.identity);  // for an AAI whose reference carries no spec
      if (aai.identity_copy ? aai.identity_copy->raw_type != 0
                            : id == s.identities.end() || id->second.type != IdentityType::user_assigned_msi)
        continue;
      const auto rid = to_lower(aai.identity_copy ? aai.identity_copy->resource_id : id->second.resource_id);
      if (t.present.contains(rid)) t.ours.insert(rid);
    }
  }
  void operator()(const VmIdentitiesObserved& e) {
    auto& t = s.targets[e.target];
    // Rebuild `present`, reusing the nodes (and string storage) of identities Azure still reports: a read
    // usually reports exactly what it reported last time.
    auto before = std::move(t.present);
    t.present.clear();
    std::string key;
    for (const auto& id : e.identities) {
      key.assign(id.resource_id);
      for (auto& c : key) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;  // to_lower
      if (auto node = before.extract(key)) {
        node.mapped() = id;
        auto [it, inserted, rest] = t.present.insert(std::move(node));
        if (!inserted) it->second = id;
      } else {
        t.present.insert_or_assign(key, id);
      }
    }
    if (t.in_flight.empty()) erase_missing(t.ours, t.present);
    if (!t.observed) adopt_from_assigned(e.target, t);
    t.observed = true;
    t.unconfirmed.clear();
    if (!t.repaired.empty()) detail::prune_repaired(s, e.target, t);
    t.last_seq = seq;
    const auto check = [&](Assignment& a) {
      if (a.phase == Phase::assigned && !t.present.contains(a.resource_id)) {
        transition(a, Phase::created, seq);  // detached behind our back: attach again (drift repair)
      } else {
        detail::settle_on(t, a, seq);
      }
    };
    // Only a detached identity makes an Assigned one change; else only the unsettled ones can.
    if (detached_on(e.target, t)) {
      for_assignments_on(e.target, check);
    } else {
      for_unsettled_on(e.target, check);
    }
  }
  void operator()(const ArmOperationStarted& e) {
    Operation op{e.operation_id, e.target, {}, {}, e.caused_by, e.at_ms};
    for (const auto& id : e.add) op.add.push_back(to_lower(id));
    for (const auto& id : e.remove) op.remove.push_back(to_lower(id));
    detail::record_repairs(s, e.target, op.remove);
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
      if (t.present.try_emplace(rid, VmIdentity{rid, {}, {}}).second) t.unconfirmed.insert(rid);
    }
    for (const auto& rid : op.remove) {
      t.ours.erase(rid);
      t.present.erase(rid);
      t.unconfirmed.erase(rid);
    }
    t.failures = 0;
    t.not_before_ms = 0;
    for_unsettled_on(e.target, [&](Assignment& a) { detail::settle_on(t, a, seq); });
  }
  void operator()(const ArmOperationFailed& e) {
    const auto op = finish(e.operation_id, e.target);
    auto& t = s.targets[e.target];
    const auto& policy = s.settings.retry;
    if (e.failed_identities.empty()) {
      t.failures += 1;
      t.not_before_ms = at + backoff_ms(policy, t.failures);
    }
    for_unsettled_on(e.target, [&](Assignment& a) {
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
    for_unsettled_on(e.target, [&](Assignment& a) {
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
