#pragma once
// The original MIC's per-node strategy as an ArmClient decorator: the end-to-end benchmark's baseline.
// A scale-set PATCH is split into one GET + PATCH per node of that scale set (in node-name order), each
// node's PATCH carrying the identities its own pods use that no earlier node's PATCH carried, sent one after
// another, each waiting for its operation; what no node claims (detaches, identities of pods that moved
// away) goes in a last PATCH. A VM is one node: its PATCH passes through. With
// arm::ActuatorOptions::max_concurrent = 1 the VMs and scale sets are also served one after another.
//
// Thread-safety: the decorator as its inner ArmClient (one executor); Placement is locked, so the threads
// that create and delete pods may update it while the controller runs.

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "arm/arm_client.hpp"
#include "core/model.hpp"

namespace podid::bench {

// Which identities (lower-case resource IDs) the pods on each scale-set node use.
class Placement {
 public:
  void add(const std::string& scale_set, const std::string& node, const std::string& identity);
  void remove(const std::string& scale_set, const std::string& node, const std::string& identity);
  // Per node of the scale set, in name order, the identities its pods use.
  [[nodiscard]] std::vector<std::set<std::string>> nodes_of(const std::string& scale_set) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, std::map<std::string, int>>> uses_;
};

// `patch` as the original would have sent it: one part per node (see above), at least one part.
[[nodiscard]] std::vector<arm::IdentityPatch> split_per_node(const std::vector<std::set<std::string>>& nodes,
                                                             const arm::IdentityPatch& patch);

class PerNodeArmClient final : public arm::ArmClient {
 public:
  PerNodeArmClient(arm::ArmClient& inner, const Placement& placement)
      : inner_(inner), placement_(placement) {}

  [[nodiscard]] boost::asio::awaitable<core::Result<arm::VmIdentities>> get(core::ArmTarget target) override;
  [[nodiscard]] boost::asio::awaitable<core::Status> patch(core::ArmTarget target,
                                                           arm::IdentityPatch patch) override;

 private:
  arm::ArmClient& inner_;
  const Placement& placement_;
};

}  // namespace podid::bench
