#pragma once
// Realistic event logs for the benchmarks: a cluster of N pods, identities and nodes (half VMs, half
// instances of scale sets), each pod bound to one identity of its namespace and scheduled so that no VM or
// scale set carries more than a few dozen identities (Azure's limit is 100); the controller's work to
// bring it to a steady state (one ARM PATCH per VM/VMSS, one AzureAssignedIdentity per pod); then churn as a
// live cluster produces it (pod updates and restarts, Azure reads, ARM operations, identity edits).
// Deterministic for a given seed.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <vector>

#include "core/events.hpp"

namespace podid::bench {

struct ClusterShape {
  std::size_t pods{10'000};
  std::size_t identities{1'000};
  std::size_t nodes{500};
  std::size_t namespaces{20};
  std::size_t scale_sets{25};  // half of the nodes are instances of these; the other half are VMs
};

class Workload {
 public:
  explicit Workload(ClusterShape shape, std::uint64_t seed = 42);

  // Settings, nodes, identities, bindings and pods, in that order.
  [[nodiscard]] std::vector<core::Event> initial() const;
  // For every VM/VMSS: an ARM PATCH adding its pods' identities, started and succeeded; then an
  // AzureAssignedIdentity written per pod. Applied after initial(), every assignment is Assigned.
  [[nodiscard]] std::vector<core::Event> settle() const;
  // The next churn event (time advances a few ms per event).
  [[nodiscard]] core::Event next_churn();
  // A PodObserved for pod `i` (for append benchmarks: a realistic payload).
  [[nodiscard]] core::PodObserved pod_event(std::size_t i) const;

  [[nodiscard]] const ClusterShape& shape() const { return shape_; }

 private:
  [[nodiscard]] std::uint64_t rand();
  [[nodiscard]] std::size_t below(std::size_t n) { return static_cast<std::size_t>(rand() % n); }
  [[nodiscard]] core::Node node(std::size_t i) const;
  [[nodiscard]] core::AzureIdentity identity(std::size_t i) const;
  [[nodiscard]] std::size_t target_index(std::size_t node_index) const;
  [[nodiscard]] core::ArmTarget target(std::size_t target_index) const;
  [[nodiscard]] std::vector<core::VmIdentity> present_on(std::size_t target_index) const;
  // The AzureAssignedIdentity we write for pod `p` once its identity is in place.
  [[nodiscard]] core::AssignedIdentity assigned_for(std::size_t p, const std::string& version) const;

  ClusterShape shape_;
  std::uint64_t rng_;
  std::int64_t now_ms_{1'700'000'000'000};
  std::uint64_t version_{1'000'000};
  std::uint64_t op_{1};
  std::vector<std::size_t> pod_node_;                        // pod -> node index
  std::vector<std::size_t> pod_identity_;                    // pod -> identity index
  std::vector<std::set<std::size_t>> identities_on_target_;  // type-0 identities each VM/VMSS carries
  std::deque<core::Event> pending_;                          // the second half of two-event churn
};

}  // namespace podid::bench
