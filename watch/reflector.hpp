#pragma once
// Reflector: the list-then-watch loop of one resource kind (client-go's reflector, §2.9 of the API notes).
// Lists (paginated, consistent) then watches from the list's resourceVersion; resumes from the last RV seen,
// bookmarks included; on 410 Gone relists and emits the difference against what it had emitted before
// (objects that vanished become DELETED); backs off on errors (Retry-After when the server gives one);
// a clean end of a watch re-watches at once. Runs until the awaiting coroutine is cancelled.
//
// Thread-safety: one coroutine at a time; callbacks run on the client's executor. Lifetime: the client and
// callbacks must outlive run().

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <random>
#include <string>

#include "watch/kube_client.hpp"

namespace podid::watch {

struct ReflectorOptions {
  std::string ns;  // "" = all namespaces
  std::string label_selector;
  std::string field_selector;
  std::int64_t page_size{500};
  // "" = list first. Otherwise watch from this RV (e.g. persisted by a previous run); a 410 then relists.
  std::string resume_from;
  std::chrono::milliseconds backoff_initial{800};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(30)};
  std::chrono::seconds watch_timeout_min{std::chrono::minutes(5)};
  std::chrono::seconds watch_timeout_max{std::chrono::minutes(10)};
  std::chrono::seconds idle_timeout{std::chrono::minutes(3)};
};

struct ReflectorCounters {
  std::uint64_t lists{0};
  std::uint64_t relists_after_gone{0};
  std::uint64_t watches{0};
  std::uint64_t errors{0};
  std::uint64_t events{0};
  std::uint64_t bookmarks{0};
};

class Reflector {
 public:
  // type is added, modified or deleted; rv is the object's resourceVersion. A delete that a relist found (the
  // object vanished while no watch ran) carries only metadata.name, namespace, uid and resourceVersion: the
  // reflector keeps no more of each object than that.
  using EventHandler =
      std::function<void(WatchEventType type, const boost::json::object& object, const std::string& rv)>;
  // Called after each complete list with the list's resourceVersion.
  using SyncedHandler = std::function<void(const std::string& rv)>;

  Reflector(KubeClient& client, ResourceKind kind, ReflectorOptions options, EventHandler on_event,
            SyncedHandler on_synced = {});

  // Returns only with ErrorCode::cancelled (cancellation) or a non-retryable error (permission, invalid).
  [[nodiscard]] boost::asio::awaitable<core::Status> run();

  [[nodiscard]] const std::string& resource_version() const noexcept { return rv_; }
  [[nodiscard]] const ReflectorCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] std::size_t known_objects() const noexcept { return known_.size(); }

 private:
  boost::asio::awaitable<core::Status> relist();
  boost::asio::awaitable<core::Status> watch_once();
  boost::asio::awaitable<core::Status> pause(const core::Error& error);
  core::Status apply(WatchEvent event);

  KubeClient& client_;
  ResourceKind kind_;
  ReflectorOptions options_;
  EventHandler on_event_;
  SyncedHandler on_synced_;
  std::string rv_;
  std::map<std::string, boost::json::object> known_;  // ns/name -> the last emitted object's metadata
  std::chrono::milliseconds backoff_;
  std::mt19937 rng_{std::random_device{}()};
  ReflectorCounters counters_;
};

}  // namespace podid::watch
