#pragma once
// Step 1: the v1.6.0 field-case upgrade (upstream-behaviour.md §1.5, kubernetes-api.md §6.7). Objects stored
// before v1.6.0 carry spec keys such as ClientID, ResourceID, TenantID, ClientPassword, AzureIdentity,
// Selector, PodLabels; MIC <= 1.5 wrote AzureAssignedIdentities with azureidentityref, azurebindingref,
// podnamespace and, inside the embedded snapshots, clientid and friends. For each canonical spec key, every
// key equal to it ignoring ASCII case is found; the exact canonical key wins when present, else the first
// legacy one; legacy spellings are removed. Embedded identity and binding snapshots in an
// AzureAssignedIdentity are rewritten the same way and get apiVersion/kind when missing (required for
// embedded resources).

#include "migrations/migration.hpp"

namespace podid::migrations {

class CrdFieldCase final : public Migration {
 public:
  [[nodiscard]] std::string_view id() const override { return "m0001_crd_field_case"; }
  [[nodiscard]] std::string_view description() const override {
    return "Rewrite pre-1.6.0 field names (ClientID, ResourceID, ...) to the canonical camelCase keys";
  }
  [[nodiscard]] core::Result<bool> apply(ObjectKind kind, boost::json::object& object) const override;
};

}  // namespace podid::migrations
