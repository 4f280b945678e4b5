#pragma once
// Pure helpers of `podidctl migrate`: which CRDs we migrate and the legacy (pre-1.6.0) spellings each must
// keep readable, the check that a served CRD keeps them (kubernetes-api.md §6.7: a structural schema
// prunes unknown keys on read and on write), and a readable list of the keys a migration step renamed.

#include <boost/json/object.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "migrations/migration.hpp"
#include "watch/resource.hpp"

namespace podid::cli {

struct MigratedKind {
  migrations::ObjectKind kind;
  const watch::ResourceKind* resource;
  std::string crd_name;                       // "azureidentities.aadpodidentity.k8s.io"
  std::vector<std::string_view> legacy_keys;  // spec keys an old cluster stored, e.g. "ClientID"
};

// AzureIdentity, AzureIdentityBinding, AzurePodIdentityException, then AzureAssignedIdentity: the order
// upstream used (assigned identities embed snapshots of the others).
[[nodiscard]] const std::vector<MigratedKind>& migrated_kinds();

// Why the CRD would hide (prune) legacy keys of `kind`, or nullopt when every served version keeps them:
// spec.preserveUnknownFields, x-kubernetes-preserve-unknown-fields on the root or on spec, or every legacy
// key declared under spec.
[[nodiscard]] std::optional<std::string> legacy_keys_problem(const boost::json::object& crd,
                                                             const MigratedKind& kind);

// The keys that differ between an object before and after a migration step, as "spec.ClientID ->
// spec.clientID", "spec.azureIdentityRef.kind added", ... (metadata is ignored).
[[nodiscard]] std::vector<std::string> renamed_keys(const boost::json::object& before,
                                                    const boost::json::object& after);

}  // namespace podid::cli
