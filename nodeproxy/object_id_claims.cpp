#include "nodeproxy/object_id_claims.hpp"

#include <boost/json/parse.hpp>

#include "nodeproxy/imds_response.hpp"
#include "watch/kubeconfig.hpp"

namespace podid::nodeproxy {

namespace {

std::string claim(const boost::json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// Both known and different: the claim contradicts the snapshot.
bool contradicts(const std::string& known, const std::string& claimed) {
  return !known.empty() && !claimed.empty() && !core::iequals(known, claimed);
}

}  // namespace

core::Result<TokenClaims> decode_token_claims(std::string_view jwt) {
  const auto invalid = [](std::string m) { return core::make_error(core::ErrorCode::invalid, std::move(m)); };
  const auto first = jwt.find('.');
  const auto second = first == std::string_view::npos ? first : jwt.find('.', first + 1);
  if (second == std::string_view::npos) return invalid("The token is not a JWT");
  std::string payload(jwt.substr(first + 1, second - first - 1));
  for (char& c : payload) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (payload.size() % 4 != 0) payload.push_back('=');
  auto decoded = watch::base64_decode(payload);
  if (!decoded) return invalid("The token's payload is not base64url");
  boost::system::error_code ec;
  const auto value = boost::json::parse(*decoded, ec);
  if (ec || !value.is_object()) return invalid("The token's payload is not a JSON object");
  const auto& o = value.as_object();
  return TokenClaims{claim(o, "oid"), claim(o, "appid"), claim(o, "xms_mirid")};
}

const SnapshotIdentity* identity_for_claims(const SnapshotPod& pod, const TokenClaims& claims,
                                            std::string_view object_id) {
  if (claims.oid.empty() || !core::iequals(claims.oid, object_id)) return nullptr;
  const SnapshotIdentity* chosen = nullptr;
  for (const auto& id : pod.identities) {
    if (id.type != core::IdentityType::user_assigned_msi) continue;
    if (contradicts(id.client_id, claims.appid) || contradicts(id.resource_id, claims.xms_mirid) ||
        contradicts(id.principal_id, claims.oid))
      continue;
    const bool named = (!claims.appid.empty() && core::iequals(id.client_id, claims.appid)) ||
                       (!claims.xms_mirid.empty() && core::iequals(id.resource_id, claims.xms_mirid));
    if (named && (chosen == nullptr || id.key < chosen->key)) chosen = &id;
  }
  return chosen;
}

Decision decide_claims(const NodeSnapshot& snapshot, std::string_view caller_ip, const TokenQuery& query,
                       const TokenClaims& claims, std::chrono::seconds retry_after) {
  const auto pods = pods_with_ip(snapshot, caller_ip);
  const SnapshotIdentity* id =
      pods.size() == 1 ? identity_for_claims(*pods.front(), claims, query.selector_value) : nullptr;
  if (id == nullptr) {
    // Unknown or ambiguous callers get decide()'s own answer; a pod gets IMDS's "Identity not found".
    if (pods.size() != 1) return decide(snapshot, caller_ip, query, retry_after);
    Decision d;
    d.response = imds_error(400, "invalid_request", "Identity not found");
    d.pod = pods.front()->key;
    return d;
  }
  TokenQuery by_identity = query;
  by_identity.selector = id->client_id.empty() ? Selector::resource_id : Selector::client_id;
  by_identity.selector_value = id->client_id.empty() ? id->resource_id : id->client_id;
  return decide(snapshot, caller_ip, by_identity, retry_after);
}

}  // namespace podid::nodeproxy
