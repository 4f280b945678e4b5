#include "cli/migrate_support.hpp"

#include "core/model.hpp"

namespace podid::cli {
namespace json = boost::json;

namespace {

const json::object* object_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

bool flag(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string{};
}

// nullopt when the schema of one version keeps the legacy keys; else what it would prune.
std::optional<std::string> version_problem(const json::object& version, const MigratedKind& kind) {
  const auto name = str(version, "name");
  const auto* schema = object_at(version, "schema");
  const auto* root = schema != nullptr ? object_at(*schema, "openAPIV3Schema") : nullptr;
  if (root == nullptr) return "version " + name + " has no schema";
  if (flag(*root, "x-kubernetes-preserve-unknown-fields")) return std::nullopt;
  const auto* props = object_at(*root, "properties");
  const auto* spec = props != nullptr ? object_at(*props, "spec") : nullptr;
  if (spec == nullptr) return "version " + name + " declares no spec";
  if (flag(*spec, "x-kubernetes-preserve-unknown-fields")) return std::nullopt;
  const auto* spec_props = object_at(*spec, "properties");
  std::string missing;
  for (const auto key : kind.legacy_keys) {
    if (spec_props != nullptr && spec_props->contains(key)) continue;
    missing += (missing.empty() ? "" : ", ") + std::string(key);
  }
  if (missing.empty()) return std::nullopt;
  return "version " + name + " prunes spec." + missing;
}

void diff(const json::object& before, const json::object& after, const std::string& path,
          std::vector<std::string>& out) {
  for (const auto& kv : before) {
    const std::string key(kv.key());
    if (path.empty() && key == "metadata") continue;
    if (after.contains(kv.key())) {
      const auto* b = object_at(before, key);
      const auto* a = object_at(after, key);
      if (a != nullptr && b != nullptr) diff(*b, *a, path + key + ".", out);
      continue;
    }
    std::string renamed;
    for (const auto& akv : after)
      if (!before.contains(akv.key()) && core::iequals(akv.key(), kv.key())) renamed = akv.key();
    out.push_back(renamed.empty() ? path + key + " removed" : path + key + " -> " + path + renamed);
  }
  for (const auto& akv : after) {
    if (before.contains(akv.key())) continue;
    bool is_rename = false;
    for (const auto& kv : before)
      if (!after.contains(kv.key()) && core::iequals(akv.key(), kv.key())) is_rename = true;
    if (!is_rename) out.push_back(path + std::string(akv.key()) + " added");
  }
}

}  // namespace

const std::vector<MigratedKind>& migrated_kinds() {
  using migrations::ObjectKind;
  namespace kinds = watch::kinds;
  static const std::vector<MigratedKind> all{
      {ObjectKind::azure_identity,
       &kinds::azure_identities(),
       "azureidentities.aadpodidentity.k8s.io",
       {"ClientID", "ClientPassword", "ResourceID", "TenantID"}},
      {ObjectKind::azure_identity_binding,
       &kinds::azure_identity_bindings(),
       "azureidentitybindings.aadpodidentity.k8s.io",
       {"AzureIdentity", "Selector"}},
      {ObjectKind::azure_pod_identity_exception,
       &kinds::azure_pod_identity_exceptions(),
       "azurepodidentityexceptions.aadpodidentity.k8s.io",
       {"PodLabels"}},
      {ObjectKind::azure_assigned_identity,
       &kinds::azure_assigned_identities(),
       "azureassignedidentities.aadpodidentity.k8s.io",
       {"azureidentityref", "azurebindingref", "podnamespace"}},
  };
  return all;
}

std::optional<std::string> legacy_keys_problem(const json::object& crd, const MigratedKind& kind) {
  const auto* spec = object_at(crd, "spec");
  if (spec == nullptr) return "the CRD has no spec";
  if (flag(*spec, "preserveUnknownFields")) return std::nullopt;
  const auto* versions = spec->if_contains("versions");
  if (versions == nullptr || !versions->is_array() || versions->get_array().empty())
    return "the CRD lists no versions";
  std::optional<std::string> problem;
  for (const auto& v : versions->get_array()) {
    if (!v.is_object() || !flag(v.get_object(), "served")) continue;
    if (auto p = version_problem(v.get_object(), kind)) problem = problem ? *problem + "; " + *p : *p;
  }
  return problem;
}

std::vector<std::string> renamed_keys(const json::object& before, const json::object& after) {
  std::vector<std::string> out;
  diff(before, after, "", out);
  return out;
}

}  // namespace podid::cli
