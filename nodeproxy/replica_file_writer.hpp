#pragma once
// ReplicaFileWriter: keeps the replica file (replica_file.hpp) up to date with the snapshot the controller
// last confirmed, off the thread that serves tokens (an fsync on a busy node disk can take a while).
//  - confirmed(snapshot, at_ms) hands over the newest confirmed state; it never blocks on the disk.
//  - Its own thread writes the newest state at once, then at most once per `interval` (debounce): states
//    handed over meanwhile replace each other, and the newest always lands.
//  - stop() writes what is still pending (the final write), then joins the thread.
// A failed write is logged (on `log_executor`, so log lines never come from two threads), counted and
// retried with the next state; it never stops the node proxy.
//
// Thread-safety: confirmed() and counters() from any thread; start()/stop() from one. Lifetime: stop()
// before destroying it; the logger's sink outlives the executor's pending work.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "core/logger.hpp"
#include "nodeproxy/node_snapshot.hpp"

namespace podid::nodeproxy {

struct ReplicaFileWriterOptions {
  std::filesystem::path path;
  std::chrono::milliseconds interval{250};
};

struct ReplicaFileWriterCounters {
  std::uint64_t writes{0};
  std::uint64_t failures{0};
  core::Seq written_seq{0};              // the seq in the file after the last successful write
  std::int64_t written_confirmed_ms{0};  // its confirmation time
};

class ReplicaFileWriter {
 public:
  ReplicaFileWriter(ReplicaFileWriterOptions options, boost::asio::any_io_executor log_executor,
                    core::Logger logger);
  ~ReplicaFileWriter();
  ReplicaFileWriter(const ReplicaFileWriter&) = delete;
  ReplicaFileWriter& operator=(const ReplicaFileWriter&) = delete;

  void start();
  void confirmed(std::shared_ptr<const NodeSnapshot> snapshot, std::int64_t confirmed_at_ms);
  void stop();
  [[nodiscard]] ReplicaFileWriterCounters counters() const;

 private:
  struct Pending {
    std::shared_ptr<const NodeSnapshot> snapshot;
    std::int64_t confirmed_at_ms{0};
  };
  void run();
  void write(const Pending& pending);

  ReplicaFileWriterOptions options_;
  boost::asio::any_io_executor log_executor_;
  core::Logger logger_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::optional<Pending> pending_;
  bool stopping_{false};
  bool failing_{false};  // only on the writer thread: log a failure once, and the recovery
  ReplicaFileWriterCounters counters_;
  std::thread thread_;
};

}  // namespace podid::nodeproxy
