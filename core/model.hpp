#pragma once
// The domain's value types: strong keys for Kubernetes objects, and what we know about pods, identities,
// bindings, exceptions, nodes and assigned identities. Plain aggregates with value equality; no I/O.

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace podid::core {

using Seq = std::uint64_t;  // an event's sequence number in the log
using Labels = std::map<std::string, std::string>;

// A namespaced object key. The Tag makes PodKey and IdentityKey distinct types.
template <class Tag>
struct Key {
  std::string ns;
  std::string name;
  [[nodiscard]] std::string to_string() const { return ns + "/" + name; }
  auto operator<=>(const Key&) const = default;
  bool operator==(const Key&) const = default;
};

using PodKey = Key<struct PodTag>;
using IdentityKey = Key<struct IdentityTag>;
using BindingKey = Key<struct BindingTag>;
using ExceptionKey = Key<struct ExceptionTag>;
using AssignedKey = Key<struct AssignedTag>;  // an AzureAssignedIdentity

// Parses "ns/name"; an error names the input.
template <class K>
[[nodiscard]] Result<K> parse_key(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size())
    return make_error(ErrorCode::invalid, "expected <namespace>/<name>, got \"" + std::string(text) + "\"");
  return K{std::string(text.substr(0, slash)), std::string(text.substr(slash + 1))};
}

struct Pod {
  PodKey key;
  std::string uid;
  std::string node;  // spec.nodeName; empty until scheduled
  std::string ip;    // status.podIP; empty until running
  std::string phase;
  Labels labels;
  bool host_network{false};
  std::string resource_version;
  bool operator==(const Pod&) const = default;
};

enum class IdentityType : int {
  user_assigned_msi = 0,
  service_principal = 1,
  service_principal_certificate = 2,
  unknown = -1,  // any other value; AzureIdentity::raw_type keeps it
};

struct SecretRef {
  std::string name;
  std::string ns;
  bool operator==(const SecretRef&) const = default;
};

struct AzureIdentity {
  IdentityKey key;
  IdentityType type{IdentityType::user_assigned_msi};
  std::int64_t raw_type{0};  // spec.type as written
  std::string resource_id;
  std::string client_id;
  std::string tenant_id;
  SecretRef secret_ref;
  bool namespaced{false};  // annotation aadpodidentity.k8s.io/Behavior: namespaced
  std::string resource_version;
  std::int64_t generation{0};
  std::vector<std::string> auxiliary_tenant_ids;  // spec.auxiliaryTenantIDs (type 1: multi-tenant tokens)
  std::string ad_endpoint;  // spec.adEndpoint (types 1 and 2): the AAD authority; empty: the node proxy's own
  bool operator==(const AzureIdentity&) const = default;
};

struct AzureIdentityBinding {
  BindingKey key;
  std::string identity_name;  // looked up in the binding's own namespace
  std::string selector;       // equals the pod label aadpodidbinding
  std::string resource_version;
  bool operator==(const AzureIdentityBinding&) const = default;
};

struct AzurePodIdentityException {
  ExceptionKey key;
  Labels pod_labels;
  std::string resource_version;
  bool operator==(const AzurePodIdentityException&) const = default;
};

enum class VmKind { vm, vmss };

// Where a node lives in Azure, parsed from spec.providerID. Names are kept as written.
struct VmRef {
  VmKind kind{VmKind::vm};
  std::string subscription;
  std::string resource_group;
  std::string name;         // VM name, or scale-set name
  std::string instance_id;  // VMSS instance; empty for a VM
  bool operator==(const VmRef&) const = default;
};

// The thing identities are attached to: one VM, or one whole scale set. Parts are lower-cased, because
// ARM names are case-insensitive; ordering and equality are on those.
struct ArmTarget {
  VmKind kind{VmKind::vm};
  std::string subscription;
  std::string resource_group;
  std::string name;
  // "vm/<sub>/<rg>/<name>" or "vmss/<sub>/<rg>/<name>": the store's subject for this target.
  [[nodiscard]] std::string to_string() const;
  // The ARM resource ID of the VM or scale set.
  [[nodiscard]] std::string arm_id() const;
  auto operator<=>(const ArmTarget&) const = default;
  bool operator==(const ArmTarget&) const = default;
};

[[nodiscard]] ArmTarget target_of(const VmRef& vm);
[[nodiscard]] Result<ArmTarget> parse_target(std::string_view text);  // the inverse of to_string()

struct Node {
  std::string name;
  std::string provider_id;
  std::optional<VmRef> vm;  // empty when provider_id is not an Azure VM or VMSS instance
  std::string resource_version;
  bool operator==(const Node&) const = default;
};

// What an AzureAssignedIdentity's embedded copy of its AzureIdentity (spec.azureIdentityRef.spec) says, as
// far as the node proxy uses it: NMI serves tokens for this client ID / resource ID, so a stale copy breaks
// pods after the identity is edited.
struct IdentityCopy {
  std::int64_t raw_type{0};
  std::string client_id;
  std::string resource_id;
  bool operator==(const IdentityCopy&) const = default;
};

// An AzureAssignedIdentity as observed in (or written to) Kubernetes.
struct AssignedIdentity {
  AssignedKey key;
  PodKey pod;
  IdentityKey identity;
  BindingKey binding;
  std::string node;
  std::string status;  // Created, Assigned, Unassigned, Quarantined, RetryScheduled; empty from MIC < 1.5
  std::string reason;
  std::string resource_version;
  // Empty when unknown: the embedded reference has no spec, or the event predates the field
  // (AssignedIdentityObserved/Written v1). The planner then rewrites the object once (see plan.cpp).
  std::optional<IdentityCopy> identity_copy{};
  bool operator==(const AssignedIdentity&) const = default;
};

// Accepts, case-insensitively, /subscriptions/<s>/resourcegroups/<rg>/providers/
// Microsoft.ManagedIdentity/userAssignedIdentities/<name>, with no empty segment and nothing after it.
[[nodiscard]] bool is_valid_identity_resource_id(std::string_view id);

// azure:///subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachines/<n>, or
// .../virtualMachineScaleSets/<ss>/virtualMachines/<i>; case-insensitive. Anything else is invalid.
[[nodiscard]] Result<VmRef> parse_provider_id(std::string_view provider_id);

[[nodiscard]] std::string to_lower(std::string_view s);
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;

[[nodiscard]] std::string_view to_string(IdentityType type) noexcept;
[[nodiscard]] IdentityType identity_type_from(std::int64_t raw) noexcept;
[[nodiscard]] std::string_view to_string(VmKind kind) noexcept;

// The AzureAssignedIdentity name for (pod, identity). Upstream used <pod>-<podns>-<identity>, which collides
// when identities of the same name in two namespaces bind one pod (upstream quirk 5). We append an 8-hex
// FNV-1a hash of the full tuple, truncating the readable prefix so the name stays ≤ 253 characters.
[[nodiscard]] std::string assigned_identity_name(const PodKey& pod, const IdentityKey& identity);
// name == assigned_identity_name(pod, identity), without allocating.
[[nodiscard]] bool is_assigned_identity_name(std::string_view name, const PodKey& pod,
                                             const IdentityKey& identity);

}  // namespace podid::core
