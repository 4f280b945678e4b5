#include "nodeproxy/node_snapshot.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <set>

#include "core/json_reader.hpp"
#include "core/matching.hpp"

namespace podid::nodeproxy {
namespace json = boost::json;
using core::Phase;

namespace {

// The principal ID Azure reported for a type-0 identity on the node's VM or scale set, if any.
std::string principal_of(const core::State& s, const core::Node* node, const std::string& resource_id) {
  if (node == nullptr || !node->vm) return {};
  const auto target = s.targets.find(core::target_of(*node->vm));
  if (target == s.targets.end()) return {};
  const auto present = target->second.present.find(core::to_lower(resource_id));
  return present == target->second.present.end() ? std::string{} : present->second.principal_id;
}

SnapshotIdentity from_identity(const core::State& s, const core::Node* node, const core::AzureIdentity& id) {
  SnapshotIdentity out;
  out.key = id.key;
  out.type = id.type;
  out.raw_type = id.raw_type;
  out.client_id = id.client_id;
  out.resource_id = id.resource_id;
  out.tenant_id = id.tenant_id;
  out.secret_ref = id.secret_ref;
  out.auxiliary_tenant_ids = id.auxiliary_tenant_ids;
  out.ad_endpoint = id.ad_endpoint;
  if (id.type == core::IdentityType::user_assigned_msi)
    out.principal_id = principal_of(s, node, id.resource_id);
  return out;
}

std::vector<SnapshotIdentity> identities_of(const core::State& s, const core::Node* node,
                                            const core::Pod& pod) {
  std::vector<SnapshotIdentity> out;
  auto identity = [&](const core::IdentityKey& key) -> const core::AzureIdentity* {
    const auto it = s.identities.find(key);
    return it == s.identities.end() ? nullptr : &it->second;
  };
  if (s.settings.mode == core::Mode::managed) {
    for (const auto& desired : core::desired_for_pod(s, pod.key)) {
      const auto* id = identity(desired.identity);
      if (id == nullptr) continue;
      out.push_back(from_identity(s, node, *id));
      out.back().phase = Phase::assigned;
    }
  } else {
    std::set<core::IdentityKey> seen;
    for (auto it = s.assignments.lower_bound(core::AssignmentKey{pod.key, {}});
         it != s.assignments.end() && it->first.pod == pod.key; ++it) {
      const auto& a = it->second;
      const auto* id = identity(a.identity);
      if (a.phase == Phase::unassigned || id == nullptr) continue;
      auto entry = from_identity(s, node, *id);
      entry.client_id = a.client_id.empty() ? id->client_id : a.client_id;
      entry.phase = a.phase;
      entry.reason = a.reason;
      out.push_back(std::move(entry));
      seen.insert(a.identity);
    }
    for (const auto& [key, aai] : s.assigned) {
      if (aai.pod != pod.key || !aai.status.empty() || seen.contains(aai.identity)) continue;
      const auto* id = identity(aai.identity);
      if (id == nullptr) continue;
      out.push_back(from_identity(s, node, *id));  // phase stays empty: served as Assigned
      seen.insert(aai.identity);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return out;
}

}  // namespace

NodeSnapshot node_snapshot(const core::State& s, std::string node_name) {
  NodeSnapshot out;
  out.node = std::move(node_name);
  out.seq = s.last_seq;
  out.mode = s.settings.mode;
  const auto node_it = s.nodes.find(out.node);
  const core::Node* node = node_it == s.nodes.end() ? nullptr : &node_it->second;
  std::set<std::string> namespaces;
  if (const auto pods = s.index.pods_by_node.find(out.node); pods != s.index.pods_by_node.end()) {
    for (const auto& key : pods->second) {
      const auto& pod = s.pods.at(key);
      SnapshotPod p{pod.key, pod.ip, pod.phase, pod.labels, pod.host_network, identities_of(s, node, pod)};
      out.pods.push_back(std::move(p));
      namespaces.insert(key.ns);
    }
  }
  for (const auto& ns : namespaces) {
    for (auto it = s.exceptions.lower_bound(core::ExceptionKey{ns, {}});
         it != s.exceptions.end() && it->first.ns == ns; ++it)
      out.exceptions.push_back(it->second);
  }
  return out;
}

bool is_excepted(const NodeSnapshot& snapshot, const SnapshotPod& pod) {
  for (const auto& ex : snapshot.exceptions) {
    if (ex.key.ns != pod.key.ns) continue;
    for (const auto& [k, v] : ex.pod_labels) {
      const auto label = pod.labels.find(k);
      if (label != pod.labels.end() && core::iequals(label->second, v)) return true;
    }
  }
  return false;
}

namespace {

json::object labels_json(const core::Labels& labels) {
  json::object o;
  for (const auto& [k, v] : labels) o[k] = v;
  return o;
}

json::object identity_json(const SnapshotIdentity& id) {
  json::object o{{"namespace", id.key.ns},
                 {"name", id.key.name},
                 {"type", id.raw_type},
                 {"clientID", id.client_id},
                 {"resourceID", id.resource_id},
                 {"principalID", id.principal_id},
                 {"tenantID", id.tenant_id},
                 {"secretName", id.secret_ref.name},
                 {"secretNamespace", id.secret_ref.ns},
                 {"phase", id.phase ? core::to_string(*id.phase) : std::string_view{}},
                 {"reason", id.reason}};
  // Only when set: a node proxy of an older version reads the snapshot as it did before.
  if (!id.auxiliary_tenant_ids.empty())
    o["auxiliaryTenantIDs"] = json::array(id.auxiliary_tenant_ids.begin(), id.auxiliary_tenant_ids.end());
  if (!id.ad_endpoint.empty()) o["adEndpoint"] = id.ad_endpoint;
  return o;
}

}  // namespace

std::string encode_snapshot(const NodeSnapshot& s) {
  json::array pods;
  for (const auto& p : s.pods) {
    json::array ids;
    for (const auto& id : p.identities) ids.push_back(identity_json(id));
    pods.push_back(json::object{{"namespace", p.key.ns},
                                {"name", p.key.name},
                                {"ip", p.ip},
                                {"phase", p.phase},
                                {"labels", labels_json(p.labels)},
                                {"hostNetwork", p.host_network},
                                {"identities", std::move(ids)}});
  }
  json::array exceptions;
  for (const auto& e : s.exceptions)
    exceptions.push_back(json::object{{"namespace", e.key.ns},
                                      {"name", e.key.name},
                                      {"podLabels", labels_json(e.pod_labels)},
                                      {"resourceVersion", e.resource_version}});
  return json::serialize(json::object{{"node", s.node},
                                      {"seq", s.seq},
                                      {"mode", s.mode == core::Mode::managed ? "managed" : "standard"},
                                      {"pods", std::move(pods)},
                                      {"exceptions", std::move(exceptions)}});
}

core::Result<NodeSnapshot> decode_snapshot(std::string_view text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec) return core::make_error(core::ErrorCode::corrupt, "NodeSnapshot: not JSON: " + ec.message());
  core::JsonReader r(v, "NodeSnapshot", core::ErrorCode::corrupt);
  NodeSnapshot out;
  out.node = r.str("node");
  out.seq = r.u64("seq");
  const std::string mode = r.str("mode");
  if (mode != "standard" && mode != "managed") r.fail("mode", "expected standard or managed");
  out.mode = mode == "managed" ? core::Mode::managed : core::Mode::standard;
  for (auto& p : r.items("pods")) {
    SnapshotPod pod{
        {p.str("namespace"), p.str("name")}, p.str("ip"), p.opt_str("phase"), p.string_map("labels"),
        p.opt_bool("hostNetwork"),           {}};
    for (auto& i : p.items("identities")) {
      SnapshotIdentity id;
      id.key = {i.str("namespace"), i.str("name")};
      id.raw_type = i.i64("type");
      id.type = core::identity_type_from(id.raw_type);
      id.client_id = i.opt_str("clientID");
      id.resource_id = i.opt_str("resourceID");
      id.principal_id = i.opt_str("principalID");
      id.tenant_id = i.opt_str("tenantID");
      id.secret_ref = {i.opt_str("secretName"), i.opt_str("secretNamespace")};
      id.auxiliary_tenant_ids = i.strings("auxiliaryTenantIDs");  // absent (older controllers): none
      id.ad_endpoint = i.opt_str("adEndpoint");
      const std::string phase = i.opt_str("phase");
      if (!phase.empty()) {
        id.phase = core::parse_phase(phase);
        if (!id.phase) i.fail("phase", "unknown phase");
      }
      id.reason = i.opt_str("reason");
      pod.identities.push_back(std::move(id));
    }
    out.pods.push_back(std::move(pod));
  }
  for (auto& e : r.items("exceptions"))
    out.exceptions.push_back(
        {{e.str("namespace"), e.str("name")}, e.string_map("podLabels"), e.opt_str("resourceVersion")});
  if (auto st = r.status(); !st) return st.error();
  return out;
}

}  // namespace podid::nodeproxy
