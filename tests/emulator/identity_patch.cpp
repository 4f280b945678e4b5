// Resources::patch_identity: the identity PATCH of a VM or scale set, with Azure's validation and errors.
#include <algorithm>
#include <boost/json/object.hpp>

#include "tests/emulator/http_message.hpp"
#include "tests/emulator/resources.hpp"

namespace podid::emulator {

namespace {

constexpr std::size_t kMaxIdentitiesPerRequest = 150;

struct IdentityType {
  bool system{false};
  bool user{false};
};

std::optional<IdentityType> parse_type(std::string_view text) {
  std::string compact;
  for (const char c : text) {
    if (c != ' ') compact += c;
  }
  compact = to_lower(compact);
  if (compact == "none") return IdentityType{false, false};
  if (compact == "systemassigned") return IdentityType{true, false};
  if (compact == "userassigned") return IdentityType{false, true};
  if (compact == "systemassigned,userassigned") return IdentityType{true, true};
  return std::nullopt;
}

std::string joined(const std::vector<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

}  // namespace

ApiResult<std::map<std::string, AttachedIdentity>> Resources::apply_user_map(
    const Machine& machine, const boost::json::object& map, const std::string& caller_oid) const {
  std::map<std::string, AttachedIdentity> result = machine.user;
  std::vector<std::string> missing;
  std::vector<std::string> denied;
  for (const auto& [key, value] : map) {
    const std::string id(key);
    if (value.is_null()) {
      result.erase(to_lower(id));
      continue;
    }
    if (!value.is_object()) {
      return ApiError{400, "InvalidParameter",
                      "The value of parameter 'identity.userAssignedIdentities[" + id + "]' is invalid."};
    }
    const auto it = identities_.find(to_lower(id));
    if (it == identities_.end()) {
      missing.push_back(id);
      continue;
    }
    const auto& assigners = it->second.assigners;
    if (!assigners.empty() && std::find(assigners.begin(), assigners.end(), caller_oid) == assigners.end()) {
      denied.push_back(id);
      continue;
    }
    if (!result.contains(to_lower(id))) {
      result[to_lower(id)] = AttachedIdentity{id, it->second.principal_id, it->second.client_id};
    }
  }
  if (!denied.empty()) {
    const std::string action = machine.kind == MachineKind::vm
                                   ? "Microsoft.Compute/virtualMachines/write"
                                   : "Microsoft.Compute/virtualMachineScaleSets/write";
    return ApiError{
        403, "LinkedAuthorizationFailed",
        "The client '" + caller_oid + "' with object id '" + caller_oid +
            "' has permission to perform action '" + action + "' on scope '" + machine.id +
            "'; however, it does not have permission to perform action(s) "
            "'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' on the linked scope(s) '" +
            joined(denied) + "' (respectively) or the linked scope(s) are invalid."};
  }
  if (!missing.empty()) {
    return ApiError{
        400, "FailedIdentityOperation",
        "Identity operation for resource '" + machine.id +
            "' failed with error 'Failed to perform resource identity operation. Status: 'NotFound'. "
            "Response: the user assigned identities '" +
            joined(missing) + "' were not found.'."};
  }
  return result;
}

namespace {

// The `identity` object of a PATCH, validated: the type and the userAssignedIdentities map (or none).
struct ParsedPatch {
  IdentityType type;
  std::string type_text;
  const boost::json::object* map{nullptr};
};

ApiResult<ParsedPatch> parse_patch(const boost::json::value& identity) {
  if (!identity.is_object())
    return ApiError{400, "InvalidParameter", "The value of parameter 'identity' is invalid."};
  const boost::json::object& obj = identity.as_object();
  const auto* type_value = obj.if_contains("type");
  if (type_value == nullptr || !type_value->is_string()) {
    return ApiError{400, "InvalidParameter", "Required parameter 'identity.type' is missing (null)."};
  }
  ParsedPatch out;
  out.type_text = std::string(type_value->as_string());
  const auto type = parse_type(out.type_text);
  if (!type) {
    return ApiError{400, "InvalidParameter",
                    "The value '" + out.type_text + "' of parameter 'identity.type' is invalid."};
  }
  out.type = *type;
  const auto* map_value = obj.if_contains("userAssignedIdentities");
  if (map_value != nullptr && !map_value->is_null() && !map_value->is_object()) {
    return ApiError{400, "InvalidParameter",
                    "The value of parameter 'identity.userAssignedIdentities' is invalid."};
  }
  if (map_value != nullptr && map_value->is_object()) out.map = &map_value->as_object();
  if (out.map != nullptr && out.map->size() > kMaxIdentitiesPerRequest) {
    return ApiError{400, "InvalidParameter",
                    "User Assigned Identities Number '" + std::to_string(out.map->size()) +
                        "' Assign exceed limit '" + std::to_string(kMaxIdentitiesPerRequest) +
                        "' in one request"};
  }
  if (!out.type.user && out.map != nullptr) {
    for (const auto& [key, value] : *out.map) {
      if (!value.is_null()) {
        return ApiError{
            400, "InvalidParameter",
            "The identity type '" + out.type_text + "' cannot be used with user assigned identities."};
      }
    }
  }
  return out;
}

}  // namespace

ApiResult<PatchResult> Resources::patch_identity(MachineKind kind, const std::string& sub,
                                                 const std::string& rg, const std::string& name,
                                                 const boost::json::value& identity,
                                                 const std::string& caller_oid) {
  if (!has_resource_group(sub, rg)) {
    return ApiError{404, "ResourceGroupNotFound", "Resource group '" + rg + "' could not be found."};
  }
  const std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  settle(now);
  const auto it = machines_.find(to_lower(machine_id(kind, sub, rg, name)));
  if (it == machines_.end()) return not_found(kind, sub, rg, name);
  Machine& machine = it->second;
  if (kind == MachineKind::vmss && !machine.active_operation.empty()) {
    return ApiError{
        409, "Conflict",
        "The request failed due to conflict with a concurrent request. To resolve it, please refer to "
        "https://aka.ms/activitylog to get more details on the conflicting requests."};
  }
  auto patch = parse_patch(identity);
  if (!patch) return patch.error();
  std::map<std::string, AttachedIdentity>
      user;  // type None or SystemAssigned: no user-assigned identity left
  if (patch->type.user && patch->map != nullptr) {
    auto applied = apply_user_map(machine, *patch->map, caller_oid);
    if (!applied) return applied.error();
    user = std::move(*applied);
  } else if (patch->type.user) {
    user = machine.user;
  }
  machine.user = std::move(user);
  if (patch->type.system && !machine.system) machine.system = SystemIdentity{new_guid(), new_guid()};
  if (!patch->type.system) machine.system.reset();

  Operation op;
  op.id = new_guid();
  op.machine_key = to_lower(machine.id);
  op.start_unix = unix_now();
  op.due = now + (kind == MachineKind::vm ? latencies_.vm : latencies_.vmss);
  machine.active_operation = op.id;
  machine.provisioning_state = "Updating";
  operations_[to_lower(op.id)] = op;
  PatchResult out{machine, op};
  return out;
}

}  // namespace podid::emulator
