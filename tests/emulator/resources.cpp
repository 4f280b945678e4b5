#include "tests/emulator/resources.hpp"

#include <boost/throw_exception.hpp>
#include <stdexcept>

#include "tests/emulator/http_message.hpp"

namespace podid::emulator {

using core::ErrorCode;
using core::make_error;

void throw_exception_from_error(const ApiError& e, const boost::source_location& loc) {
  boost::throw_exception(std::runtime_error(e.code + ": " + e.message), loc);
}

std::string Resources::identity_id(const std::string& sub, const std::string& rg, const std::string& name) {
  return "/subscriptions/" + sub + "/resourceGroups/" + rg +
         "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name;
}

std::string Resources::machine_id(MachineKind kind, const std::string& sub, const std::string& rg,
                                  const std::string& name) {
  return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/" +
         (kind == MachineKind::vm ? "virtualMachines/" : "virtualMachineScaleSets/") + name;
}

Status Resources::add_subscription(const SubscriptionConfig& subscription) {
  const std::lock_guard lock(mutex_);
  SubscriptionConfig& s = subscriptions_[to_lower(subscription.subscription_id)];
  s.subscription_id = subscription.subscription_id;
  s.tenant_id = subscription.tenant_id;
  for (const std::string& rg : subscription.resource_groups) s.resource_groups.push_back(rg);
  return core::ok();
}

std::optional<std::string> Resources::subscription_tenant(const std::string& subscription_id) const {
  const std::lock_guard lock(mutex_);
  const auto it = subscriptions_.find(to_lower(subscription_id));
  if (it == subscriptions_.end()) return std::nullopt;
  return it->second.tenant_id;
}

bool Resources::has_resource_group(const std::string& subscription_id, const std::string& rg) const {
  const std::lock_guard lock(mutex_);
  const auto it = subscriptions_.find(to_lower(subscription_id));
  if (it == subscriptions_.end()) return false;
  for (const std::string& g : it->second.resource_groups) {
    if (iequals(g, rg)) return true;
  }
  return false;
}

namespace {
ApiError group_not_found(const std::string& rg) {
  return ApiError{404, "ResourceGroupNotFound", "Resource group '" + rg + "' could not be found."};
}
ApiError resource_not_found(const std::string& type, const std::string& rg, const std::string& name) {
  return ApiError{404, "ResourceNotFound",
                  "The Resource '" + type + "/" + name + "' under resource group '" + rg +
                      "' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"};
}
}  // namespace

ApiResult<ManagedIdentity> Resources::put_identity(const IdentityConfig& identity, bool& created) {
  if (!has_resource_group(identity.subscription_id, identity.resource_group)) {
    return group_not_found(identity.resource_group);
  }
  const auto tenant = subscription_tenant(identity.subscription_id);
  const std::lock_guard lock(mutex_);
  const std::string id = identity_id(identity.subscription_id, identity.resource_group, identity.name);
  const auto it = identities_.find(to_lower(id));
  created = it == identities_.end();
  if (!created) {
    it->second.location = identity.location;
    return it->second;
  }
  ManagedIdentity mi{id,
                     identity.subscription_id,
                     identity.resource_group,
                     identity.name,
                     identity.location,
                     tenant.value_or(""),
                     new_guid(),
                     new_guid(),
                     identity.assigners};
  identities_[to_lower(id)] = mi;
  return mi;
}

ApiResult<ManagedIdentity> Resources::get_identity(const std::string& sub, const std::string& rg,
                                                   const std::string& name) const {
  if (!has_resource_group(sub, rg)) return group_not_found(rg);
  const std::lock_guard lock(mutex_);
  const auto it = identities_.find(to_lower(identity_id(sub, rg, name)));
  if (it == identities_.end()) {
    return resource_not_found("Microsoft.ManagedIdentity/userAssignedIdentities", rg, name);
  }
  return it->second;
}

ApiResult<bool> Resources::delete_identity(const std::string& sub, const std::string& rg,
                                           const std::string& name) {
  if (!has_resource_group(sub, rg)) return group_not_found(rg);
  const std::lock_guard lock(mutex_);
  const bool existed = identities_.erase(to_lower(identity_id(sub, rg, name))) > 0;
  return ApiResult<bool>(boost::system::in_place_value, existed);
}

std::vector<ManagedIdentity> Resources::list_identities(const std::string& sub, const std::string& rg) const {
  const std::lock_guard lock(mutex_);
  std::vector<ManagedIdentity> out;
  for (const auto& [key, mi] : identities_) {
    if (iequals(mi.subscription_id, sub) && iequals(mi.resource_group, rg)) out.push_back(mi);
  }
  return out;
}

std::optional<ManagedIdentity> Resources::find_identity(const std::string& resource_id) const {
  const std::lock_guard lock(mutex_);
  const auto it = identities_.find(to_lower(resource_id));
  if (it == identities_.end()) return std::nullopt;
  return it->second;
}

Result<std::string> Resources::add_machine(MachineKind kind, const MachineConfig& machine) {
  const auto tenant = subscription_tenant(machine.subscription_id);
  if (!tenant) return make_error(ErrorCode::not_found, "no subscription " + machine.subscription_id);
  if (!has_resource_group(machine.subscription_id, machine.resource_group)) {
    return make_error(ErrorCode::not_found, "no resource group " + machine.resource_group);
  }
  Machine m;
  m.kind = kind;
  m.id = machine_id(kind, machine.subscription_id, machine.resource_group, machine.name);
  m.subscription_id = machine.subscription_id;
  m.resource_group = machine.resource_group;
  m.name = machine.name;
  m.location = machine.location;
  m.tenant_id = *tenant;
  m.vm_id = new_guid();
  m.capacity = machine.capacity;
  if (machine.system_assigned) m.system = SystemIdentity{new_guid(), new_guid()};
  for (const std::string& id : machine.identities) {
    const auto mi = find_identity(id);
    if (!mi) return make_error(ErrorCode::not_found, "no identity " + id);
    m.user[to_lower(id)] = AttachedIdentity{mi->id, mi->principal_id, mi->client_id};
  }
  m.effective_system = m.system;
  m.effective_user = m.user;
  const std::lock_guard lock(mutex_);
  if (machines_.contains(to_lower(m.id))) return make_error(ErrorCode::conflict, "machine exists: " + m.id);
  const std::string id = m.id;
  machines_[to_lower(id)] = std::move(m);
  return id;
}

ApiError Resources::not_found(MachineKind kind, const std::string& sub, const std::string& rg,
                              const std::string& name) const {
  (void)sub;
  return resource_not_found(kind == MachineKind::vm ? "Microsoft.Compute/virtualMachines"
                                                    : "Microsoft.Compute/virtualMachineScaleSets",
                            rg, name);
}

ApiResult<Machine> Resources::get_machine(MachineKind kind, const std::string& sub, const std::string& rg,
                                          const std::string& name) {
  if (!has_resource_group(sub, rg)) return group_not_found(rg);
  const std::lock_guard lock(mutex_);
  settle(std::chrono::steady_clock::now());
  const auto it = machines_.find(to_lower(machine_id(kind, sub, rg, name)));
  if (it == machines_.end()) return not_found(kind, sub, rg, name);
  return it->second;
}

std::vector<Machine> Resources::list_machines(MachineKind kind, const std::string& sub,
                                              const std::string& rg) {
  const std::lock_guard lock(mutex_);
  settle(std::chrono::steady_clock::now());
  std::vector<Machine> out;
  for (const auto& [key, m] : machines_) {
    if (m.kind == kind && iequals(m.subscription_id, sub) && iequals(m.resource_group, rg)) out.push_back(m);
  }
  return out;
}

std::optional<Machine> Resources::find_machine(const std::string& resource_id) {
  const std::lock_guard lock(mutex_);
  settle(std::chrono::steady_clock::now());
  const auto it = machines_.find(to_lower(resource_id));
  if (it == machines_.end()) return std::nullopt;
  return it->second;
}

std::optional<Operation> Resources::get_operation(const std::string& id) {
  const std::lock_guard lock(mutex_);
  settle(std::chrono::steady_clock::now());
  const auto it = operations_.find(to_lower(id));
  if (it == operations_.end()) return std::nullopt;
  return it->second;
}

void Resources::settle(SteadyTime now) {
  for (auto& [id, op] : operations_) {
    if (op.status != "InProgress" || op.due > now) continue;
    op.status = "Succeeded";
    op.end_unix = unix_now();
    const auto it = machines_.find(op.machine_key);
    if (it == machines_.end() || it->second.active_operation != op.id) continue;
    it->second.effective_user = it->second.user;
    it->second.effective_system = it->second.system;
    it->second.provisioning_state = "Succeeded";
    it->second.active_operation.clear();
  }
}

Status Resources::attach(const std::string& machine_id, const std::string& identity_id) {
  const auto mi = find_identity(identity_id);
  if (!mi) return make_error(ErrorCode::not_found, "no identity " + identity_id);
  const std::lock_guard lock(mutex_);
  const auto it = machines_.find(to_lower(machine_id));
  if (it == machines_.end()) return make_error(ErrorCode::not_found, "no machine " + machine_id);
  const AttachedIdentity attached{mi->id, mi->principal_id, mi->client_id};
  it->second.user[to_lower(identity_id)] = attached;
  it->second.effective_user[to_lower(identity_id)] = attached;
  return core::ok();
}

Status Resources::detach(const std::string& machine_id, const std::string& identity_id) {
  const std::lock_guard lock(mutex_);
  const auto it = machines_.find(to_lower(machine_id));
  if (it == machines_.end()) return make_error(ErrorCode::not_found, "no machine " + machine_id);
  it->second.user.erase(to_lower(identity_id));
  it->second.effective_user.erase(to_lower(identity_id));
  return core::ok();
}

Status Resources::set_assigners(const std::string& identity_id, std::vector<std::string> principals) {
  const std::lock_guard lock(mutex_);
  const auto it = identities_.find(to_lower(identity_id));
  if (it == identities_.end()) return make_error(ErrorCode::not_found, "no identity " + identity_id);
  it->second.assigners = std::move(principals);
  return core::ok();
}

void Resources::set_latencies(Latencies latencies) {
  const std::lock_guard lock(mutex_);
  latencies_ = latencies;
}

}  // namespace podid::emulator
