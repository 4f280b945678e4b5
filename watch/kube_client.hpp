#pragma once
// KubeClient: the seam to the Kubernetes API server. Objects are boost::json objects exactly as the API
// serves them; errors are classified core::Errors (not_found 404, conflict 409, gone 410, throttled 429 with
// retry_after, permission 401/403, invalid 400/415/422, transient 5xx and transport).
//
// Thread-safety: implementations are used from one thread or strand. Lifetime: the client outlives every
// operation it started. Every operation has a deadline; watch() honours the awaiting coroutine's
// cancellation.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "watch/resource.hpp"
#include "watch/watch_event.hpp"

namespace podid::watch {

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;        // "" = most recent (consistent read)
  std::string resource_version_match;  // "", "NotOlderThan" or "Exact"
  std::int64_t limit{0};               // 0 = no paging
  std::string continue_token;
};

struct ObjectList {
  std::vector<boost::json::object> items;
  std::string resource_version;  // the collection's RV: watch from here
  std::string continue_token;    // non-empty: more pages
};

struct WatchOptions {
  std::string resource_version;  // resume point; "" starts with synthetic ADDED events
  bool allow_bookmarks{true};
  std::string label_selector;
  std::string field_selector;
  std::chrono::seconds timeout{std::chrono::minutes(5)};  // server-side timeoutSeconds
  std::chrono::seconds idle_timeout{std::chrono::minutes(3)};
};

enum class PatchType { merge, json, apply };

struct PatchOptions {
  std::string subresource;    // "" or "status"
  std::string field_manager;  // required for apply
  bool force{false};          // apply: take ownership of conflicting fields
};

struct DeleteOptions {
  std::optional<std::int64_t> grace_period_seconds;
  std::string precondition_uid;
  std::string precondition_resource_version;
  std::string propagation_policy;  // "", "Background", "Foreground", "Orphan"
};

class KubeClient {
 public:
  // Receives each event of a watch in order. Returning an error stops the watch with that error.
  using WatchHandler = std::function<core::Status(WatchEvent event)>;

  virtual ~KubeClient() = default;
  KubeClient() = default;
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  [[nodiscard]] virtual boost::asio::awaitable<core::Result<boost::json::object>> get(
      const ResourceKind& kind, std::string ns, std::string name) = 0;
  // One page; follow continue_token for the next (see list_all()).
  [[nodiscard]] virtual boost::asio::awaitable<core::Result<ObjectList>> list(const ResourceKind& kind,
                                                                              std::string ns,
                                                                              ListOptions options) = 0;
  [[nodiscard]] virtual boost::asio::awaitable<core::Result<boost::json::object>> create(
      const ResourceKind& kind, std::string ns, boost::json::object object) = 0;
  // PUT; metadata.resourceVersion makes it conditional (409 conflict when stale).
  [[nodiscard]] virtual boost::asio::awaitable<core::Result<boost::json::object>> update(
      const ResourceKind& kind, std::string ns, boost::json::object object) = 0;
  [[nodiscard]] virtual boost::asio::awaitable<core::Result<boost::json::object>> update_status(
      const ResourceKind& kind, std::string ns, boost::json::object object) = 0;
  [[nodiscard]] virtual boost::asio::awaitable<core::Result<boost::json::object>> patch(
      const ResourceKind& kind, std::string ns, std::string name, PatchType type, boost::json::value patch,
      PatchOptions options) = 0;
  // Returns the object as the server answered (deleted, or marked for deletion when finalizers remain).
  [[nodiscard]] virtual boost::asio::awaitable<core::Result<boost::json::object>> remove(
      const ResourceKind& kind, std::string ns, std::string name, DeleteOptions options) = 0;
  // Streams events until the server ends the watch (ok), an ERROR event or error status arrives (its
  // classified error: gone on 410), the connection fails (transient), or on_event returns an error.
  // BOOKMARK events are delivered too (type bookmark, object holding only metadata.resourceVersion).
  [[nodiscard]] virtual boost::asio::awaitable<core::Status> watch(const ResourceKind& kind, std::string ns,
                                                                   WatchOptions options,
                                                                   WatchHandler on_event) = 0;
};

// Follows continue tokens until the last page; all items share the first page's snapshot and RV.
[[nodiscard]] boost::asio::awaitable<core::Result<ObjectList>> list_all(KubeClient& client,
                                                                        const ResourceKind& kind,
                                                                        std::string ns, ListOptions options);

}  // namespace podid::watch
