#pragma once
// The ARM side of the emulated cloud: subscriptions, resource groups, user-assigned identities, VMs and
// scale sets with their identity blocks, and long-running operations. Thread-safe (one mutex).
// A machine has a model (what ARM GET shows) and an effective identity set (what its IMDS serves); a
// PATCH changes the model at once and the effective set when its operation completes after the latency.

#include <boost/json/value.hpp>
#include <boost/system/result.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tests/emulator/config.hpp"
#include "tests/emulator/crypto.hpp"

namespace podid::emulator {

// An ARM error: HTTP status and Azure's error code and message.
struct ApiError {
  unsigned status{400};
  std::string code;
  std::string message;
};
[[noreturn]] void throw_exception_from_error(const ApiError& e, const boost::source_location& loc);
template <class T>
using ApiResult = boost::system::result<T, ApiError>;

struct ManagedIdentity {
  std::string id;
  std::string subscription_id;
  std::string resource_group;
  std::string name;
  std::string location;
  std::string tenant_id;
  std::string principal_id;
  std::string client_id;
  std::vector<std::string> assigners;  // empty = anyone in the tenant
};

struct AttachedIdentity {
  std::string resource_id;  // as the caller wrote it
  std::string principal_id;
  std::string client_id;
};

struct SystemIdentity {
  std::string principal_id;
  std::string client_id;
};

enum class MachineKind { vm, vmss };

struct Machine {
  MachineKind kind{MachineKind::vm};
  std::string id;
  std::string subscription_id;
  std::string resource_group;
  std::string name;
  std::string location;
  std::string tenant_id;
  std::string vm_id;
  int capacity{1};
  std::optional<SystemIdentity> system;
  std::map<std::string, AttachedIdentity> user;  // model, by lower-case resource ID
  std::optional<SystemIdentity> effective_system;
  std::map<std::string, AttachedIdentity> effective_user;  // what IMDS serves
  std::string provisioning_state{"Succeeded"};
  std::string active_operation;
};

struct Operation {
  std::string id;
  std::string machine_key;
  std::string status{"InProgress"};
  SteadyTime due;
  long long start_unix{0};
  long long end_unix{0};
};

struct PatchResult {
  Machine machine;
  Operation operation;
};

class Resources {
 public:
  explicit Resources(Latencies latencies) : latencies_(latencies) {}

  [[nodiscard]] Status add_subscription(const SubscriptionConfig& subscription);
  [[nodiscard]] std::optional<std::string> subscription_tenant(const std::string& subscription_id) const;
  [[nodiscard]] bool has_resource_group(const std::string& subscription_id, const std::string& rg) const;

  // Creates (new principal and client IDs) or updates (same IDs) an identity; `created` says which.
  [[nodiscard]] ApiResult<ManagedIdentity> put_identity(const IdentityConfig& identity, bool& created);
  [[nodiscard]] ApiResult<ManagedIdentity> get_identity(const std::string& sub, const std::string& rg,
                                                        const std::string& name) const;
  // True when it existed.
  [[nodiscard]] ApiResult<bool> delete_identity(const std::string& sub, const std::string& rg,
                                                const std::string& name);
  [[nodiscard]] std::vector<ManagedIdentity> list_identities(const std::string& sub,
                                                             const std::string& rg) const;
  [[nodiscard]] std::optional<ManagedIdentity> find_identity(const std::string& resource_id) const;

  [[nodiscard]] Result<std::string> add_machine(MachineKind kind, const MachineConfig& machine);
  [[nodiscard]] ApiResult<Machine> get_machine(MachineKind kind, const std::string& sub,
                                               const std::string& rg, const std::string& name);
  [[nodiscard]] std::vector<Machine> list_machines(MachineKind kind, const std::string& sub,
                                                   const std::string& rg);
  [[nodiscard]] std::optional<Machine> find_machine(const std::string& resource_id);

  // The identity PATCH (body = the `identity` object) by the principal `caller_oid`.
  [[nodiscard]] ApiResult<PatchResult> patch_identity(MachineKind kind, const std::string& sub,
                                                      const std::string& rg, const std::string& name,
                                                      const boost::json::value& identity,
                                                      const std::string& caller_oid);
  [[nodiscard]] std::optional<Operation> get_operation(const std::string& id);

  // Test controls, effective at once on the model and on IMDS ("behind the controller's back").
  [[nodiscard]] Status attach(const std::string& machine_id, const std::string& identity_id);
  [[nodiscard]] Status detach(const std::string& machine_id, const std::string& identity_id);
  [[nodiscard]] Status set_assigners(const std::string& identity_id, std::vector<std::string> principals);
  void set_latencies(Latencies latencies);

  [[nodiscard]] static std::string identity_id(const std::string& sub, const std::string& rg,
                                               const std::string& name);
  [[nodiscard]] static std::string machine_id(MachineKind kind, const std::string& sub, const std::string& rg,
                                              const std::string& name);

 private:
  void settle(SteadyTime now);
  [[nodiscard]] ApiError not_found(MachineKind kind, const std::string& sub, const std::string& rg,
                                   const std::string& name) const;
  [[nodiscard]] ApiResult<std::map<std::string, AttachedIdentity>> apply_user_map(
      const Machine& machine, const boost::json::object& map, const std::string& caller_oid) const;

  mutable std::mutex mutex_;
  Latencies latencies_;
  std::map<std::string, SubscriptionConfig> subscriptions_;  // by lower-case ID
  std::map<std::string, ManagedIdentity> identities_;        // by lower-case resource ID
  std::map<std::string, Machine> machines_;                  // by lower-case resource ID
  std::map<std::string, Operation> operations_;
};

}  // namespace podid::emulator
