#pragma once
// ReplicationServer: the controller side of replication. Serves each node proxy the NodeSnapshot of its own
// node over HTTPS, then its changes:
//   GET /v1/nodes/<node>/snapshot                 -> 200, the snapshot JSON (encode_snapshot; carries seq)
//   GET /v1/nodes/<node>/snapshot?watch=1&from=S  -> 200, application/x-ndjson, one line per answer:
//       {"type":"snapshot","prev":S,"snapshot":{...}}  when the node's snapshot differs from what S named
//       {"type":"heartbeat","seq":S}                    after `heartbeat` without a change
// The watch is a long poll: the answer is sent as soon as the node's snapshot changes (or the heartbeat is
// due) and the caller asks again with the new seq. core/http's HttpServer has no streaming response yet;
// the replica reads these answers as a line stream, so a streamed variant needs no change on its side.
//
// Every request carries `Authorization: Bearer <service-account token>`, verified with a TokenReview
// (results cached for `review_ttl`). The token must be bound to a pod (user.extra pod-name), the pod must
// run on the node asked for (user.extra node-name, or the Pod's spec.nodeName), and, when
// `allowed_users` is not empty, the user must be in it. Missing, forged or expired tokens: 401; a pod of
// another node or another user: 403; API server unreachable: 503.
// Expiry is judged here too, from the token's `exp` claim (read unverified, so it can only shorten what is
// accepted): a token past it is refused without a TokenReview (the API server allows a leeway after
// expiry), and a cached review never outlives the token it was made for.
//
// Snapshots come from `provider(node)`; the composer calls notify_changed() after the state changed (from
// any thread). A node's snapshot "changed" when it differs in anything but seq.
// Thread-safety: create/start/stop and the handler run on one single-threaded executor; notify_changed()
// may be called from any thread. Lifetime: `co_await stop()` before destroying it; `kube` outlives it.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/http/tls_config.hpp"
#include "core/logger.hpp"
#include "core/result.hpp"
#include "nodeproxy/node_snapshot.hpp"
#include "watch/kube_client.hpp"

namespace podid::nodeproxy {

struct ReplicationServerOptions {
  std::string address{"127.0.0.1"};
  std::uint16_t port{0};
  std::optional<http::TlsServerConfig> tls;  // required outside tests
  std::chrono::milliseconds heartbeat{std::chrono::seconds(10)};
  std::chrono::milliseconds review_ttl{std::chrono::seconds(10)};  // TokenReview cache, both outcomes
  std::size_t review_cache_size{1024};
  std::vector<std::string> audiences;      // TokenReview spec.audiences; empty: the API server's
  std::vector<std::string> allowed_users;  // e.g. system:serviceaccount:kube-system:podid-nmi; empty: any
  std::size_t max_connections{512};
  const core::Clock* wall_clock{nullptr};  // judges tokens' `exp`; null: the system clock
  // Whether this server may answer snapshots now (a standby controller, or a leader whose State has not
  // caught up yet, must not hand out an empty or stale snapshot): false answers 503, and the replica keeps
  // its last snapshot and retries. Empty: always. Called on the server's executor.
  std::function<bool()> serving;
};

struct ReplicationCounters {
  std::uint64_t snapshots_served{0};
  std::uint64_t changes_sent{0};
  std::uint64_t heartbeats_sent{0};
  std::uint64_t unauthenticated{0};  // 401
  std::uint64_t expired{0};          // of those, tokens past their `exp`, refused without a TokenReview
  std::uint64_t forbidden{0};        // 403
  std::uint64_t reviews{0};          // TokenReviews sent to the API server
  std::uint64_t review_cache_hits{0};
};

// Who a TokenReview says the caller is.
struct ReviewedCaller {
  bool authenticated{false};
  std::string user;
  std::string pod_namespace;
  std::string pod_name;
  std::string pod_uid;
  std::string node;  // empty when the token carries none
};

// The kind for authentication.k8s.io/v1 TokenReviews (cluster-scoped, create only).
[[nodiscard]] const watch::ResourceKind& token_reviews_kind();
// Reads a TokenReview answer (status.authenticated, user.username, user.extra pod/node claims).
[[nodiscard]] core::Result<ReviewedCaller> parse_token_review(const boost::json::object& review);
// The `exp` claim of a JWT in milliseconds since the epoch, read without checking the signature; empty when
// the token is no JWT or carries none.
[[nodiscard]] std::optional<std::int64_t> token_expiry_ms(std::string_view token);

class ReplicationServer {
 public:
  using Provider = std::function<std::shared_ptr<const NodeSnapshot>(const std::string& node)>;

  [[nodiscard]] static core::Result<std::unique_ptr<ReplicationServer>> create(
      const boost::asio::any_io_executor& executor, ReplicationServerOptions options, watch::KubeClient& kube,
      Provider provider, core::Logger logger);
  ~ReplicationServer();
  ReplicationServer(const ReplicationServer&) = delete;
  ReplicationServer& operator=(const ReplicationServer&) = delete;

  void start();
  [[nodiscard]] boost::asio::awaitable<void> stop();
  [[nodiscard]] std::uint16_t port() const;
  // Wakes waiting watches; they re-read their node's snapshot. Any thread.
  void notify_changed();
  // Read on the server's executor.
  [[nodiscard]] ReplicationCounters counters() const;

  struct State;

 private:
  explicit ReplicationServer(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace podid::nodeproxy
