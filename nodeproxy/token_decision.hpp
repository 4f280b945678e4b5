#pragma once
// The token handler's decision, a pure function of one snapshot and one request: who is calling, which
// identity the request means, and whether that identity may be served now.
//
//  caller: the pods of the snapshot whose IP equals the peer address and that have not finished
//    (phase Succeeded/Failed is ignored: their IP may already belong to a new pod).
//    none -> 403 access_denied; two or more -> 403 access_denied (never guess between pods).
//  exception: a pod matched by an AzurePodIdentityException -> pass through to the node's IMDS unchanged.
//  identity: with a selector (client_id, object_id = principal ID, msi_res_id / mi_res_id), the pod's
//    identities that match it, compared case-insensitively (GUIDs and ARM IDs are case-insensitive);
//    without one, the pod's identity first in (namespace, name) order, whatever its phase, so the same
//    request always means the same identity. No match -> 400 "Identity not found" (IMDS's own answer),
//    except an object_id in managed mode when the pod has a user-assigned identity: the snapshot has no
//    principal IDs there, so -> resolve_object_id (object_id_claims.hpp).
//  phase: Assigned or empty -> fetch; Created or RetryScheduled -> wait for the snapshot to change
//    (then 503 with Retry-After); Quarantined -> 403 with the reason; unknown identity type -> 403.

#include <chrono>
#include <optional>
#include <string>

#include "core/http/message.hpp"
#include "core/result.hpp"
#include "nodeproxy/node_snapshot.hpp"
#include "nodeproxy/request_target.hpp"

namespace podid::nodeproxy {

enum class Selector { none, client_id, object_id, resource_id };

struct TokenQuery {
  std::string api_version;
  std::string resource;
  Selector selector{Selector::none};
  std::string selector_value;
};

// Requires api-version and resource (non-empty), at most one selector, no parameter twice among these.
// Errors are `invalid` with the message for the 400 body.
[[nodiscard]] core::Result<TokenQuery> parse_token_query(const QueryParams& params);

struct Decision {
  enum class Kind { respond, pass_through, wait, fetch, resolve_object_id };
  Kind kind{Kind::respond};
  http::Response response;    // respond; wait: the answer when the budget is spent
  core::PodKey pod;           // every kind but an unknown caller (resolve_object_id: the caller)
  SnapshotIdentity identity;  // fetch and wait
};

[[nodiscard]] Decision decide(const NodeSnapshot& snapshot, std::string_view caller_ip,
                              const TokenQuery& query, std::chrono::seconds retry_after);

// The live pods with this IP (see above).
[[nodiscard]] std::vector<const SnapshotPod*> pods_with_ip(const NodeSnapshot& snapshot, std::string_view ip);

}  // namespace podid::nodeproxy
