#pragma once
// The identity block of a VM or scale set, and the sparse identity PATCH that turns it into what a change
// asks for, as the original built it (upstream-behaviour.md §2.6):
// - attach only what is absent ({}), detach only what is present (null); an ID both added and removed is
//   added; nothing else is ever detached;
// - type keeps the system-assigned identity: "SystemAssigned, UserAssigned" or "UserAssigned";
// - with no user-assigned identity left: type "SystemAssigned" or "None" and no map;
// - nothing to change: no PATCH.
// Pure.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/events.hpp"
#include "core/result.hpp"

namespace podid::arm {

struct VmIdentities {
  bool system_assigned{false};
  std::vector<core::VmIdentity> user;  // resource IDs in lower case, sorted
  std::string provisioning_state;
  bool operator==(const VmIdentities&) const = default;
};

struct IdentityPatch {
  std::string type;                  // UserAssigned, "SystemAssigned, UserAssigned", SystemAssigned, None
  std::map<std::string, bool> user;  // lower-case resource ID -> true: attach ({}), false: detach (null)
  bool operator==(const IdentityPatch&) const = default;
};

// Empty when the VM or scale set already is as asked.
[[nodiscard]] std::optional<IdentityPatch> make_identity_patch(const VmIdentities& current,
                                                               const std::vector<std::string>& add,
                                                               const std::vector<std::string>& remove);

// {"identity":{"type":...,"userAssignedIdentities":{...}}}
[[nodiscard]] std::string encode_identity_patch(const IdentityPatch& patch);

// The identity block of an ARM VM or scale-set body. Errors are `transient` (ARM answered nonsense).
[[nodiscard]] core::Result<VmIdentities> decode_vm_identities(std::string_view body);

}  // namespace podid::arm
