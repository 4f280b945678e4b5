#pragma once
// SnapshotSource: where the node proxy reads its NodeSnapshot, and how it learns that the snapshot changed.
// The replica (a follower of the controller) updates it; the request pipeline reads current() once per
// request and waits for a change while an identity is still being assigned.
//
// Thread-safety: every method may be called from any thread. Listeners run on the thread that published
// the change, outside any lock; they must be quick (post work elsewhere) and must not unsubscribe
// themselves. Lifetime: unsubscribe before a listener's captures die.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "nodeproxy/node_snapshot.hpp"

namespace podid::nodeproxy {

class SnapshotSource {
 public:
  using Listener = std::function<void()>;
  SnapshotSource() = default;
  SnapshotSource(const SnapshotSource&) = delete;
  SnapshotSource& operator=(const SnapshotSource&) = delete;
  virtual ~SnapshotSource() = default;

  // Never null: an empty snapshot until the first one arrives.
  [[nodiscard]] virtual std::shared_ptr<const NodeSnapshot> current() const = 0;
  // Calls the listener after every change; returns an ID for unsubscribe().
  [[nodiscard]] virtual std::uint64_t subscribe(Listener listener) = 0;
  virtual void unsubscribe(std::uint64_t id) = 0;
};

// The in-process source: whoever holds it publishes snapshots (the replica, or a test).
class MemorySnapshotSource final : public SnapshotSource {
 public:
  MemorySnapshotSource() : current_(std::make_shared<const NodeSnapshot>()) {}
  explicit MemorySnapshotSource(NodeSnapshot initial)
      : current_(std::make_shared<const NodeSnapshot>(std::move(initial))) {}

  [[nodiscard]] std::shared_ptr<const NodeSnapshot> current() const override;
  [[nodiscard]] std::uint64_t subscribe(Listener listener) override;
  void unsubscribe(std::uint64_t id) override;

  // Replaces the snapshot and notifies every listener.
  void publish(NodeSnapshot snapshot);
  [[nodiscard]] std::uint64_t publications() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const NodeSnapshot> current_;
  std::map<std::uint64_t, std::shared_ptr<Listener>> listeners_;
  std::uint64_t next_id_{1};
  std::uint64_t publications_{0};
};

}  // namespace podid::nodeproxy
