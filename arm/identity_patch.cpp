#include "arm/identity_patch.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <set>

#include "core/model.hpp"

namespace podid::arm {

std::optional<IdentityPatch> make_identity_patch(const VmIdentities& current,
                                                 const std::vector<std::string>& add,
                                                 const std::vector<std::string>& remove) {
  std::set<std::string> present;
  for (const auto& id : current.user) present.insert(core::to_lower(id.resource_id));
  std::set<std::string> adds;
  for (const auto& id : add) adds.insert(core::to_lower(id));
  IdentityPatch patch;
  for (const auto& id : remove) {
    const std::string lower = core::to_lower(id);
    if (present.contains(lower) && !adds.contains(lower)) patch.user[lower] = false;
  }
  for (const auto& id : adds) {
    if (!present.contains(id)) patch.user[id] = true;
  }
  if (patch.user.empty()) return std::nullopt;
  std::size_t after = present.size();
  for (const auto& [id, attach] : patch.user) after = attach ? after + 1 : after - 1;
  if (after == 0) {
    patch.type = current.system_assigned ? "SystemAssigned" : "None";
    patch.user.clear();
  } else {
    patch.type = current.system_assigned ? "SystemAssigned, UserAssigned" : "UserAssigned";
  }
  return patch;
}

std::string encode_identity_patch(const IdentityPatch& patch) {
  boost::json::object identity{{"type", patch.type}};
  if (!patch.user.empty()) {
    boost::json::object map;
    for (const auto& [id, attach] : patch.user) {
      if (attach) {
        map[id] = boost::json::object{};
      } else {
        map[id] = nullptr;
      }
    }
    identity["userAssignedIdentities"] = std::move(map);
  }
  return boost::json::serialize(boost::json::object{{"identity", std::move(identity)}});
}

namespace {

std::string string_at(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

core::Error nonsense(std::string what) {
  return core::make_error(core::ErrorCode::transient,
                          "ARM answered an unreadable resource: " + std::move(what));
}

}  // namespace

core::Result<VmIdentities> decode_vm_identities(std::string_view body) {
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(body, ec);
  if (ec || !doc.is_object()) return nonsense("not a JSON object");
  const auto& root = doc.as_object();
  VmIdentities out;
  if (const auto* props = root.if_contains("properties"); props != nullptr && props->is_object())
    out.provisioning_state = string_at(props->as_object(), "provisioningState");
  const auto* identity = root.if_contains("identity");
  if (identity == nullptr || identity->is_null()) return out;
  if (!identity->is_object()) return nonsense("identity is not an object");
  const auto& block = identity->as_object();
  std::string type = core::to_lower(string_at(block, "type"));
  out.system_assigned = type.find("systemassigned") != std::string::npos;
  const auto* map = block.if_contains("userAssignedIdentities");
  if (map == nullptr || map->is_null()) return out;
  if (!map->is_object()) return nonsense("identity.userAssignedIdentities is not an object");
  for (const auto& [key, value] : map->as_object()) {
    core::VmIdentity id;
    id.resource_id = core::to_lower(std::string_view(key));
    if (value.is_object()) {
      id.client_id = string_at(value.as_object(), "clientId");
      id.principal_id = string_at(value.as_object(), "principalId");
    }
    out.user.push_back(std::move(id));
  }
  std::sort(out.user.begin(), out.user.end(), [](const core::VmIdentity& a, const core::VmIdentity& b) {
    return a.resource_id < b.resource_id;
  });
  return out;
}

}  // namespace podid::arm
