#include "nodeproxy/snapshot_source.hpp"

#include <vector>

namespace podid::nodeproxy {

std::shared_ptr<const NodeSnapshot> MemorySnapshotSource::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

std::uint64_t MemorySnapshotSource::subscribe(Listener listener) {
  std::lock_guard lock(mu_);
  const auto id = next_id_++;
  listeners_.emplace(id, std::make_shared<Listener>(std::move(listener)));
  return id;
}

void MemorySnapshotSource::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(mu_);
  listeners_.erase(id);
}

void MemorySnapshotSource::publish(NodeSnapshot snapshot) {
  std::vector<std::shared_ptr<Listener>> to_call;
  {
    std::lock_guard lock(mu_);
    current_ = std::make_shared<const NodeSnapshot>(std::move(snapshot));
    ++publications_;
    for (const auto& [id, l] : listeners_) to_call.push_back(l);
  }
  for (const auto& l : to_call) (*l)();
}

std::uint64_t MemorySnapshotSource::publications() const {
  std::lock_guard lock(mu_);
  return publications_;
}

}  // namespace podid::nodeproxy
