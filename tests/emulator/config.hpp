#pragma once
// What an Emulator starts with: its cloud (tenants, apps, subscriptions, identities, machines), where it
// listens, and how it behaves (latencies, throttling budgets). Plain aggregates; the binary fills them from
// JSON.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/emulator/traffic.hpp"

namespace podid::emulator {

struct Bind {
  std::string address{"127.0.0.1"};
  std::uint16_t port{0};
};

struct FederatedCredential {
  std::string issuer;
  std::string subject;  // system:serviceaccount:<ns>:<sa>
  std::string audience{"api://AzureADTokenExchange"};
  std::string jwks_json;  // the issuer's {"keys":[...]}
};

struct AppConfig {
  std::string client_id;
  std::string object_id;  // service principal object ID; generated when empty
  std::vector<std::string> secrets;
  std::vector<std::string> certificate_pems;
  std::vector<FederatedCredential> federated;
};

struct TenantConfig {
  std::string tenant_id;
  std::vector<AppConfig> apps;
};

struct SubscriptionConfig {
  std::string subscription_id;
  std::string tenant_id;
  std::vector<std::string> resource_groups;
};

struct IdentityConfig {
  std::string subscription_id;
  std::string resource_group;
  std::string name;
  std::string location{"eastus"};
  // Principals (object IDs) allowed to assign it; empty = every caller of the tenant.
  std::vector<std::string> assigners;
};

struct MachineConfig {
  std::string subscription_id;
  std::string resource_group;
  std::string name;
  std::string location{"eastus"};
  bool system_assigned{false};
  std::vector<std::string> identities;  // ARM resource IDs attached at start
  int capacity{1};                      // scale sets only
};

struct Latencies {
  std::chrono::milliseconds vm{15000};
  std::chrono::milliseconds vmss{40000};
  std::chrono::seconds retry_after{5};  // Retry-After on long-running operations
};

struct EmulatorConfig {
  std::vector<TenantConfig> tenants;
  std::vector<SubscriptionConfig> subscriptions;
  std::vector<IdentityConfig> identities;
  std::vector<MachineConfig> vms;
  std::vector<MachineConfig> scale_sets;
  Latencies latencies;
  Budget arm_reads{250, 25};
  Budget arm_writes{200, 10};
  Budget imds_rate{20, 20};
  int imds_max_concurrent{5};  // per IMDS; 429 beyond
  Bind aad;
  Bind arm;
  std::optional<Bind> admin;            // plain-HTTP control endpoint (the binary), off by default
  std::vector<std::string> extra_sans;  // besides 127.0.0.1, ::1 and localhost
  std::string ca_file;                  // where to write the CA certificate (PEM); empty = do not write
  std::chrono::seconds token_lifetime{3599};
  std::chrono::seconds managed_identity_token_lifetime{86400};
  // Audiences ARM accepts in a bearer token, besides the ARM endpoint's own URL.
  std::vector<std::string> arm_audiences{"https://management.azure.com/", "https://management.azure.com",
                                         "https://management.core.windows.net/"};
  std::size_t threads{2};
  std::size_t body_limit{4U * 1024U * 1024U};
};

}  // namespace podid::emulator
