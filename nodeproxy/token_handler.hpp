#pragma once
// TokenHandler: GET /metadata/identity/oauth2/token (the canonical path only; the router sends every
// other spelling to a 400). Order: method GET (405) -> Metadata header (400) -> query (400) -> decision
// on the current snapshot (token_decision.hpp) -> for an identity still being assigned, wait up to
// assignment_wait for the snapshot to change and decide again, then 503 + Retry-After -> fetch through the
// TokenSource. Upstream errors: throttled -> 429 + Retry-After, transient -> 503 + Retry-After,
// permission/invalid/other -> 403 with the reason. Exception pods are passed through to the node's IMDS
// unchanged. An object_id the managed-mode snapshot cannot resolve is asked of `object_ids` (the node's
// IMDS, uncached) and its token handed out only as object_id_claims.hpp decides; without `object_ids` it
// is refused as "Identity not found". Every answer sets RequestRecord::result for the metrics.
// Lifetime: every reference outlives it. Thread-safety: the executor of SnapshotChanges.

#include <boost/asio/awaitable.hpp>

#include "core/clock.hpp"
#include "core/http/message.hpp"
#include "nodeproxy/imds_proxy.hpp"
#include "nodeproxy/pipeline_options.hpp"
#include "nodeproxy/request_target.hpp"
#include "nodeproxy/snapshot_changes.hpp"
#include "nodeproxy/snapshot_source.hpp"
#include "nodeproxy/token_decision.hpp"
#include "nodeproxy/token_source.hpp"

namespace podid::nodeproxy {

class TokenHandler {
 public:
  TokenHandler(const PipelineOptions& options, SnapshotSource& source, SnapshotChanges& changes,
               TokenSource& tokens, ImdsProxy& proxy, const core::Clock& clock,
               TokenSource* object_ids = nullptr)
      : options_(options),
        source_(source),
        changes_(changes),
        tokens_(tokens),
        proxy_(proxy),
        clock_(clock),
        object_ids_(object_ids) {}

  [[nodiscard]] boost::asio::awaitable<http::Response> handle(const http::Request& request,
                                                              const RoutedTarget& target,
                                                              RequestRecord& record);

 private:
  [[nodiscard]] boost::asio::awaitable<http::Response> resolve_object_id(const http::Request& request,
                                                                         const TokenQuery& query,
                                                                         RequestRecord& record);
  const PipelineOptions& options_;
  SnapshotSource& source_;
  SnapshotChanges& changes_;
  TokenSource& tokens_;
  ImdsProxy& proxy_;
  const core::Clock& clock_;
  TokenSource* object_ids_;
};

// The Metadata-header rule: the header `Metadata` (name in any case) with the value exactly "true".
[[nodiscard]] bool has_metadata_header(const http::Request& request);

}  // namespace podid::nodeproxy
