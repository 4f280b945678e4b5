#pragma once
// TokenSource: the seam that obtains an access token for one identity and resource (IMDS for type 0, AAD
// for types 1 and 2, a cache in front of both). Network seam: returns awaitable<Result<Token>>.
// Errors: permission (the upstream refused: IMDS 400 "Identity not found", AAD 401), invalid (missing
// secret key, unreadable certificate, unsupported identity type), not_found (no such Secret), throttled (429;
// retry_after set), transient (network, 5xx, deadline). Thread-safety: implementations run on one
// single-threaded executor (the node proxy's).

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "core/logger.hpp"
#include "core/result.hpp"
#include "nodeproxy/node_snapshot.hpp"

namespace podid::nodeproxy {

struct Token {
  core::Secret<std::string> access_token{std::string{}};
  std::int64_t expires_on{0};  // Unix seconds
  std::int64_t not_before{0};  // Unix seconds
  std::string resource;
  std::string token_type{"Bearer"};
  std::string client_id;  // the identity the token is for
  // A type-1 identity with auxiliaryTenantIDs: one token per auxiliary tenant, in the identity's order. The
  // answer is then a JSON array, this (the primary tenant's) token first, as upstream's NMI answered.
  std::vector<Token> auxiliary;
};

// The earliest expiry of the token and its auxiliary tokens: when the whole answer stops being usable.
[[nodiscard]] inline std::int64_t earliest_expiry(const Token& token) {
  std::int64_t out = token.expires_on;
  for (const auto& aux : token.auxiliary) out = std::min(out, aux.expires_on);
  return out;
}

struct TokenRequest {
  SnapshotIdentity identity;
  std::string resource;
};

class TokenSource {
 public:
  TokenSource() = default;
  TokenSource(const TokenSource&) = delete;
  TokenSource& operator=(const TokenSource&) = delete;
  virtual ~TokenSource() = default;

  [[nodiscard]] virtual boost::asio::awaitable<core::Result<Token>> fetch(TokenRequest request) = 0;
};

}  // namespace podid::nodeproxy
