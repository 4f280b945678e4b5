#pragma once
// CloudConfig: the controller's Azure settings in the original's azure.json format (cloud, tenantId,
// subscriptionId, resourceGroup, vmType, aadClientId, aadClientSecret, aadClientCertPath,
// aadClientCertPassword, useManagedIdentityExtension, userAssignedIdentityID), plus custom-cloud endpoints
// (activeDirectoryEndpoint, resourceManagerEndpoint, tokenAudience, imdsEndpoint) so that one binary talks
// to an Azure cloud or to the emulator. Keys match case-insensitively (Go's encoding/json rule, which the
// original's YAML-over-JSON parser followed); unknown keys are ignored. Pure: the caller reads the file.

#include <optional>
#include <string>
#include <string_view>

#include "core/logger.hpp"
#include "core/result.hpp"

namespace podid::arm {

// Where a cloud's services live. URLs have no trailing slash, except token_audience, kept as written.
struct CloudEndpoints {
  std::string name;              // AzurePublicCloud, AzureChinaCloud, ..., or "custom"
  std::string authority_host;    // AAD, e.g. https://login.microsoftonline.com
  std::string resource_manager;  // ARM, e.g. https://management.azure.com
  std::string token_audience;    // the resource ARM tokens are requested for
  std::string imds{"http://169.254.169.254"};
  bool operator==(const CloudEndpoints&) const = default;
};

enum class CredentialKind { client_secret, client_certificate, managed_identity };

struct CloudConfig {
  CloudEndpoints cloud;
  std::string tenant_id;
  std::string subscription_id;
  std::string resource_group;
  std::string vm_type;  // "standard", "vmss" or empty; informational as in the original
  CredentialKind credential{CredentialKind::client_secret};
  std::string client_id;                                          // aadClientId
  core::Secret<std::string> client_secret{std::string()};         // aadClientSecret
  std::string client_cert_path;                                   // aadClientCertPath (PEM or PKCS#12)
  core::Secret<std::string> client_cert_password{std::string()};  // aadClientCertPassword
  std::string user_assigned_identity_id;  // a client ID; empty with managed identity: system-assigned
};

// The well-known clouds by their azure.json name (case-insensitive); empty name = AzurePublicCloud.
[[nodiscard]] std::optional<CloudEndpoints> known_cloud(std::string_view name);

// Parses and validates azure.json text. Errors are `invalid` and name the key and the problem.
[[nodiscard]] core::Result<CloudConfig> parse_cloud_config(std::string_view json_text);

}  // namespace podid::arm
