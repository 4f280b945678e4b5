#pragma once
// Decoding Kubernetes JSON (a Pod, a Node, and our four custom resources) into domain types. Errors are
// ErrorCode::invalid and name the object and the field ("AzureIdentity default/x: spec.type: expected an
// integer"). Spec keys of our custom resources also match case-insensitively when the canonical key is
// absent, as upstream's Go decoder did, so objects stored before v1.6.0 still read correctly.

#include <boost/json/value.hpp>

#include "core/model.hpp"
#include "core/result.hpp"

namespace podid::core {

inline constexpr std::string_view kBindingLabel = "aadpodidbinding";
inline constexpr std::string_view kBehaviorAnnotation = "aadpodidentity.k8s.io/Behavior";
inline constexpr std::string_view kNamespacedBehavior = "namespaced";

[[nodiscard]] Result<Pod> decode_pod(const boost::json::value& v);
[[nodiscard]] Result<Node> decode_node(const boost::json::value& v);
[[nodiscard]] Result<AzureIdentity> decode_identity(const boost::json::value& v);
[[nodiscard]] Result<AzureIdentityBinding> decode_binding(const boost::json::value& v);
[[nodiscard]] Result<AzurePodIdentityException> decode_exception(const boost::json::value& v);
[[nodiscard]] Result<AssignedIdentity> decode_assigned_identity(const boost::json::value& v);

}  // namespace podid::core
