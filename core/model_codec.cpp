#include "core/model_codec.hpp"

#include <boost/json.hpp>

namespace podid::core::codec {
namespace json = boost::json;

json::value to_json(const Labels& v) {
  json::object o;
  for (const auto& [k, val] : v) o[k] = val;
  return o;
}

json::value to_json(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::value to_json(const std::vector<Seq>& v) {
  json::array a;
  for (auto s : v) a.emplace_back(s);
  return a;
}

std::vector<Seq> read_seqs(JsonReader& r, std::string_view key) {
  std::vector<Seq> out;
  for (auto i : r.ints(key)) {
    if (i < 0) {
      r.fail(key, "expected non-negative sequence numbers");
      return {};
    }
    out.push_back(static_cast<Seq>(i));
  }
  return out;
}

ArmTarget read_target(JsonReader& r, std::string_view key) {
  const auto text = r.str(key);
  if (!r.ok()) return {};
  auto t = parse_target(text);
  if (!t) {
    r.fail(key, t.error().message);
    return {};
  }
  return *t;
}

json::value to_json(const Pod& v) {
  return json::object{{"key", key_json(v.key)},
                      {"uid", v.uid},
                      {"node", v.node},
                      {"ip", v.ip},
                      {"phase", v.phase},
                      {"labels", to_json(v.labels)},
                      {"hostNetwork", v.host_network},
                      {"resourceVersion", v.resource_version}};
}

void read(JsonReader& r, Pod& out) {
  out.key = read_key<PodKey>(r, "key");
  out.uid = r.opt_str("uid");
  out.node = r.opt_str("node");
  out.ip = r.opt_str("ip");
  out.phase = r.opt_str("phase");
  out.labels = r.string_map("labels");
  out.host_network = r.opt_bool("hostNetwork");
  out.resource_version = r.opt_str("resourceVersion");
}

json::value to_json(const AzureIdentity& v) {
  json::object o{{"key", key_json(v.key)},
                 {"type", v.raw_type},
                 {"resourceID", v.resource_id},
                 {"clientID", v.client_id},
                 {"tenantID", v.tenant_id},
                 {"secretRef", json::object{{"name", v.secret_ref.name}, {"namespace", v.secret_ref.ns}}},
                 {"namespaced", v.namespaced},
                 {"resourceVersion", v.resource_version},
                 {"generation", v.generation}};
  // Written only when set, so events and checkpoints of identities without it stay byte-identical.
  if (!v.auxiliary_tenant_ids.empty())
    o["auxiliaryTenantIDs"] = json::array(v.auxiliary_tenant_ids.begin(), v.auxiliary_tenant_ids.end());
  if (!v.ad_endpoint.empty()) o["adEndpoint"] = v.ad_endpoint;
  return o;
}

void read(JsonReader& r, AzureIdentity& out) {
  out.key = read_key<IdentityKey>(r, "key");
  out.raw_type = r.i64("type");
  out.type = identity_type_from(out.raw_type);
  out.resource_id = r.opt_str("resourceID");
  out.client_id = r.opt_str("clientID");
  out.tenant_id = r.opt_str("tenantID");
  auto s = r.opt_child("secretRef");
  out.secret_ref = {s.opt_str("name"), s.opt_str("namespace")};
  out.auxiliary_tenant_ids = r.strings("auxiliaryTenantIDs");  // absent (older events): none
  out.ad_endpoint = r.opt_str("adEndpoint");                   // absent (older events): the default
  out.namespaced = r.opt_bool("namespaced");
  out.resource_version = r.opt_str("resourceVersion");
  out.generation = r.opt_i64("generation");
}

json::value to_json(const AzureIdentityBinding& v) {
  return json::object{{"key", key_json(v.key)},
                      {"identity", v.identity_name},
                      {"selector", v.selector},
                      {"resourceVersion", v.resource_version}};
}

void read(JsonReader& r, AzureIdentityBinding& out) {
  out.key = read_key<BindingKey>(r, "key");
  out.identity_name = r.opt_str("identity");
  out.selector = r.opt_str("selector");
  out.resource_version = r.opt_str("resourceVersion");
}

json::value to_json(const AzurePodIdentityException& v) {
  return json::object{{"key", key_json(v.key)},
                      {"podLabels", to_json(v.pod_labels)},
                      {"resourceVersion", v.resource_version}};
}

void read(JsonReader& r, AzurePodIdentityException& out) {
  out.key = read_key<ExceptionKey>(r, "key");
  out.pod_labels = r.string_map("podLabels");
  out.resource_version = r.opt_str("resourceVersion");
}

json::value to_json(const Node& v) {
  // The VM reference is derived from providerID on decode, so it is not stored twice.
  return json::object{
      {"name", v.name}, {"providerID", v.provider_id}, {"resourceVersion", v.resource_version}};
}

void read(JsonReader& r, Node& out) {
  out.name = r.str("name");
  out.provider_id = r.opt_str("providerID");
  out.resource_version = r.opt_str("resourceVersion");
  out.vm.reset();
  if (auto vm = parse_provider_id(out.provider_id)) out.vm = *vm;
}

json::value to_json(const AssignedIdentity& v) {
  json::object o{{"key", key_json(v.key)},
                 {"pod", key_json(v.pod)},
                 {"identity", key_json(v.identity)},
                 {"binding", key_json(v.binding)},
                 {"node", v.node},
                 {"status", v.status},
                 {"reason", v.reason},
                 {"resourceVersion", v.resource_version}};
  // Absent when unknown, so that such an object encodes exactly as in v1 events and old checkpoints.
  if (v.identity_copy)
    o["identityCopy"] = json::object{{"type", v.identity_copy->raw_type},
                                     {"clientID", v.identity_copy->client_id},
                                     {"resourceID", v.identity_copy->resource_id}};
  return o;
}

void read(JsonReader& r, AssignedIdentity& out) {
  out.key = read_key<AssignedKey>(r, "key");
  out.pod = read_key<PodKey>(r, "pod");
  out.identity = read_key<IdentityKey>(r, "identity");
  out.binding = read_key<BindingKey>(r, "binding");
  out.node = r.opt_str("node");
  out.status = r.opt_str("status");
  out.reason = r.opt_str("reason");
  out.resource_version = r.opt_str("resourceVersion");
  out.identity_copy.reset();
  if (r.has("identityCopy")) {
    auto c = r.child("identityCopy");
    out.identity_copy = IdentityCopy{c.opt_i64("type"), c.opt_str("clientID"), c.opt_str("resourceID")};
  }
}

json::value to_json(const Settings& v) {
  return json::object{{"forceNamespaced", v.force_namespaced},
                      {"mode", v.mode == Mode::managed ? "managed" : "standard"},
                      {"immutableIdentities", to_json(v.immutable_identities)},
                      {"clusterIdentities", to_json(v.cluster_identities)},
                      {"retry", json::object{{"baseDelayMs", v.retry.base_delay_ms},
                                             {"maxDelayMs", v.retry.max_delay_ms},
                                             {"maxAttempts", v.retry.max_attempts}}}};
}

void read(JsonReader& r, Settings& out) {
  out.force_namespaced = r.opt_bool("forceNamespaced");
  const auto mode = r.opt_str("mode", "standard");
  if (mode != "standard" && mode != "managed") r.fail("mode", "expected standard or managed");
  out.mode = mode == "managed" ? Mode::managed : Mode::standard;
  out.immutable_identities = r.strings("immutableIdentities");
  out.cluster_identities = r.strings("clusterIdentities");
  auto retry = r.opt_child("retry");
  const RetryPolicy defaults;
  out.retry.base_delay_ms = retry.opt_i64("baseDelayMs", defaults.base_delay_ms);
  out.retry.max_delay_ms = retry.opt_i64("maxDelayMs", defaults.max_delay_ms);
  const auto attempts = retry.opt_i64("maxAttempts", defaults.max_attempts);
  if (attempts < 1 || attempts > 1000) retry.fail("maxAttempts", "expected 1..1000");
  out.retry.max_attempts = static_cast<int>(attempts);
}

json::value to_json(const VmIdentity& v) {
  return json::object{
      {"resourceID", v.resource_id}, {"clientID", v.client_id}, {"principalID", v.principal_id}};
}

void read(JsonReader& r, VmIdentity& out) {
  out.resource_id = r.str("resourceID");
  out.client_id = r.opt_str("clientID");
  out.principal_id = r.opt_str("principalID");
}

}  // namespace podid::core::codec
