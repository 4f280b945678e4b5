#include "nodeproxy/token_decision.hpp"

#include <algorithm>
#include <array>

#include "nodeproxy/imds_response.hpp"

namespace podid::nodeproxy {

namespace {

constexpr std::array<std::pair<std::string_view, Selector>, 4> kSelectors{{
    {"client_id", Selector::client_id},
    {"object_id", Selector::object_id},
    {"msi_res_id", Selector::resource_id},
    {"mi_res_id", Selector::resource_id},
}};

bool matches(const SnapshotIdentity& id, Selector selector, std::string_view value) {
  switch (selector) {
    case Selector::none:
      return true;
    case Selector::client_id:
      return !id.client_id.empty() && core::iequals(id.client_id, value);
    case Selector::object_id:
      return !id.principal_id.empty() && core::iequals(id.principal_id, value);
    case Selector::resource_id:
      return !id.resource_id.empty() && core::iequals(id.resource_id, value);
  }
  return false;
}

Decision respond(http::Response r, core::PodKey pod = {}) {
  Decision d;
  d.kind = Decision::Kind::respond;
  d.response = std::move(r);
  d.pod = std::move(pod);
  return d;
}

}  // namespace

core::Result<TokenQuery> parse_token_query(const QueryParams& params) {
  auto invalid = [](std::string msg) { return core::make_error(core::ErrorCode::invalid, std::move(msg)); };
  for (std::string_view name :
       {"api-version", "resource", "client_id", "object_id", "msi_res_id", "mi_res_id"})
    if (query_count(params, name) > 1)
      return invalid("Query parameter '" + std::string(name) + "' is given more than once");
  TokenQuery q;
  q.api_version = query_value(params, "api-version").value_or("");
  if (q.api_version.empty()) return invalid("Required query variable 'api-version' is missing");
  q.resource = query_value(params, "resource").value_or("");
  if (q.resource.empty()) return invalid("Required query variable 'resource' is missing");
  int given = 0;
  for (const auto& [name, selector] : kSelectors) {
    const auto value = query_value(params, name);
    if (!value) continue;
    ++given;
    q.selector = selector;
    q.selector_value = *value;
    if (value->empty()) return invalid("Query parameter '" + std::string(name) + "' is empty");
  }
  if (given > 1)
    return invalid("Only one of client_id, object_id, msi_res_id and mi_res_id may be specified");
  return q;
}

std::vector<const SnapshotPod*> pods_with_ip(const NodeSnapshot& snapshot, std::string_view ip) {
  std::vector<const SnapshotPod*> out;
  if (ip.empty()) return out;
  for (const auto& p : snapshot.pods)
    if (p.ip == ip && p.phase != "Succeeded" && p.phase != "Failed") out.push_back(&p);
  return out;
}

Decision decide(const NodeSnapshot& snapshot, std::string_view caller_ip, const TokenQuery& query,
                std::chrono::seconds retry_after) {
  const auto pods = pods_with_ip(snapshot, caller_ip);
  if (pods.empty())
    return respond(imds_error(
        403, "access_denied",
        "No pod on node " + snapshot.node + " has the caller's address " + std::string(caller_ip)));
  if (pods.size() > 1) {
    std::string names;
    for (const auto* p : pods) names += (names.empty() ? "" : ", ") + p->key.to_string();
    return respond(imds_error(
        403, "access_denied",
        "Pods " + names + " share the caller's address " + std::string(caller_ip) + "; refusing to choose"));
  }
  const SnapshotPod& pod = *pods.front();
  if (is_excepted(snapshot, pod)) {
    Decision d;
    d.kind = Decision::Kind::pass_through;
    d.pod = pod.key;
    return d;
  }
  const SnapshotIdentity* chosen = nullptr;
  for (const auto& id : pod.identities) {  // the first match in (namespace, name) order
    if (matches(id, query.selector, query.selector_value) && (chosen == nullptr || id.key < chosen->key))
      chosen = &id;
  }
  if (chosen == nullptr) {
    const bool has_msi = std::any_of(pod.identities.begin(), pod.identities.end(), [](const auto& id) {
      return id.type == core::IdentityType::user_assigned_msi;
    });
    if (snapshot.mode == core::Mode::managed && query.selector == Selector::object_id && has_msi) {
      Decision d;
      d.kind = Decision::Kind::resolve_object_id;
      d.pod = pod.key;
      return d;
    }
    return respond(imds_error(400, "invalid_request", "Identity not found"), pod.key);
  }
  const std::string name = chosen->key.to_string();
  Decision d;
  d.pod = pod.key;
  d.identity = *chosen;
  if (!chosen->phase || *chosen->phase == core::Phase::assigned) {
    if (chosen->type == core::IdentityType::unknown)
      return respond(
          imds_error(403, "access_denied",
                     "Identity " + name + " has unsupported type " + std::to_string(chosen->raw_type)),
          pod.key);
    d.kind = Decision::Kind::fetch;
    return d;
  }
  switch (*chosen->phase) {
    case core::Phase::created:
      d.kind = Decision::Kind::wait;
      d.response =
          imds_retry_later(503, "Identity " + name + " is still being assigned to this node", retry_after);
      return d;
    case core::Phase::retry_scheduled:
      d.kind = Decision::Kind::wait;
      d.response = imds_retry_later(
          503, "Identity " + name + " could not be assigned yet and will be retried: " + chosen->reason,
          retry_after);
      return d;
    case core::Phase::quarantined:
      return respond(
          imds_error(403, "access_denied", "Identity " + name + " cannot be assigned: " + chosen->reason),
          pod.key);
    default:
      return respond(imds_error(400, "invalid_request", "Identity not found"), pod.key);
  }
}

}  // namespace podid::nodeproxy
