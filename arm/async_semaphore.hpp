#pragma once
// AsyncSemaphore: a counting semaphore for coroutines on one single-threaded executor (or strand). Waiters
// are served first come, first served; a waiter cancelled through its cancellation slot leaves the queue.
// Count 1 makes it a mutex (one operation in flight per VM or scale set).
// Thread-safety: not thread-safe. Lifetime: must outlive every acquire() it started.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>

#include "core/result.hpp"

namespace podid::arm {

class AsyncSemaphore {
 public:
  explicit AsyncSemaphore(std::size_t count) : available_(count) {}
  AsyncSemaphore(const AsyncSemaphore&) = delete;
  AsyncSemaphore& operator=(const AsyncSemaphore&) = delete;

  // Takes one unit, waiting as needed; `cancelled` when the waiting coroutine was cancelled, `transient`
  // when `deadline` passed first (no deadline: waits as long as it takes).
  [[nodiscard]] boost::asio::awaitable<core::Status> acquire(
      std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);
  // Returns one unit: hands it to the oldest waiter, if any.
  void release();

  [[nodiscard]] std::size_t available() const noexcept { return available_; }
  [[nodiscard]] std::size_t waiting() const noexcept { return waiters_.size(); }

 private:
  struct Waiter {
    explicit Waiter(const boost::asio::any_io_executor& ex) : timer(ex) {}
    boost::asio::steady_timer timer;
    bool granted{false};
  };
  std::size_t available_;
  std::deque<std::shared_ptr<Waiter>> waiters_;
};

// Releases on destruction what it holds.
class SemaphoreGuard {
 public:
  SemaphoreGuard() = default;
  explicit SemaphoreGuard(AsyncSemaphore& s) : s_(&s) {}
  SemaphoreGuard(SemaphoreGuard&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  SemaphoreGuard& operator=(SemaphoreGuard&&) = delete;
  SemaphoreGuard(const SemaphoreGuard&) = delete;
  SemaphoreGuard& operator=(const SemaphoreGuard&) = delete;
  // release() only cancels a steady_timer, whose cancel() reports no error (Asio's timer service never
  // sets one), so nothing can escape here.
  ~SemaphoreGuard() {  // NOLINT(bugprone-exception-escape)
    if (s_ != nullptr) s_->release();
  }

 private:
  AsyncSemaphore* s_{nullptr};
};

}  // namespace podid::arm
