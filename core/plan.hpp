#pragma once
// The planner: plan(state, now) turns the difference between the desired assignments and what Azure and
// Kubernetes hold into actions. Pure; `now_ms` only decides which retries are due.
// Rules: one identity change per VM or scale set (split into requests of at most kMaxIdentitiesPerRequest);
// nothing for a target with a PATCH in flight or in back-off; identities are attached for due created or
// retry-scheduled type-0 assignments; an identity is detached only if this controller attached it, Azure
// still has it, no assignment on the same VM/VMSS needs it, and it is neither immutable nor the cluster's;
// types 1 and 2 need no ARM call; quarantined assignments only get their AzureAssignedIdentity status.
// The one exception to "never detach what is needed": an identity deleted and re-created in Azure under the
// same name is detached (once per target, resource ID and client ID) so that it is attached again (see
// `recreated` in plan.cpp); the projection records the repair from the ArmOperationStarted.
// An AzureAssignedIdentity is rewritten when its references or its copy of the identity (client ID,
// resource ID, type) differ from the state; an unknown copy (v1 events) counts as different, once.
// In managed mode there is no controller work: the plan is empty.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/state.hpp"

namespace podid::core {

inline constexpr std::size_t kMaxIdentitiesPerRequest = 150;

struct IdentityChange {
  ArmTarget target;
  std::vector<std::string> add;     // lower-case resource IDs
  std::vector<std::string> remove;  // lower-case resource IDs
  std::vector<Seq> caused_by;
  std::size_t part{0};  // 0-based request number within this target's change
  std::size_t parts{1};
  bool operator==(const IdentityChange&) const = default;
};

enum class AaiWriteKind { create, update, status, remove };

struct AaiWrite {
  AaiWriteKind kind{AaiWriteKind::create};
  AssignedIdentity assigned;  // the object as it should be (for remove: as observed)
  std::vector<Seq> caused_by;
  bool operator==(const AaiWrite&) const = default;
};

// A Kubernetes Event to record (upstream reasons: "binding applied", "binding apply error", "binding
// removed").
struct Report {
  bool warning{false};
  std::string reason;
  std::string message;
  std::string subject;  // "pod/<ns>/<name>"
  std::vector<Seq> caused_by;
  bool operator==(const Report&) const = default;
};

struct Plan {
  std::vector<IdentityChange> identity_changes;
  std::vector<AaiWrite> aai_writes;
  std::vector<Report> reports;
  std::optional<std::int64_t> wake_at_ms;  // the earliest future retry or back-off end
  [[nodiscard]] bool empty() const {
    return identity_changes.empty() && aai_writes.empty() && reports.empty();
  }
  bool operator==(const Plan&) const = default;
};

[[nodiscard]] Plan plan(const State& s, std::int64_t now_ms);

// Whether `resource_id` (lower-case) on `target` is immutable or the cluster's own, by resource ID or by the
// client ID Azure or an AzureIdentity reports for it.
[[nodiscard]] bool is_protected(const State& s, const ArmTarget& target, const std::string& resource_id);

}  // namespace podid::core
