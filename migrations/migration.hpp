#pragma once
// A numbered migration step over stored Kubernetes objects. Steps are pure functions of one object's JSON:
// apply() rewrites it in place and says whether anything changed; a second apply() must change nothing
// (idempotent), so an interrupted run simply runs again. Steps never do I/O; cli/ reads, writes and records
// MigrationApplied events.

#include <boost/json/object.hpp>
#include <string_view>

#include "core/result.hpp"

namespace podid::migrations {

enum class ObjectKind {
  azure_identity,
  azure_identity_binding,
  azure_pod_identity_exception,
  azure_assigned_identity
};

// "AzureIdentity", "AzureIdentityBinding", "AzurePodIdentityException", "AzureAssignedIdentity".
[[nodiscard]] std::string_view to_string(ObjectKind kind) noexcept;

class Migration {
 public:
  Migration() = default;
  Migration(const Migration&) = delete;
  Migration& operator=(const Migration&) = delete;
  virtual ~Migration() = default;

  [[nodiscard]] virtual std::string_view id() const = 0;  // "m0001_crd_field_case"
  [[nodiscard]] virtual std::string_view description() const = 0;
  // Rewrites `object` (a whole Kubernetes object); returns whether it changed. ErrorCode::invalid when the
  // object cannot be migrated (the caller reports it and carries on with the rest).
  [[nodiscard]] virtual core::Result<bool> apply(ObjectKind kind, boost::json::object& object) const = 0;
};

}  // namespace podid::migrations
