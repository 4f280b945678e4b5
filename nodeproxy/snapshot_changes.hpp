#pragma once
// SnapshotChanges: lets coroutines on one executor wait, with a deadline, until the SnapshotSource
// publishes a new snapshot. The source's listener posts to the executor, which wakes every waiter; a
// waiter that read current() before it started waiting cannot miss a change, because the wake-up runs on
// the same executor after it. Spurious wake-ups are possible; callers re-read current() and decide again.
// Lifetime: create and destroy on the executor's thread; it unsubscribes in the destructor, and a wake-up
// posted after that is ignored. Also calls `on_change` (if set) on the executor after every change.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "nodeproxy/snapshot_source.hpp"

namespace podid::nodeproxy {

class SnapshotChanges {
 public:
  SnapshotChanges(const boost::asio::any_io_executor& executor, SnapshotSource& source,
                  std::function<void()> on_change = {});
  ~SnapshotChanges();
  SnapshotChanges(const SnapshotChanges&) = delete;
  SnapshotChanges& operator=(const SnapshotChanges&) = delete;

  // Returns when the snapshot may have changed, or at the deadline (true: a change, false: the deadline).
  [[nodiscard]] boost::asio::awaitable<bool> wait_until(std::chrono::steady_clock::time_point deadline);
  [[nodiscard]] std::size_t waiting() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
  SnapshotSource& source_;
  std::uint64_t subscription_;
};

}  // namespace podid::nodeproxy
