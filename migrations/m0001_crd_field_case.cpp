#include "migrations/m0001_crd_field_case.hpp"

#include <array>
#include <boost/json.hpp>
#include <string>
#include <vector>

#include "core/model.hpp"

namespace podid::migrations {
namespace {

using core::ErrorCode;
using core::make_error;
using core::Result;

constexpr std::array<std::string_view, 10> kIdentityKeys{
    "type",         "resourceID", "clientID", "clientPassword", "tenantID", "auxiliaryTenantIDs",
    "adResourceID", "adEndpoint", "replicas", "metadata"};
constexpr std::array<std::string_view, 4> kBindingKeys{"azureIdentity", "selector", "weight", "metadata"};
constexpr std::array<std::string_view, 1> kExceptionKeys{"podLabels"};
constexpr std::array<std::string_view, 7> kAssignedKeys{
    "azureIdentityRef", "azureBindingRef", "pod", "podNamespace", "nodename", "replicas", "metadata"};
constexpr std::string_view kApiVersion = "aadpodidentity.k8s.io/v1";

// Rewrites the keys of `o` that equal a canonical key ignoring case. Returns whether anything changed.
template <std::size_t N>
bool canonicalise(boost::json::object& o, const std::array<std::string_view, N>& canonical) {
  bool changed = false;
  for (const auto key : canonical) {
    std::vector<std::string> legacy;
    for (const auto& kv : o)
      if (kv.key() != key && core::iequals(kv.key(), key)) legacy.emplace_back(kv.key());
    if (legacy.empty()) continue;
    if (!o.contains(key)) {
      boost::json::value v = o.at(legacy.front());  // copy first: inserting may rehash and move it
      o[key] = std::move(v);
    }
    for (const auto& k : legacy) o.erase(k);
    changed = true;
  }
  return changed;
}

Result<boost::json::object*> spec_of(boost::json::object& object, std::string_view what) {
  auto* spec = object.if_contains("spec");
  if (spec == nullptr || spec->is_null()) return nullptr;
  if (!spec->is_object())
    return make_error(ErrorCode::invalid, std::string(what) + ": spec is not an object");
  return &spec->get_object();
}

template <std::size_t N>
Result<bool> migrate_spec(boost::json::object& object, std::string_view what,
                          const std::array<std::string_view, N>& keys) {
  auto spec = spec_of(object, what);
  if (!spec) return spec.error();
  if (*spec == nullptr) return false;
  return canonicalise(**spec, keys);
}

// An embedded snapshot of an AzureIdentity or binding inside an AzureAssignedIdentity spec.
template <std::size_t N>
Result<bool> migrate_embedded(boost::json::object& spec, std::string_view field, std::string_view kind,
                              const std::array<std::string_view, N>& keys) {
  auto* ref = spec.if_contains(field);
  if (ref == nullptr || ref->is_null()) return false;
  if (!ref->is_object())
    return make_error(ErrorCode::invalid,
                      "AzureAssignedIdentity: spec." + std::string(field) + " is not an object");
  auto& o = ref->get_object();
  bool changed = false;
  if (!o.contains("apiVersion")) {
    o["apiVersion"] = kApiVersion;
    changed = true;
  }
  if (!o.contains("kind")) {
    o["kind"] = kind;
    changed = true;
  }
  auto inner = migrate_spec(o, std::string("AzureAssignedIdentity: spec.") + std::string(field), keys);
  if (!inner) return inner.error();
  return changed || *inner;
}

}  // namespace

std::string_view to_string(ObjectKind kind) noexcept {
  switch (kind) {
    case ObjectKind::azure_identity:
      return "AzureIdentity";
    case ObjectKind::azure_identity_binding:
      return "AzureIdentityBinding";
    case ObjectKind::azure_pod_identity_exception:
      return "AzurePodIdentityException";
    case ObjectKind::azure_assigned_identity:
      return "AzureAssignedIdentity";
  }
  return "AzureIdentity";
}

Result<bool> CrdFieldCase::apply(ObjectKind kind, boost::json::object& object) const {
  const auto what = to_string(kind);
  switch (kind) {
    case ObjectKind::azure_identity:
      return migrate_spec(object, what, kIdentityKeys);
    case ObjectKind::azure_identity_binding:
      return migrate_spec(object, what, kBindingKeys);
    case ObjectKind::azure_pod_identity_exception:
      return migrate_spec(object, what, kExceptionKeys);
    case ObjectKind::azure_assigned_identity:
      break;
  }
  auto outer = migrate_spec(object, what, kAssignedKeys);
  if (!outer) return outer.error();
  auto spec = spec_of(object, what);
  if (!spec) return spec.error();
  if (*spec == nullptr) return *outer;
  auto id = migrate_embedded(**spec, "azureIdentityRef", "AzureIdentity", kIdentityKeys);
  if (!id) return id.error();
  auto binding = migrate_embedded(**spec, "azureBindingRef", "AzureIdentityBinding", kBindingKeys);
  if (!binding) return binding.error();
  return *outer || *id || *binding;
}

}  // namespace podid::migrations
