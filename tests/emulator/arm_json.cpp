#include "tests/emulator/arm_json.hpp"

#include <cstdio>

namespace podid::emulator {

boost::json::object identity_json(const ManagedIdentity& mi) {
  return boost::json::object{{"id", mi.id},
                             {"name", mi.name},
                             {"type", "Microsoft.ManagedIdentity/userAssignedIdentities"},
                             {"location", mi.location},
                             {"tags", boost::json::object{}},
                             {"properties", boost::json::object{{"tenantId", mi.tenant_id},
                                                                {"principalId", mi.principal_id},
                                                                {"clientId", mi.client_id}}}};
}

namespace {
boost::json::object identity_block(const Machine& m) {
  const bool user = !m.user.empty();
  const char* type = m.system ? (user ? "SystemAssigned, UserAssigned" : "SystemAssigned")
                              : (user ? "UserAssigned" : "None");
  boost::json::object block{{"type", type}};
  if (m.system) {
    block["principalId"] = m.system->principal_id;
    block["tenantId"] = m.tenant_id;
  }
  if (user) {
    boost::json::object map;
    for (const auto& [key, a] : m.user) {
      map[a.resource_id] = boost::json::object{{"principalId", a.principal_id}, {"clientId", a.client_id}};
    }
    block["userAssignedIdentities"] = std::move(map);
  }
  return block;
}
}  // namespace

boost::json::object machine_json(const Machine& m) {
  boost::json::object out{
      {"id", m.id}, {"name", m.name}, {"location", m.location}, {"tags", boost::json::object{}}};
  out["identity"] = identity_block(m);
  if (m.kind == MachineKind::vm) {
    out["type"] = "Microsoft.Compute/virtualMachines";
    out["properties"] = boost::json::object{
        {"vmId", m.vm_id},
        {"provisioningState", m.provisioning_state},
        {"hardwareProfile", boost::json::object{{"vmSize", "Standard_D2s_v3"}}},
        {"osProfile", boost::json::object{{"computerName", m.name}, {"adminUsername", "azureuser"}}}};
  } else {
    out["type"] = "Microsoft.Compute/virtualMachineScaleSets";
    out["sku"] =
        boost::json::object{{"name", "Standard_D2s_v3"}, {"tier", "Standard"}, {"capacity", m.capacity}};
    out["properties"] = boost::json::object{{"uniqueId", m.vm_id},
                                            {"provisioningState", m.provisioning_state},
                                            {"overprovision", false},
                                            {"upgradePolicy", boost::json::object{{"mode", "Manual"}}}};
  }
  return out;
}

std::string instance_name(const Machine& scale_set, int index) {
  return scale_set.name + "_" + std::to_string(index);
}

boost::json::object instance_json(const Machine& s, int index) {
  char computer[64];
  std::snprintf(computer, sizeof computer, "%06x", static_cast<unsigned>(index));
  return boost::json::object{
      {"id", s.id + "/virtualMachines/" + std::to_string(index)},
      {"name", instance_name(s, index)},
      {"instanceId", std::to_string(index)},
      {"type", "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"},
      {"location", s.location},
      {"sku", boost::json::object{{"name", "Standard_D2s_v3"}, {"tier", "Standard"}}},
      {"properties",
       boost::json::object{{"latestModelApplied", s.active_operation.empty()},
                           {"vmId", s.vm_id + "-" + std::to_string(index)},
                           {"provisioningState", s.provisioning_state},
                           {"osProfile", boost::json::object{{"computerName", s.name + computer}}}}}};
}

boost::json::object operation_json(const Operation& op) {
  boost::json::object out{{"name", op.id}, {"status", op.status}, {"startTime", iso8601_utc(op.start_unix)}};
  if (op.status != "InProgress") out["endTime"] = iso8601_utc(op.end_unix);
  return out;
}

HttpResponse arm_error(const ApiError& error) {
  return json_response(
      error.status,
      boost::json::object{{"error", boost::json::object{{"code", error.code}, {"message", error.message}}}});
}

}  // namespace podid::emulator
