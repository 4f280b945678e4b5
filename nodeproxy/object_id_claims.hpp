#pragma once
// Managed mode and `object_id` (docs: nodeproxy/README.md). A principal (object) ID comes only from the
// controller's reads of the VM or scale set, which managed mode does not do, so the snapshot cannot match
// `object_id=` to an identity. The token handler then asks the node's IMDS for a token by that object ID,
// reads who the token is for from its claims, and hands it out only if that identity is one the calling
// pod may use; otherwise the token is discarded (never cached, never returned).
//
// The claims are read without checking the signature: the token comes straight from the node's IMDS,
// which the node proxy trusts as it trusts it for every managed identity token.

#include <string>
#include <string_view>

#include "core/result.hpp"
#include "nodeproxy/node_snapshot.hpp"
#include "nodeproxy/token_decision.hpp"

namespace podid::nodeproxy {

struct TokenClaims {
  std::string oid;        // the principal (object) ID
  std::string appid;      // the client ID
  std::string xms_mirid;  // the managed identity's ARM resource ID
};

// Decodes the payload of a JWT (header.payload.signature, base64url). Errors: invalid.
[[nodiscard]] core::Result<TokenClaims> decode_token_claims(std::string_view jwt);

// The pod's user-assigned identity the claims name: `oid` equals object_id, and the client ID equals
// `appid` or the resource ID equals `xms_mirid` (case-insensitive), with neither contradicting the other.
// Null when none does. First in (namespace, name) order.
[[nodiscard]] const SnapshotIdentity* identity_for_claims(const SnapshotPod& pod, const TokenClaims& claims,
                                                          std::string_view object_id);

// The decision for a token IMDS issued for `query` (an object_id the snapshot could not resolve): the
// identity the claims name, decided again as a request for it by client (or resource) ID, so phase,
// exception and caller rules apply unchanged. Fetch means: hand out this token as that identity's.
[[nodiscard]] Decision decide_claims(const NodeSnapshot& snapshot, std::string_view caller_ip,
                                     const TokenQuery& query, const TokenClaims& claims,
                                     std::chrono::seconds retry_after);

}  // namespace podid::nodeproxy
