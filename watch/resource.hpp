#pragma once
// The Kubernetes resources we talk to, and their REST paths. A ResourceKind is a plain value; the constants
// below cover every kind the controller and node agent use.

#include <string>
#include <string_view>

namespace podid::watch {

struct ResourceKind {
  std::string group;    // "" for the core API
  std::string version;  // "v1"
  std::string plural;   // "pods"
  std::string kind;     // "Pod"
  bool namespaced{true};

  // "v1" or "group/version": the apiVersion field of objects of this kind.
  [[nodiscard]] std::string api_version() const;
};

// Collection path: /api/v1/namespaces/{ns}/pods, or all namespaces (ns empty) / cluster-scoped kinds.
[[nodiscard]] std::string collection_path(const ResourceKind& kind, std::string_view ns);
// Object path: collection path + "/" + name (+ "/" + subresource when given).
[[nodiscard]] std::string object_path(const ResourceKind& kind, std::string_view ns, std::string_view name,
                                      std::string_view subresource = {});

namespace kinds {
[[nodiscard]] const ResourceKind& pods();
[[nodiscard]] const ResourceKind& nodes();
[[nodiscard]] const ResourceKind& secrets();
[[nodiscard]] const ResourceKind& config_maps();
[[nodiscard]] const ResourceKind& leases();  // coordination.k8s.io/v1
[[nodiscard]] const ResourceKind& events();  // events.k8s.io/v1
[[nodiscard]] const ResourceKind& namespaces();
// aadpodidentity.k8s.io/v1
[[nodiscard]] const ResourceKind& azure_identities();
[[nodiscard]] const ResourceKind& azure_identity_bindings();
[[nodiscard]] const ResourceKind& azure_assigned_identities();
[[nodiscard]] const ResourceKind& azure_pod_identity_exceptions();
}  // namespace kinds

}  // namespace podid::watch
