#include "core/state.hpp"

#include <array>

#include "core/k8s_objects.hpp"

namespace podid::core {
namespace {

constexpr std::array<std::pair<Phase, std::string_view>, 5> kPhases{{
    {Phase::created, "Created"},
    {Phase::assigned, "Assigned"},
    {Phase::unassigned, "Unassigned"},
    {Phase::quarantined, "Quarantined"},
    {Phase::retry_scheduled, "RetryScheduled"},
}};

}  // namespace

std::string_view to_string(Phase p) noexcept {
  for (const auto& [phase, name] : kPhases)
    if (phase == p) return name;
  return "Created";
}

std::optional<Phase> parse_phase(std::string_view s) noexcept {
  for (const auto& [phase, name] : kPhases)
    if (name == s) return phase;
  return std::nullopt;
}

bool is_namespaced(const Settings& settings, const AzureIdentity& identity) {
  return settings.force_namespaced || settings.mode == Mode::managed || identity.namespaced;
}

void rebuild_indexes(State& s) {
  Indexes ix;
  for (const auto& [key, pod] : s.pods) {
    if (auto l = pod.labels.find(std::string(kBindingLabel)); l != pod.labels.end())
      ix.pods_by_label[l->second].insert(key);
    if (!pod.node.empty()) ix.pods_by_node[pod.node].insert(key);
  }
  for (const auto& [key, b] : s.bindings) ix.bindings_by_selector[b.selector].insert(key);
  for (const auto& [key, a] : s.assignments) {
    if (a.target) ix.assignments_by_target[*a.target].insert(key);
    ix.assignment_by_aai[a.aai] = key;
    if (a.phase == Phase::unassigned) ++ix.unassigned_by_pod[key.pod];
    if (!a.target || a.type != IdentityType::user_assigned_msi) continue;
    if (a.phase == Phase::created || a.phase == Phase::retry_scheduled) {
      ix.unsettled_by_target[*a.target].insert(key);
    } else if (a.phase == Phase::assigned) {
      ++ix.assigned_ids_by_target[*a.target][a.resource_id];
    }
  }
  s.index = std::move(ix);
}

}  // namespace podid::core
