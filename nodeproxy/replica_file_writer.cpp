#include "nodeproxy/replica_file_writer.hpp"

#include <boost/asio/post.hpp>

#include "nodeproxy/replica_file.hpp"

namespace podid::nodeproxy {

ReplicaFileWriter::ReplicaFileWriter(ReplicaFileWriterOptions options,
                                     boost::asio::any_io_executor log_executor, core::Logger logger)
    : options_(std::move(options)), log_executor_(std::move(log_executor)), logger_(std::move(logger)) {}

ReplicaFileWriter::~ReplicaFileWriter() {
  stop();
}

void ReplicaFileWriter::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void ReplicaFileWriter::confirmed(std::shared_ptr<const NodeSnapshot> snapshot,
                                  std::int64_t confirmed_at_ms) {
  {
    std::lock_guard lock(mu_);
    pending_ = Pending{std::move(snapshot), confirmed_at_ms};
  }
  wake_.notify_one();
}

void ReplicaFileWriter::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

ReplicaFileWriterCounters ReplicaFileWriter::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void ReplicaFileWriter::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || pending_.has_value(); });
    if (!pending_) return;  // stopping, nothing left to write
    const Pending next = std::move(*pending_);
    pending_.reset();
    lock.unlock();
    write(next);
    lock.lock();
    // The debounce: whatever arrives now waits for the interval (or for stop(), which writes it at once).
    wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
  }
}

void ReplicaFileWriter::write(const Pending& pending) {
  const auto written = write_replica_file(options_.path, {*pending.snapshot, pending.confirmed_at_ms});
  {
    std::lock_guard lock(mu_);
    if (written) {
      ++counters_.writes;
      counters_.written_seq = pending.snapshot->seq;
      counters_.written_confirmed_ms = pending.confirmed_at_ms;
    } else {
      ++counters_.failures;
    }
  }
  // Logged on the log executor: the sink is written from one thread only. Captures are values, so a
  // handler still queued after this writer is gone is harmless.
  if (!written && !failing_) {
    failing_ = true;
    boost::asio::post(
        log_executor_, [logger = logger_, path = options_.path.string(), error = written.error().describe()] {
          logger.warn("Replica file not written.", {{"path", path.c_str()}, {"error", error.c_str()}});
        });
  } else if (written && failing_) {
    failing_ = false;
    boost::asio::post(log_executor_, [logger = logger_, path = options_.path.string()] {
      logger.info("Replica file written again.", {{"path", path.c_str()}});
    });
  }
}

}  // namespace podid::nodeproxy
