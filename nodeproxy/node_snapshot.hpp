#pragma once
// NodeSnapshot: everything one node proxy needs from the control plane's state, and nothing about other
// nodes. The controller computes it with node_snapshot() (a pure function of core::State) and replicates it
// as JSON; the node proxy answers every request from one immutable snapshot.
//
// Which identities a pod may use:
//  - standard mode: the pod's assignments (core::Assignment) except Unassigned ones, with their phase;
//    plus AzureAssignedIdentities with an empty status (from controllers older than 1.5) that have no
//    assignment: their phase is empty (std::nullopt) and they are served like Assigned ones;
//  - managed mode: the identities the matching rules give the pod (core::desired_for_pod), as Assigned:
//    they are attached ahead of time and nothing is written to Azure.
// Identities are listed in (namespace, name) order. Pods that finished keep their entry (their IP may be
// reused; the request pipeline ignores them when resolving a caller).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/result.hpp"
#include "core/state.hpp"

namespace podid::nodeproxy {

struct SnapshotIdentity {
  core::IdentityKey key;
  core::IdentityType type{core::IdentityType::user_assigned_msi};
  std::int64_t raw_type{0};
  std::string client_id;
  std::string resource_id;   // type 0; as written in the AzureIdentity
  std::string principal_id;  // type 0, when Azure reported it for the node's VM or scale set; else empty
  std::string tenant_id;     // types 1 and 2
  core::SecretRef secret_ref;
  std::optional<core::Phase> phase;  // empty: an AzureAssignedIdentity without status (old controllers)
  std::string reason;                // Quarantined / RetryScheduled: why
  std::vector<std::string> auxiliary_tenant_ids;  // type 1: the answer is an array (see README)
  std::string ad_endpoint;  // types 1 and 2: spec.adEndpoint, the AAD authority; empty: the node proxy's own
  bool operator==(const SnapshotIdentity&) const = default;
};

struct SnapshotPod {
  core::PodKey key;
  std::string ip;
  std::string phase;  // Kubernetes pod phase
  core::Labels labels;
  bool host_network{false};
  std::vector<SnapshotIdentity> identities;
  bool operator==(const SnapshotPod&) const = default;
};

struct NodeSnapshot {
  std::string node;
  core::Seq seq{0};  // the last event the snapshot reflects
  core::Mode mode{core::Mode::standard};
  std::vector<SnapshotPod> pods;                            // by key
  std::vector<core::AzurePodIdentityException> exceptions;  // of the namespaces of the node's pods
  bool operator==(const NodeSnapshot&) const = default;
};

[[nodiscard]] NodeSnapshot node_snapshot(const core::State& state, std::string node);

// An AzurePodIdentityException of the pod's namespace matches one of its labels (key exact, value
// case-insensitive), as core::is_excepted.
[[nodiscard]] bool is_excepted(const NodeSnapshot& snapshot, const SnapshotPod& pod);

// JSON codec: decode(encode(s)) == s. Errors are `corrupt` and name the field.
[[nodiscard]] std::string encode_snapshot(const NodeSnapshot& snapshot);
[[nodiscard]] core::Result<NodeSnapshot> decode_snapshot(std::string_view json);

}  // namespace podid::nodeproxy
