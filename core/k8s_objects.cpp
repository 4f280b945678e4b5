#include "core/k8s_objects.hpp"

#include <boost/json.hpp>

#include "core/json_reader.hpp"

namespace podid::core {
namespace {

struct Meta {
  std::string ns;
  std::string name;
  std::string resource_version;
  std::int64_t generation{0};
  Labels labels;
  Labels annotations;
};

// Reads metadata; the returned reader carries the object's description for later field errors.
JsonReader read_meta(const boost::json::value& v, std::string_view kind, bool namespaced, Meta& meta,
                     bool case_insensitive_spec = false) {
  JsonReader probe(v, std::string(kind), ErrorCode::invalid);
  auto m = probe.opt_child("metadata");
  std::string what(kind);
  const auto ns = m.opt_str("namespace");
  const auto name = m.opt_str("name");
  if (!name.empty()) what += " " + (namespaced ? ns + "/" + name : name);
  JsonReader r(v, what, ErrorCode::invalid, case_insensitive_spec);
  auto md = r.child("metadata");
  meta.name = md.str("name");
  if (namespaced) meta.ns = md.str("namespace");
  meta.resource_version = md.opt_str("resourceVersion");
  meta.generation = md.opt_i64("generation");
  meta.labels = md.string_map("labels");
  meta.annotations = md.string_map("annotations");
  return r;
}

// A reference embedded in an AssignedIdentity: either a full object snapshot or just its metadata.
template <class K>
K embedded_key(JsonReader& spec, std::string_view field, const std::string& default_ns) {
  auto ref = spec.opt_child(field);
  auto md = ref.opt_child("metadata");
  return K{md.opt_str("namespace", default_ns), md.opt_str("name")};
}

}  // namespace

Result<Pod> decode_pod(const boost::json::value& v) {
  Meta meta;
  auto r = read_meta(v, "Pod", true, meta);
  Pod pod;
  pod.key = {meta.ns, meta.name};
  pod.resource_version = meta.resource_version;
  pod.labels = std::move(meta.labels);
  pod.uid = r.opt_child("metadata").opt_str("uid");
  auto spec = r.opt_child("spec");
  pod.node = spec.opt_str("nodeName");
  pod.host_network = spec.opt_bool("hostNetwork");
  auto status = r.opt_child("status");
  pod.ip = status.opt_str("podIP");
  pod.phase = status.opt_str("phase");
  PODID_TRY(r.status());
  return pod;
}

Result<Node> decode_node(const boost::json::value& v) {
  Meta meta;
  auto r = read_meta(v, "Node", false, meta);
  Node node;
  node.name = meta.name;
  node.resource_version = meta.resource_version;
  node.provider_id = r.opt_child("spec").opt_str("providerID");
  PODID_TRY(r.status());
  // A node that is not an Azure VM is still a node; it just has nowhere to attach identities.
  if (auto vm = parse_provider_id(node.provider_id)) node.vm = *vm;
  return node;
}

Result<AzureIdentity> decode_identity(const boost::json::value& v) {
  Meta meta;
  auto r = read_meta(v, "AzureIdentity", true, meta, true);
  AzureIdentity id;
  id.key = {meta.ns, meta.name};
  id.resource_version = meta.resource_version;
  id.generation = meta.generation;
  const auto behavior = meta.annotations.find(std::string(kBehaviorAnnotation));
  id.namespaced = behavior != meta.annotations.end() && behavior->second == kNamespacedBehavior;
  auto spec = r.child("spec");
  id.raw_type = spec.opt_i64("type");
  id.type = identity_type_from(id.raw_type);
  id.resource_id = spec.opt_str("resourceID");
  id.client_id = spec.opt_str("clientID");
  id.tenant_id = spec.opt_str("tenantID");
  auto secret = spec.opt_child("clientPassword");
  id.secret_ref = {secret.opt_str("name"), secret.opt_str("namespace")};
  id.auxiliary_tenant_ids = spec.strings("auxiliaryTenantIDs");
  id.ad_endpoint = spec.opt_str("adEndpoint");
  PODID_TRY(r.status());
  return id;
}

Result<AzureIdentityBinding> decode_binding(const boost::json::value& v) {
  Meta meta;
  auto r = read_meta(v, "AzureIdentityBinding", true, meta, true);
  AzureIdentityBinding b;
  b.key = {meta.ns, meta.name};
  b.resource_version = meta.resource_version;
  auto spec = r.child("spec");
  b.identity_name = spec.opt_str("azureIdentity");
  b.selector = spec.opt_str("selector");
  PODID_TRY(r.status());
  return b;
}

Result<AzurePodIdentityException> decode_exception(const boost::json::value& v) {
  Meta meta;
  auto r = read_meta(v, "AzurePodIdentityException", true, meta, true);
  AzurePodIdentityException e;
  e.key = {meta.ns, meta.name};
  e.resource_version = meta.resource_version;
  e.pod_labels = r.child("spec").string_map("podLabels");
  PODID_TRY(r.status());
  return e;
}

Result<AssignedIdentity> decode_assigned_identity(const boost::json::value& v) {
  Meta meta;
  auto r = read_meta(v, "AzureAssignedIdentity", true, meta, true);
  AssignedIdentity a;
  a.key = {meta.ns, meta.name};
  a.resource_version = meta.resource_version;
  auto spec = r.child("spec");
  a.pod = {spec.opt_str("podNamespace"), spec.opt_str("pod")};
  a.node = spec.opt_str("nodename");
  a.identity = embedded_key<IdentityKey>(spec, "azureIdentityRef", meta.ns);
  a.binding = embedded_key<BindingKey>(spec, "azureBindingRef", a.identity.ns);
  // A reference with metadata only (or none) says nothing about the identity's content: unknown.
  if (auto ref = spec.opt_child("azureIdentityRef"); ref.has("spec")) {
    auto id = ref.child("spec");
    a.identity_copy = IdentityCopy{id.opt_i64("type"), id.opt_str("clientID"), id.opt_str("resourceID")};
  }
  auto status = r.opt_child("status");
  a.status = status.opt_str("status");
  a.reason = status.opt_str("reason");
  PODID_TRY(r.status());
  return a;
}

}  // namespace podid::core
