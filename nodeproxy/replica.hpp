#pragma once
// Replica: the node proxy's follower of the controller's ReplicationServer. It GETs its node's snapshot,
// then follows the watch (long polls answered by one line per change, or a heartbeat), publishing every
// snapshot into a MemorySnapshotSource that the request pipeline reads.
//  - Before each connection it asks `token()` again, so a rotated projected service-account token is used.
//  - A failed connection, a non-2xx answer, or a change whose `prev` is not the seq it holds (a gap, or a
//    new leader) ends the follow; after a backoff (doubling from backoff_min to backoff_max) it resyncs
//    with a full GET.
//  - While the controller is down the source keeps the last snapshot; nothing is cleared.
//  - After each full snapshot, change or heartbeat it calls `on_confirmed` (on the executor, the snapshot
//    already published): the controller has just vouched for the snapshot held. The replica file's
//    staleness bound is measured from there (replica_file.hpp).
//
// Thread-safety: create/start/stop on one single-threaded executor; counters() from any thread; the
// MemorySnapshotSource is thread-safe. Lifetime: `co_await stop()` before destroying it; `target` outlives
// it.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/http/tls_config.hpp"
#include "core/logger.hpp"
#include "core/result.hpp"
#include "nodeproxy/snapshot_source.hpp"

namespace podid::nodeproxy {

struct ReplicaOptions {
  std::string server_url;  // https://controller:port (no trailing slash)
  std::string node;
  http::TlsClientConfig tls;
  std::function<core::Result<std::string>()> token;  // the bearer token, asked before every connection
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds poll_timeout{std::chrono::seconds(60)};  // above the server's heartbeat
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(45)};
  std::chrono::milliseconds backoff_min{std::chrono::milliseconds(200)};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(10)};
  std::function<void()> on_confirmed;  // may be empty
};

struct ReplicaCounters {
  std::uint64_t resyncs{0};     // full GETs that succeeded
  std::uint64_t changes{0};     // change lines applied
  std::uint64_t heartbeats{0};  // heartbeat lines
  std::uint64_t failures{0};    // connections or answers that failed
  std::uint64_t gaps{0};        // change lines whose prev did not match
  core::Seq seq{0};             // the seq of the snapshot held
  bool synced{false};           // a snapshot arrived since start
};

// For cli/: reads a projected token file (whitespace trimmed); each call reads it again.
[[nodiscard]] std::function<core::Result<std::string>()> token_file_reader(std::string path);

class Replica {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<Replica>> create(
      const boost::asio::any_io_executor& executor, ReplicaOptions options, MemorySnapshotSource& target,
      core::Logger logger);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  void start();
  [[nodiscard]] boost::asio::awaitable<void> stop();
  [[nodiscard]] ReplicaCounters counters() const;

  struct State;

 private:
  explicit Replica(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace podid::nodeproxy
