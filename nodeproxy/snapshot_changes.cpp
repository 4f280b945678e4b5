#include "nodeproxy/snapshot_changes.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <set>

namespace podid::nodeproxy {
namespace asio = boost::asio;

struct SnapshotChanges::State {
  asio::any_io_executor executor;
  std::function<void()> on_change;
  std::set<asio::steady_timer*> waiters;
  std::uint64_t generation{0};
  bool alive{true};

  void wake() {
    if (!alive) return;
    ++generation;
    for (auto* t : waiters) t->cancel();
    if (on_change) on_change();
  }
};

SnapshotChanges::SnapshotChanges(const asio::any_io_executor& executor, SnapshotSource& source,
                                 std::function<void()> on_change)
    : state_(std::make_shared<State>()), source_(source) {
  state_->executor = executor;
  state_->on_change = std::move(on_change);
  std::weak_ptr<State> weak = state_;
  subscription_ = source_.subscribe([weak, executor] {
    asio::post(executor, [weak] {
      if (auto s = weak.lock()) s->wake();
    });
  });
}

SnapshotChanges::~SnapshotChanges() {
  source_.unsubscribe(subscription_);
  state_->alive = false;
}

asio::awaitable<bool> SnapshotChanges::wait_until(std::chrono::steady_clock::time_point deadline) {
  auto state = state_;
  const auto generation = state->generation;
  asio::steady_timer timer(state->executor, deadline);
  struct Registration {  // also deregisters when the coroutine frame is destroyed without resuming
    State& s;
    asio::steady_timer* t;
    ~Registration() { s.waiters.erase(t); }
  } registration{*state, &timer};
  state->waiters.insert(&timer);
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  (void)ec;  // cancelled by wake(), or the deadline
  co_return state->generation != generation;
}

std::size_t SnapshotChanges::waiting() const {
  return state_->waiters.size();
}

}  // namespace podid::nodeproxy
