#pragma once
// Events: one struct per fact, past tense, with a stable `kind` and `version`. Each carries `at_ms`, the time
// the fact was observed (the projection takes time from here, never from the wall clock); Kubernetes
// observations carry the object's resourceVersion inside the object (or in `resource_version` for deletes).

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.hpp"
#include "core/model.hpp"

namespace podid::core {

#define PODID_EVENT(Name, Version)                \
  static constexpr std::string_view kind = #Name; \
  static constexpr int version = Version;         \
  std::int64_t at_ms{0};                          \
  bool operator==(const Name&) const = default

struct PodObserved {
  PODID_EVENT(PodObserved, 1);
  Pod pod;
};
struct PodDeleted {
  PODID_EVENT(PodDeleted, 1);
  PodKey key;
  std::string resource_version;
};
struct IdentityObserved {
  PODID_EVENT(IdentityObserved, 1);
  AzureIdentity identity;
};
struct IdentityDeleted {
  PODID_EVENT(IdentityDeleted, 1);
  IdentityKey key;
  std::string resource_version;
};
struct BindingObserved {
  PODID_EVENT(BindingObserved, 1);
  AzureIdentityBinding binding;
};
struct BindingDeleted {
  PODID_EVENT(BindingDeleted, 1);
  BindingKey key;
  std::string resource_version;
};
struct ExceptionObserved {
  PODID_EVENT(ExceptionObserved, 1);
  AzurePodIdentityException exception;
};
struct ExceptionDeleted {
  PODID_EVENT(ExceptionDeleted, 1);
  ExceptionKey key;
  std::string resource_version;
};
struct NodeObserved {
  PODID_EVENT(NodeObserved, 1);
  Node node;
};
struct NodeDeleted {
  PODID_EVENT(NodeDeleted, 1);
  std::string name;
  std::string resource_version;
};
// v2 adds `assigned.identityCopy`; v1 events decode with it unknown.
struct AssignedIdentityObserved {
  PODID_EVENT(AssignedIdentityObserved, 2);
  AssignedIdentity assigned;
};
struct AssignedIdentityDeleted {
  PODID_EVENT(AssignedIdentityDeleted, 1);
  AssignedKey key;
  std::string resource_version;
};

enum class Mode { standard, managed };

struct RetryPolicy {
  std::int64_t base_delay_ms{1000};
  std::int64_t max_delay_ms{300000};
  int max_attempts{5};  // permanent failures (permission, not found, invalid) quarantine after this many
  bool operator==(const RetryPolicy&) const = default;
};

struct Settings {
  bool force_namespaced{false};
  Mode mode{Mode::standard};
  std::vector<std::string> immutable_identities;  // client IDs or resource IDs, compared case-insensitively
  std::vector<std::string> cluster_identities;    // the cluster's own (kubelet) identities, same forms
  RetryPolicy retry;
  bool operator==(const Settings&) const = default;
};

struct SettingsObserved {
  PODID_EVENT(SettingsObserved, 1);
  Settings settings;
};

struct VmIdentity {
  std::string resource_id;
  std::string client_id;
  std::string principal_id;
  bool operator==(const VmIdentity&) const = default;
};

// What Azure reports as the user-assigned identities of a VM or scale set (a GET).
struct VmIdentitiesObserved {
  PODID_EVENT(VmIdentitiesObserved, 1);
  ArmTarget target;
  std::vector<VmIdentity> identities;
};

// One identity PATCH on a VM or scale set. `caused_by` are the seqs of the events that made it necessary.
struct ArmOperationStarted {
  PODID_EVENT(ArmOperationStarted, 1);
  std::string operation_id;
  ArmTarget target;
  std::vector<std::string> add;     // identity resource IDs
  std::vector<std::string> remove;  // identity resource IDs
  std::vector<Seq> caused_by;
};
struct ArmOperationSucceeded {
  PODID_EVENT(ArmOperationSucceeded, 1);
  std::string operation_id;
  ArmTarget target;
};
struct ArmOperationFailed {
  PODID_EVENT(ArmOperationFailed, 1);
  std::string operation_id;
  ArmTarget target;
  ErrorCode error_class{ErrorCode::transient};
  std::string message;
  std::vector<std::string> failed_identities;  // resource IDs ARM named as the cause; empty: all of them
};
struct ArmOperationThrottled {
  PODID_EVENT(ArmOperationThrottled, 1);
  std::string operation_id;
  ArmTarget target;
  std::int64_t retry_after_ms{0};
};

enum class WriteAction { created, updated, deleted };

// We wrote an AzureAssignedIdentity; `assigned` is the object as written (for deleted: its key matters).
// v2 adds `assigned.identityCopy`, as for AssignedIdentityObserved.
struct AssignedIdentityWritten {
  PODID_EVENT(AssignedIdentityWritten, 2);
  WriteAction action{WriteAction::created};
  AssignedIdentity assigned;
};

// A migration step rewrote (or checked) one stored object.
struct MigrationApplied {
  PODID_EVENT(MigrationApplied, 1);
  std::string migration_id;
  std::string object_kind;  // AzureIdentity, AzureIdentityBinding, ...; empty for the completion marker
  std::string object;       // "ns/name"
  bool changed{false};
};

#undef PODID_EVENT

using Event =
    std::variant<PodObserved, PodDeleted, IdentityObserved, IdentityDeleted, BindingObserved, BindingDeleted,
                 ExceptionObserved, ExceptionDeleted, NodeObserved, NodeDeleted, AssignedIdentityObserved,
                 AssignedIdentityDeleted, SettingsObserved, VmIdentitiesObserved, ArmOperationStarted,
                 ArmOperationSucceeded, ArmOperationFailed, ArmOperationThrottled, AssignedIdentityWritten,
                 MigrationApplied>;

[[nodiscard]] std::string_view kind_of(const Event& e);
[[nodiscard]] std::int64_t at_ms_of(const Event& e);

}  // namespace podid::core
