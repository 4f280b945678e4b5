#pragma once
// State: everything the projection knows after applying a prefix of the log. Observed Kubernetes objects,
// settings, the actual Azure state per VM or scale set, in-flight ARM operations, and the assignment state
// machine per (pod, identity). Plain data with value equality; the indexes are derived and rebuilt on decode.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/events.hpp"
#include "core/model.hpp"

namespace podid::core {

// Created: desired, the identity is not confirmed on the VM/VMSS yet (or, for service principals, the
//   AzureAssignedIdentity does not exist yet). Assigned: confirmed. Unassigned: no longer desired; its
//   AzureAssignedIdentity still has to be deleted. Quarantined: desired but cannot be applied (reason says
//   why); re-evaluated when the identity, binding, pod or node changes. RetryScheduled: an ARM call failed
//   or was throttled; retried from not_before_ms.
enum class Phase { created, assigned, unassigned, quarantined, retry_scheduled };

[[nodiscard]] std::string_view to_string(Phase p) noexcept;  // "Created", "Assigned", ... (the AAI status)
[[nodiscard]] std::optional<Phase> parse_phase(std::string_view s) noexcept;

struct AssignmentKey {
  PodKey pod;
  IdentityKey identity;
  auto operator<=>(const AssignmentKey&) const = default;
  bool operator==(const AssignmentKey&) const = default;
};

struct Assignment {
  PodKey pod;
  IdentityKey identity;
  BindingKey binding;
  AssignedKey aai;  // the AzureAssignedIdentity that records it
  std::string node;
  std::optional<ArmTarget> target;  // empty until the node is known to be an Azure VM or VMSS instance
  IdentityType type{IdentityType::user_assigned_msi};
  std::string resource_id;  // lower-cased; type 0 only
  std::string client_id;
  std::string identity_version;  // "g<generation>" (else resourceVersion) when last evaluated
  Phase phase{Phase::created};
  std::string reason;             // quarantined and retry_scheduled: why
  std::int64_t not_before_ms{0};  // retry_scheduled: when
  int attempts{0};                // failed ARM attempts since the last success or change
  std::vector<Seq> caused_by;     // seqs of the events that last changed it (at most kMaxCauses)
  bool operator==(const Assignment&) const = default;
};

inline constexpr std::size_t kMaxCauses = 8;

struct TargetState {
  bool observed{false};                       // Azure's identity list has been read at least once
  std::map<std::string, VmIdentity> present;  // lower-case resource ID -> as Azure reports it
  std::set<std::string> ours;                 // lower-case resource IDs this controller attached
  // In `present` only because our PATCH succeeded: no Azure read has reported their client and principal
  // IDs yet (empty there means unknown, not null). A read clears it.
  std::set<std::string> unconfirmed;
  // (resource ID, the AzureIdentity's client ID) detached as recreated in Azure: each at most once, so that
  // a wrong client ID in an AzureIdentity cannot make a detach loop. Pruned when nothing on the target
  // uses the resource ID any more.
  std::set<std::pair<std::string, std::string>> repaired;
  std::string in_flight;          // operation ID of the PATCH in progress; empty when idle
  std::int64_t not_before_ms{0};  // back-off after a failure or throttling
  int failures{0};
  Seq last_seq{0};  // the last event that changed what this target needs or has
  bool operator==(const TargetState&) const = default;
};

struct Operation {
  std::string id;
  ArmTarget target;
  std::vector<std::string> add;  // lower-cased
  std::vector<std::string> remove;
  std::vector<Seq> caused_by;
  std::int64_t started_ms{0};
  bool operator==(const Operation&) const = default;
};

// Derived lookups, rebuilt from the data (rebuild_indexes) and kept in step by the projection.
struct Indexes {
  std::map<std::string, std::set<PodKey>> pods_by_label;  // aadpodidbinding value -> pods
  std::map<std::string, std::set<PodKey>> pods_by_node;
  std::map<std::string, std::set<BindingKey>> bindings_by_selector;
  std::map<ArmTarget, std::set<AssignmentKey>> assignments_by_target;
  std::map<AssignedKey, AssignmentKey> assignment_by_aai;
  // User-assigned (type 0) assignments that have a target, by target and phase: the Created or
  // RetryScheduled ones (what an ARM result or an Azure read may settle), and the lower-case resource IDs of
  // the Assigned ones with how many assignments use each (to see at once whether an Azure read detached any).
  std::map<ArmTarget, std::set<AssignmentKey>> unsettled_by_target;
  std::map<ArmTarget, std::map<std::string, std::size_t>> assigned_ids_by_target;
  std::map<PodKey, std::size_t> unassigned_by_pod;  // pods with Unassigned assignments -> how many
  bool operator==(const Indexes&) const = default;
};

struct State {
  Seq last_seq{0};
  std::int64_t last_at_ms{0};
  Settings settings;
  std::map<PodKey, Pod> pods;
  std::map<IdentityKey, AzureIdentity> identities;
  std::map<BindingKey, AzureIdentityBinding> bindings;
  std::map<ExceptionKey, AzurePodIdentityException> exceptions;
  std::map<std::string, Node> nodes;
  std::map<AssignedKey, AssignedIdentity> assigned;  // AzureAssignedIdentities as observed or written
  std::map<ArmTarget, TargetState> targets;
  std::map<std::string, Operation> operations;  // in flight, by ID
  std::map<AssignmentKey, Assignment> assignments;
  std::map<std::string, std::int64_t> migrations;  // migration ID -> objects it changed
  Indexes index;
  bool operator==(const State&) const = default;
};

void rebuild_indexes(State& s);

// The AzureAssignedIdentity namespace for an identity: its own when namespaced (globally or by annotation),
// else "default", as upstream.
[[nodiscard]] bool is_namespaced(const Settings& settings, const AzureIdentity& identity);

}  // namespace podid::core
