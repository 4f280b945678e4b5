#include "tests/bench/per_node_arm_client.hpp"

namespace podid::bench {

void Placement::add(const std::string& scale_set, const std::string& node, const std::string& identity) {
  const std::lock_guard lock(mutex_);
  ++uses_[scale_set][node][identity];
}

void Placement::remove(const std::string& scale_set, const std::string& node, const std::string& identity) {
  const std::lock_guard lock(mutex_);
  auto& ids = uses_[scale_set][node];
  if (const auto it = ids.find(identity); it != ids.end() && --it->second == 0) ids.erase(it);
}

std::vector<std::set<std::string>> Placement::nodes_of(const std::string& scale_set) const {
  const std::lock_guard lock(mutex_);
  std::vector<std::set<std::string>> out;
  const auto found = uses_.find(scale_set);
  if (found == uses_.end()) return out;
  for (const auto& [node, ids] : found->second) {
    auto& set = out.emplace_back();
    for (const auto& [id, count] : ids) set.insert(id);
  }
  return out;
}

std::vector<arm::IdentityPatch> split_per_node(const std::vector<std::set<std::string>>& nodes,
                                               const arm::IdentityPatch& patch) {
  std::vector<arm::IdentityPatch> parts;
  std::set<std::string> taken;
  for (const auto& ids : nodes) {
    arm::IdentityPatch part{patch.type, {}};
    for (const auto& [id, attach] : patch.user)
      if (attach && ids.contains(id) && taken.insert(id).second) part.user[id] = true;
    if (!part.user.empty()) parts.push_back(std::move(part));
  }
  arm::IdentityPatch rest{patch.type, {}};
  for (const auto& [id, attach] : patch.user)
    if (!attach || !taken.contains(id)) rest.user[id] = attach;
  if (!rest.user.empty() || parts.empty()) parts.push_back(std::move(rest));
  return parts;
}

boost::asio::awaitable<core::Result<arm::VmIdentities>> PerNodeArmClient::get(core::ArmTarget target) {
  auto read = co_await inner_.get(std::move(target));
  co_return read;
}

boost::asio::awaitable<core::Status> PerNodeArmClient::patch(core::ArmTarget target,
                                                             arm::IdentityPatch patch) {
  if (target.kind != core::VmKind::vmss) {
    auto done = co_await inner_.patch(std::move(target), std::move(patch));
    co_return done;
  }
  const auto nodes = placement_.nodes_of(core::to_lower(target.name));
  const auto parts = split_per_node(nodes, patch);
  for (const auto& part : parts) {
    // The original read the scale set before each node's update.
    const auto read = co_await inner_.get(target);
    if (!read) co_return read.error();
    const auto done = co_await inner_.patch(target, part);
    if (!done) co_return done;
  }
  co_return core::ok();
}

}  // namespace podid::bench
