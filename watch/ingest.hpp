#pragma once
// Ingest: the bridge from Kubernetes to the event log. One Reflector per kind (ingest_kinds.hpp) turns each
// (type, object, resourceVersion) into a core event stamped by the injected Clock, and appends it through
// store::EventLog together with the cursor "watch/<plural>" in ONE atomic append. Events that arrive
// together (a list, the events of one watch chunk) are batched, at most max_batch per append.
//
// What the ingest knows of the log is a VersionIndex (version_index.hpp): per kind, key -> resourceVersion,
// not a whole core::State. It applies the events it appends as it appends them, and catches up with the
// events others appended in between (the controller's AzureAssignedIdentity writes) from the log.
//
// Restart: run() rebuilds the index from the log and resumes each reflector from its stored cursor, so
// nothing is relisted while the RV is still valid. After a relist (first start, or 410 Gone) it reconciles
// against the index, not the reflector's memory (empty after a restart): objects the log holds but the list
// lacked become Deleted events, and objects whose resourceVersion equals the logged one produce nothing, so
// a relist does not duplicate events.
//
// An object that cannot be decoded is logged, counted and listed in quarantined(); the log keeps its
// last good version (if any) and the ingest goes on. A failed append stops run() with that error (the
// cursor did not move, so a restart resumes from before the lost batch).
//
// Thread-safety: one executor (single-threaded, or a strand); all calls on it. Lifetime: client, log,
// clock and logger outlive the Ingest; the Ingest outlives run() and wait_synced().

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/logger.hpp"
#include "store/event_log.hpp"
#include "watch/ingest_kinds.hpp"
#include "watch/kube_client.hpp"
#include "watch/reflector.hpp"
#include "watch/version_index.hpp"

namespace podid::watch {

struct IngestOptions {
  std::vector<IngestKind> kinds{all_ingest_kinds().begin(), all_ingest_kinds().end()};
  std::string ns;                   // namespaced kinds only: "" = all namespaces
  std::size_t max_batch{500};       // events per append
  ReflectorOptions reflector;       // template for every kind (ns and resume_from are set per kind)
  std::function<void()> on_synced;  // called once, when every kind is initially synced
};

struct IngestCounters {
  std::uint64_t events_appended{0};    // events written to the log
  std::uint64_t batches{0};            // appends (events and/or cursors)
  std::uint64_t unchanged_skipped{0};  // objects whose resourceVersion the log already had
  std::uint64_t relist_deletes{0};     // Deleted events produced by reconciling a relist with the log
  std::uint64_t decode_failures{0};    // objects that could not be decoded (quarantined)
  std::uint64_t append_failures{0};
  std::uint64_t syncs{0};  // completed lists, all kinds
};

// An object the ingest could not turn into an event.
struct QuarantinedObject {
  IngestKind kind{IngestKind::pods};
  std::string key;  // "ns/name", or the node name
  std::string resource_version;
  std::string reason;
};

class Ingest {
 public:
  Ingest(KubeClient& client, store::EventLog& log, const core::Clock& clock, core::Logger logger,
         IngestOptions options);
  ~Ingest();
  Ingest(const Ingest&) = delete;
  Ingest& operator=(const Ingest&) = delete;

  // Rebuilds the index from the log, reads the cursors and runs every reflector until the awaiting
  // coroutine is cancelled (returns cancelled) or a reflector or an append fails for good. It turns off
  // this_coro::throw_if_cancelled for the calling coroutine thread (see ingest.cpp).
  [[nodiscard]] boost::asio::awaitable<core::Status> run();

  // Completes when every kind is initially synced (listed, or resumed from a stored cursor), or with
  // ErrorCode::transient after `limit`, or cancelled when the awaiting coroutine is.
  [[nodiscard]] boost::asio::awaitable<core::Status> wait_synced(std::chrono::milliseconds limit);

  [[nodiscard]] bool synced() const noexcept;
  // What the log holds, per kind key -> resourceVersion: the events appended here applied as they are
  // appended, the others' caught up from the log after every append.
  [[nodiscard]] const VersionIndex& index() const noexcept { return index_; }
  [[nodiscard]] const IngestCounters& counters() const noexcept { return counters_; }
  // Reflector counters of a kind (lists, relists after 410, watches, ...); nullopt before run().
  [[nodiscard]] std::optional<ReflectorCounters> reflector_counters(IngestKind kind) const;
  [[nodiscard]] std::vector<QuarantinedObject> quarantined() const;

 private:
  struct PerKind;
  void on_event(std::size_t index, WatchEventType type, const boost::json::object& object,
                const std::string& rv);
  void on_list_synced(std::size_t index, const std::string& rv);
  [[nodiscard]] std::optional<std::string> current_version(const PerKind& k, const std::string& key) const;
  void quarantine(PerKind& k, const std::string& key, const std::string& rv, const std::string& reason);
  void enqueue(PerKind& k, const std::string& key, core::Event event, std::optional<std::string> rv);
  void flush();
  [[nodiscard]] core::Status project(store::Seq first);
  void wake();
  void mark_synced(PerKind& k);
  void mark_synced_all();
  [[nodiscard]] boost::asio::awaitable<core::Status> flusher();
  [[nodiscard]] static boost::asio::awaitable<core::Status> guarded(
      boost::asio::awaitable<core::Status> work);

  KubeClient& client_;
  store::EventLog& log_;
  const core::Clock& clock_;
  core::Logger logger_;
  IngestOptions options_;
  VersionIndex index_;
  std::vector<std::unique_ptr<PerKind>> kinds_;
  std::vector<core::Event> pending_events_;
  std::optional<core::Error> failed_;
  std::optional<boost::asio::steady_timer> wake_;    // the flusher waits on it; cancel() wakes it
  std::vector<boost::asio::steady_timer*> waiters_;  // wait_synced() callers
  bool all_synced_{false};
  IngestCounters counters_;
};

// The counters in Prometheus text format (podid_ingest_*_total).
[[nodiscard]] std::string prometheus_text(const IngestCounters& counters);

// The entry point for a controller main: runs an Ingest with these options until cancelled.
[[nodiscard]] boost::asio::awaitable<core::Status> run_ingest(KubeClient& client, store::EventLog& log,
                                                              const core::Clock& clock, core::Logger logger,
                                                              IngestOptions options);

}  // namespace podid::watch
