#include "arm/async_semaphore.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace podid::arm {

namespace asio = boost::asio;

asio::awaitable<core::Status> AsyncSemaphore::acquire(
    std::optional<std::chrono::steady_clock::time_point> deadline) {
  if (available_ > 0 && waiters_.empty()) {
    --available_;
    co_return core::ok();
  }
  auto waiter = std::make_shared<Waiter>(co_await asio::this_coro::executor);
  waiter->timer.expires_at(deadline.value_or(asio::steady_timer::time_point::max()));
  waiters_.push_back(waiter);
  auto [ec] = co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (waiter->granted) co_return core::ok();
  std::erase(waiters_, waiter);
  // Expired on its own (no error) only when the deadline passed; release() grants before it cancels.
  if (!ec) co_return core::make_error(core::ErrorCode::transient, "no slot became free before the deadline");
  co_return core::make_error(core::ErrorCode::cancelled, "cancelled while waiting for a slot");
}

void AsyncSemaphore::release() {
  if (waiters_.empty()) {
    ++available_;
    return;
  }
  auto next = waiters_.front();
  waiters_.pop_front();
  next->granted = true;  // the unit passes straight to it
  next->timer.cancel();
}

}  // namespace podid::arm
