#include "watch/resource.hpp"

namespace podid::watch {

std::string ResourceKind::api_version() const {
  return group.empty() ? version : group + "/" + version;
}

std::string collection_path(const ResourceKind& kind, std::string_view ns) {
  std::string path = kind.group.empty() ? "/api/" + kind.version : "/apis/" + kind.group + "/" + kind.version;
  if (kind.namespaced && !ns.empty()) {
    path += "/namespaces/";
    path += ns;
  }
  path += "/";
  path += kind.plural;
  return path;
}

std::string object_path(const ResourceKind& kind, std::string_view ns, std::string_view name,
                        std::string_view subresource) {
  std::string path = collection_path(kind, ns);
  path += "/";
  path += name;
  if (!subresource.empty()) {
    path += "/";
    path += subresource;
  }
  return path;
}

namespace kinds {
namespace {
constexpr std::string_view kAadGroup = "aadpodidentity.k8s.io";
}

const ResourceKind& pods() {
  static const ResourceKind k{"", "v1", "pods", "Pod", true};
  return k;
}
const ResourceKind& nodes() {
  static const ResourceKind k{"", "v1", "nodes", "Node", false};
  return k;
}
const ResourceKind& secrets() {
  static const ResourceKind k{"", "v1", "secrets", "Secret", true};
  return k;
}
const ResourceKind& config_maps() {
  static const ResourceKind k{"", "v1", "configmaps", "ConfigMap", true};
  return k;
}
const ResourceKind& leases() {
  static const ResourceKind k{"coordination.k8s.io", "v1", "leases", "Lease", true};
  return k;
}
const ResourceKind& events() {
  static const ResourceKind k{"events.k8s.io", "v1", "events", "Event", true};
  return k;
}
const ResourceKind& namespaces() {
  static const ResourceKind k{"", "v1", "namespaces", "Namespace", false};
  return k;
}
const ResourceKind& azure_identities() {
  static const ResourceKind k{std::string{kAadGroup}, "v1", "azureidentities", "AzureIdentity", true};
  return k;
}
const ResourceKind& azure_identity_bindings() {
  static const ResourceKind k{std::string{kAadGroup}, "v1", "azureidentitybindings", "AzureIdentityBinding",
                              true};
  return k;
}
const ResourceKind& azure_assigned_identities() {
  static const ResourceKind k{std::string{kAadGroup}, "v1", "azureassignedidentities",
                              "AzureAssignedIdentity", true};
  return k;
}
const ResourceKind& azure_pod_identity_exceptions() {
  static const ResourceKind k{std::string{kAadGroup}, "v1", "azurepodidentityexceptions",
                              "AzurePodIdentityException", true};
  return k;
}
}  // namespace kinds

}  // namespace podid::watch
